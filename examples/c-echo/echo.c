/* SPDX-License-Identifier: MIT */
/*
 * c-echo: a pure-C echo server on the uringnet shim — multishot accept,
 * multishot recv into the provided-buffer ring, and the echo sent straight
 * from the recv buffer, which goes back to the pool once sent. One send in
 * flight per conn (a small FIFO of buffers queues behind it), so bytes keep
 * their order. -t N runs N threads, each with its own ring and an
 * SO_REUSEPORT listener. It is the in-repo limit the Go engine is measured
 * against, and shows the shim as a C library.
 *
 * Usage: c-echo [-p port] [-t threads]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "uringnet.h"

enum { EV_ACCEPT = 1, EV_RECV, EV_SEND, EV_CANCEL };
#define MAX_FDS 65536
#define QCAP 64			/* buffers queued behind a conn's send */

/* Longest wait for a batch of completions, as in the Go engine (its
 * URINGNET_BATCH_USEC knob, read here too for side-by-side runs). */
static unsigned batch_usec = 200;

struct pending { uint16_t bid; uint32_t off, len; };

/* Per-conn state, indexed by fd. Owned by the thread whose ring accepted it. */
struct conn {
	struct pending q[QCAP];
	unsigned head, n;
	int recv_armed, sending, closing, starved;
};

struct worker {
	int port;
	struct un_ring *r;
	unsigned nops;
	struct conn *conns;
	int *starved;		/* fds whose recv found the pool empty */
	unsigned nstarved;
};

static uint64_t ud(int ev, int fd) { return (uint64_t)ev << 32 | (uint32_t)fd; }

static void add_op(struct worker *w, struct un_op op)
{
	if (w->nops == w->r->batch) {	/* batch full: submit what we have */
		un_ring_run(w->r, w->nops, 0, 0, 0);
		w->nops = 0;
	}
	w->r->ops[w->nops++] = op;
}

static void arm_recv(struct worker *w, int fd)
{
	w->conns[fd].recv_armed = 1;
	add_op(w, (struct un_op){ .user_data = ud(EV_RECV, fd), .fd = fd, .kind = UN_OP_RECV_MULTI });
}

static void send_head(struct worker *w, int fd)
{
	struct conn *c = &w->conns[fd];
	struct pending *p = &c->q[c->head];

	c->sending = 1;
	add_op(w, (struct un_op){ .user_data = ud(EV_SEND, fd), .fd = fd, .kind = UN_OP_SEND,
				  .addr = (uint64_t)(uintptr_t)(un_buf(w->r, p->bid) + p->off),
				  .len = p->len - p->off });
}

static void give_back(struct worker *w, uint16_t bid)
{
	un_bufs_return(w->r, &bid, 1);
	/* a buffer is free again: let the starved conns try */
	while (w->nstarved) {
		int fd = w->starved[--w->nstarved];

		w->conns[fd].starved = 0;
		if (!w->conns[fd].closing)
			arm_recv(w, fd);
	}
}

/* Closes fd once no op of it is in flight; cancels them first otherwise. */
static void close_conn(struct worker *w, int fd)
{
	struct conn *c = &w->conns[fd];

	if (!c->closing && (c->recv_armed || c->sending))
		add_op(w, (struct un_op){ .user_data = ud(EV_CANCEL, fd), .fd = fd, .kind = UN_OP_CANCEL_FD });
	c->closing = 1;
	if (c->recv_armed || c->sending)
		return;
	while (c->n) {
		give_back(w, c->q[c->head].bid);
		c->head = (c->head + 1) % QCAP;
		c->n--;
	}
	close(fd);
	memset(c, 0, sizeof(*c));
}

