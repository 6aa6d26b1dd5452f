// uringload: the closed-loop TCP load generator that cmd/uringbench drives
// its servers with (uringbench compiles it; make bench-static builds it
// statically). Plain C, epoll, one or more threads:
// the client costs little CPU of its own, so on a small machine the
// servers' differences show in their throughput and not only in their CPU.
//
//   uringload -a HOST:PORT [-w echo|http] [-c CONNS] [-s SIZE] [-i IDLE]
//             [-t THREADS] [-W WARM_MS] [-d DUR_MS]
//
// Every conn is a closed loop of one request and its whole reply: for echo,
// SIZE bytes and their echo (checked byte for byte); for http, a keep-alive
// "GET /" and an HTTP/1.1 200 response read to the end of its
// Content-Length body. IDLE more conns are dialed first and held open,
// silent. All conns are dialed before the load starts. After WARM_MS it
// prints "start", measures for DUR_MS, prints "stop" (uringbench samples the
// server's CPU at those lines), then one JSON line:
//   {"ops":N,"seconds":S,"P50":us,"P99":us,"P999":us,"errors":E}
// ops counts the round trips that completed inside the measured window;
// latencies are per round trip, in microseconds (1 µs buckets up to 1 s).
//
// Threads: main dials and keeps time; each load thread owns its conns, its
// epoll set and its histogram. stop and measuring are the only shared
// state (atomics).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 1000000      // latency buckets: 1 µs each up to 1 s (the last holds the rest)
#define HTTP_BUF 8192        // room for a response's status line and headers
#define READ_CHUNK (64 << 10) // per-thread scratch for echo replies

static const char http_req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

static atomic_int stop_flag;
static atomic_int measuring;

static const char *work = "echo";
static int is_http;
static size_t msg_size = 64;
static char *msg; // the request: SIZE bytes for echo, http_req for http
static size_t msg_len;

// One busy conn. Owned by its thread.
struct lconn {
	int fd;
	int out_armed;     // EPOLLOUT is armed: the request was sent short
	size_t sent;       // request bytes sent
	size_t got;        // reply bytes read
	size_t want;       // http: whole response length once the headers are in (0: not yet)
	uint64_t t0;       // ns, when the request's first byte went out
	char *hdr;         // http: the response so far (up to HTTP_BUF)
};

struct worker {
	pthread_t tid;
	struct lconn *conns;
	int n;
	uint32_t *hist; // round trips per µs of latency, measured window only
	long errors;
};

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
	perror(what);
	exit(1);
}

