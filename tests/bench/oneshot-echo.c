/* SPDX-License-Identifier: MIT */
/*
 * oneshot-echo: an echo server whose recvs are one-shot, into a buffer of
 * each conn's own (no provided buffers), batching its waits as the engine
 * does (half the last batch, at most 200 µs). It stands for a Read into the
 * caller's memory, against examples/c-echo's multishot recv into the
 * buffer ring: tests/bench/oneshot-ab.sh runs the two side by side and
 * prints their kernel cost per round trip. A measurement tool, not served
 * code: errors close the conn, and sends are retried until done.
 *
 * Usage: oneshot-echo [port]
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
enum { EV_ACCEPT = 1, EV_RECV, EV_SEND };
#define MAXFD 65536
#define BUFSZ 8192
struct conn { char *buf; unsigned len, off; };
static struct conn conns[MAXFD];
static struct io_uring ring;
static struct io_uring_sqe *sqe_get(void) {
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	if (!s) { io_uring_submit(&ring); s = io_uring_get_sqe(&ring); }
	return s;
}
static unsigned long long ud(int ev, int fd) { return (unsigned long long)ev << 32 | (unsigned)fd; }
static void arm_recv(int fd) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_recv(s, fd, conns[fd].buf, BUFSZ, 0);
	io_uring_sqe_set_data64(s, ud(EV_RECV, fd));
}
static void send_rest(int fd) {
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_send(s, fd, conns[fd].buf + conns[fd].off, conns[fd].len - conns[fd].off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(s, ud(EV_SEND, fd));
}
int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 7500;
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE, .cq_entries = 65536 };
	if (io_uring_queue_init_params(4096, &ring, &p)) { perror("init"); return 1; }
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001) };
	if (bind(lfd, (void *)&a, sizeof a) || listen(lfd, 4096)) { perror("bind"); return 1; }
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(s, ud(EV_ACCEPT, lfd));
	unsigned last = 1;
	fprintf(stderr, "oneshot: serving on %d\n", port);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned want = last / 2 ? last / 2 : 1;
		struct __kernel_timespec ts = { 0, 200000 };
		int ret;
		if (want > 1) {
			ret = io_uring_submit_and_wait_timeout(&ring, &cqe, want, &ts, NULL);
			if (ret == -ETIME && !io_uring_cq_ready(&ring)) io_uring_submit_and_wait(&ring, 1);
		} else io_uring_submit_and_wait(&ring, 1);
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			int ev = cqe->user_data >> 32, fd = (int)(cqe->user_data & 0xffffffff), res = cqe->res;
			if (ev == EV_ACCEPT) {
				if (res >= 0 && res < MAXFD) {
					setsockopt(res, IPPROTO_TCP, 1 /*TCP_NODELAY*/, &one, sizeof one);
					if (!conns[res].buf) conns[res].buf = malloc(BUFSZ);
					arm_recv(res);
				}
				if (!(cqe->flags & IORING_CQE_F_MORE)) { s = sqe_get(); io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC); io_uring_sqe_set_data64(s, ud(EV_ACCEPT, lfd)); }
			} else if (ev == EV_RECV) {
				if (res <= 0) { close(fd); continue; }
				conns[fd].len = res; conns[fd].off = 0; send_rest(fd);
			} else {
				if (res < 0) { close(fd); continue; }
				conns[fd].off += res;
				if (conns[fd].off < conns[fd].len) send_rest(fd); else arm_recv(fd);
			}
		}
		io_uring_cq_advance(&ring, n);
		if (n) last = n;
	}
}