static void on_cqe(struct worker *w, int lfd, const struct un_cqe *cqe)
{
	int ev = (int)(cqe->user_data >> 32), fd = (int)(uint32_t)cqe->user_data;
	int more = cqe->flags & IORING_CQE_F_MORE;
	struct conn *c = &w->conns[fd];

	switch (ev) {
	case EV_ACCEPT:
		if (cqe->res >= 0 && cqe->res < MAX_FDS) {
			/* TCP_NODELAY, as Go sets on every TCP conn: an echo sent in
			 * several pieces must not wait on the peer's delayed ACK. */
			int one = 1;
			setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			arm_recv(w, cqe->res);
		}
		else if (cqe->res >= 0)
			close(cqe->res);
		if (!more)
			add_op(w, (struct un_op){ .user_data = ud(EV_ACCEPT, lfd), .fd = lfd, .kind = UN_OP_ACCEPT_MULTI });
		break;
	case EV_RECV:
		if (!more)
			c->recv_armed = 0;
		if (cqe->res > 0) {
			uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);

			if (c->n == QCAP || c->closing) {	/* peer floods faster than it reads */
				give_back(w, bid);
				close_conn(w, fd);
				break;
			}
			c->q[(c->head + c->n) % QCAP] = (struct pending){ bid, 0, (uint32_t)cqe->res };
			c->n++;
			if (!c->sending)
				send_head(w, fd);
			if (!more && !c->closing)
				arm_recv(w, fd);
		} else if (cqe->res == -ENOBUFS && !c->closing) {
			if (!c->starved) {
				c->starved = 1;
				w->starved[w->nstarved++] = fd;
			}
		} else if (!more) {
			close_conn(w, fd);	/* EOF, error or cancelled */
		}
		break;
	case EV_SEND:
		c->sending = 0;
		if (cqe->res <= 0 || c->closing) {
			close_conn(w, fd);
			break;
		}
		c->q[c->head].off += (uint32_t)cqe->res;
		if (c->q[c->head].off == c->q[c->head].len) {
			give_back(w, c->q[c->head].bid);
			c->head = (c->head + 1) % QCAP;
			c->n--;
		}
		if (c->n)
			send_head(w, fd);
		break;
	case EV_CANCEL:
		if (c->closing)
			close_conn(w, fd);
		break;
	}
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096)) {
		perror("listen");
		exit(1);
	}
	return fd;
}

static void *serve(void *arg)
{
	struct worker *w = arg;
	struct un_params p = { .sq_entries = 512, .buf_count = 1024, .buf_size = 8192, .batch = 512 };
	unsigned last = 0;
	int lfd, ret = un_ring_init(&w->r, &p);

	if (ret) {
		fprintf(stderr, "c-echo: ring: %s\n", strerror(-ret));
		exit(1);
	}
	w->conns = calloc(MAX_FDS, sizeof(*w->conns));
	w->starved = calloc(MAX_FDS, sizeof(*w->starved));
	lfd = listen_on(w->port);
	add_op(w, (struct un_op){ .user_data = ud(EV_ACCEPT, lfd), .fd = lfd, .kind = UN_OP_ACCEPT_MULTI });
	for (;;) {
		/* same batching rule as the Go engine: wait for half the last batch, <= batch_usec */
		unsigned want = last / 2 > 1 ? last / 2 : 1;
		int n = un_ring_run(w->r, w->nops, 0, want, batch_usec);

		w->nops = 0;
		if (n < 0)
			continue;
		if (n > 0)
			last = (unsigned)n;
		for (int i = 0; i < n; i++)
			on_cqe(w, lfd, &w->r->cqes[i]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int port = 7000, threads = 1, opt;

	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 't')
			threads = atoi(optarg);
		else {
			fprintf(stderr, "usage: c-echo [-p port] [-t threads]\n");
			return 2;
		}
	}
	const char *b = getenv("URINGNET_BATCH_USEC");
	if (b && *b)
		batch_usec = (unsigned)atoi(b);
	fprintf(stderr, "c-echo: serving on :%d with %d ring(s)\n", port, threads);
	pthread_t th[64];
	struct worker w[64];
	if (threads < 1 || threads > 64)
		threads = 1;
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){ .port = port };
		pthread_create(&th[i], NULL, serve, &w[i]);
	}
	pthread_join(th[0], NULL);
	return 0;
}