// conn_fail counts an error (unless the run is over) and drops the conn.
static void conn_fail(struct worker *w, int ep, struct lconn *c) {
	if (!atomic_load(&stop_flag))
		w->errors++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

// send_request sends what is left of the request; it arms EPOLLOUT when the
// socket takes less. It returns -1 on error.
static int send_request(int ep, struct lconn *c) {
	while (c->sent < msg_len) {
		ssize_t k = send(c->fd, msg + c->sent, msg_len - c->sent, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			break;
		}
		c->sent += (size_t)k;
	}
	int want_out = c->sent < msg_len;
	if (want_out != c->out_armed) {
		struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -1;
		c->out_armed = want_out;
	}
	return 0;
}

// reply_len is the length of c's whole reply, or 0 while an HTTP
// response's headers are still coming.
static size_t reply_len(const struct lconn *c) {
	return is_http ? c->want : msg_size;
}

static int start_round_trip(int ep, struct lconn *c) {
	c->sent = c->got = c->want = 0;
	c->t0 = now_ns();
	return send_request(ep, c);
}

// http_parse looks at the response's headers once they are all in: the
// status must be 200 and Content-Length present. It sets c->want, or
// returns -1 for a malformed response; 0 with want unset means "read more".
static int http_parse(struct lconn *c) {
	char *end = memmem(c->hdr, c->got, "\r\n\r\n", 4);
	if (!end)
		return c->got < HTTP_BUF ? 0 : -1;
	*end = '\0'; // the headers are parsed once: the bytes after them are body
	if (strncmp(c->hdr, "HTTP/1.1 200", 12) != 0)
		return -1;
	long length = -1;
	for (char *line = strstr(c->hdr, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			length = strtol(line + 15, NULL, 10);
	}
	if (length < 0)
		return -1;
	c->want = (size_t)(end - c->hdr) + 4 + (size_t)length;
	return 0;
}

// on_readable reads what the reply has sent; a complete reply is recorded
// and the next request goes out. It returns -1 on error or EOF.
static int on_readable(struct worker *w, int ep, struct lconn *c, char *scratch) {
	for (;;) {
		size_t room;
		char *dst;
		if (is_http && c->want == 0) {
			dst = c->hdr + c->got;
			room = HTTP_BUF - c->got;
		} else {
			size_t left = reply_len(c) - c->got;
			dst = scratch;
			room = left < READ_CHUNK ? left : READ_CHUNK;
		}
		ssize_t k = recv(c->fd, dst, room, 0);
		if (k == 0)
			return -1;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (!is_http && memcmp(dst, msg + c->got, (size_t)k) != 0)
			return -1; // the echo is not what was sent
		c->got += (size_t)k;
		if (is_http && c->want == 0 && http_parse(c) < 0)
			return -1;
		size_t total = reply_len(c);
		if (total == 0 || c->got < total)
			continue;
		if (c->got > total)
			return -1; // more than one reply to one request
		if (atomic_load_explicit(&measuring, memory_order_relaxed)) {
			uint64_t us = (now_ns() - c->t0) / 1000;
			w->hist[us < HIST_US ? us : HIST_US - 1]++;
		}
		if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
			return 0;
		if (start_round_trip(ep, c) < 0)
			return -1;
	}
}

static void *worker_main(void *arg) {
	struct worker *w = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	char *scratch = malloc(READ_CHUNK);
	struct epoll_event evs[256];
	if (!scratch)
		die("malloc");
	for (int i = 0; i < w->n; i++) {
		struct lconn *c = &w->conns[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll_ctl");
		if (start_round_trip(ep, c) < 0)
			conn_fail(w, ep, c);
	}
	while (!atomic_load(&stop_flag)) {
		int n = epoll_wait(ep, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct lconn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			int bad = 0;
			if (evs[i].events & EPOLLOUT)
				bad = send_request(ep, c) < 0;
			if (!bad && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				bad = on_readable(w, ep, c, scratch) < 0;
			if (bad)
				conn_fail(w, ep, c);
		}
	}
	free(scratch);
	close(ep);
	return NULL;
}

// dial connects to sa (blocking, 10 s limit), sets TCP_NODELAY as Go's
// dialer does and returns a non-blocking socket, or -1.
static int dial(const struct sockaddr_storage *sa, socklen_t salen) {
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static double percentile(const uint64_t *hist, uint64_t total, double p) {
	if (total == 0)
		return 0;
	uint64_t rank = (uint64_t)(p * (double)(total - 1)); // as uringbench's Go load generator ranks
	uint64_t seen = 0;
	for (int us = 0; us < HIST_US; us++) {
		seen += hist[us];
		if (seen > rank)
			return us;
	}
	return HIST_US - 1;
}

static void sleep_ms(long ms) {
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static void usage(void) {
	fprintf(stderr, "usage: uringload -a HOST:PORT [-w echo|http] [-c CONNS] [-s SIZE] [-i IDLE] "
	                "[-t THREADS] [-W WARM_MS] [-d DUR_MS]\n");
	exit(2);
}

int main(int argc, char **argv) {
	const char *addr = NULL;
	int conns = 100, idle = 0, threads = 1;
	long warm_ms = 300, dur_ms = 2000;
	int opt;
	while ((opt = getopt(argc, argv, "a:w:c:s:i:t:W:d:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'w': work = optarg; break;
		case 'c': conns = atoi(optarg); break;
		case 's': msg_size = (size_t)atol(optarg); break;
		case 'i': idle = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'W': warm_ms = atol(optarg); break;
		case 'd': dur_ms = atol(optarg); break;
		default: usage();
		}
	}
	is_http = strcmp(work, "http") == 0;
	if (!addr || conns < 1 || threads < 1 || idle < 0 || (!is_http && strcmp(work, "echo") != 0) ||
	    (!is_http && msg_size == 0))
		usage();
	if (threads > conns)
		threads = conns;

	if (is_http) {
		msg = (char *)http_req;
		msg_len = sizeof http_req - 1;
	} else {
		msg_len = msg_size;
		if (!(msg = malloc(msg_size)))
			die("malloc");
		for (size_t i = 0; i < msg_size; i++)
			msg[i] = (char)('a' + i % 26);
	}

	// As Go does at start-up: the soft descriptor limit up to the hard one.
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	// HOST is a numeric address (uringbench passes 127.0.0.1:port): no
	// resolver, so a static binary needs nothing at run time.
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof host)
		usage();
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') { // [::1]:port
		h++;
		h[strlen(h) - 1] = '\0';
	}
	struct sockaddr_storage sa = {0};
	socklen_t salen;
	int port = atoi(colon + 1);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
	if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		salen = sizeof *v4;
	} else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		salen = sizeof *v6;
	} else {
		fprintf(stderr, "uringload: %s: not a numeric HOST:PORT\n", addr);
		return 1;
	}

	long errors = 0;
	int *idle_fds = calloc((size_t)idle + 1, sizeof(int));
	struct lconn *all = calloc((size_t)conns, sizeof *all);
	struct worker *ws = calloc((size_t)threads, sizeof *ws);
	if (!idle_fds || !all || !ws)
		die("calloc");
	for (int i = 0; i < idle; i++)
		if ((idle_fds[i] = dial(&sa, salen)) < 0)
			errors++;
	// Conn i goes to thread i % threads; each thread's conns are contiguous.
	int next = 0;
	for (int t = 0; t < threads; t++) {
		ws[t].conns = all + next;
		for (int i = t; i < conns; i += threads) {
			struct lconn *c = &all[next];
			c->fd = dial(&sa, salen);
			if (c->fd < 0) {
				errors++;
				continue; // not part of any thread's set
			}
			if (is_http && !(c->hdr = malloc(HTTP_BUF)))
				die("malloc");
			next++;
			ws[t].n++;
		}
		if (!(ws[t].hist = calloc(HIST_US, sizeof(uint32_t))))
			die("calloc");
	}
	if (next == 0) {
		fprintf(stderr, "uringload: no conn could be dialed to %s\n", addr);
		return 1;
	}

	for (int t = 0; t < threads; t++)
		if (pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]) != 0)
			die("pthread_create");
	sleep_ms(warm_ms);
	printf("start\n");
	fflush(stdout);
	atomic_store(&measuring, 1);
	uint64_t t0 = now_ns();
	sleep_ms(dur_ms);
	atomic_store(&measuring, 0);
	double seconds = (double)(now_ns() - t0) / 1e9;
	printf("stop\n");
	fflush(stdout);
	atomic_store(&stop_flag, 1);

	uint64_t *hist = calloc(HIST_US, sizeof(uint64_t));
	if (!hist)
		die("calloc");
	uint64_t ops = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(ws[t].tid, NULL);
		errors += ws[t].errors;
		for (int us = 0; us < HIST_US; us++) {
			hist[us] += ws[t].hist[us];
			ops += ws[t].hist[us];
		}
	}
	printf("{\"ops\":%llu,\"seconds\":%.6f,\"P50\":%.0f,\"P99\":%.0f,\"P999\":%.0f,\"errors\":%ld}\n",
	       (unsigned long long)ops, seconds, percentile(hist, ops, 0.50), percentile(hist, ops, 0.99),
	       percentile(hist, ops, 0.999), errors);
	return 0;
}
