/* SPDX-License-Identifier: MIT */
/*
 * Description: SEND vs SEND_ZC throughput over one TCP loopback conn, driven
 * straight through liburing (no Go), to decide whether the engine should use
 * zero-copy sends for large writes. A reader thread drains the socket.
 * Usage: sendzc [total_MiB [chunk_KiB]]
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "../c/helpers.h"

static void *drain(void *arg)
{
	static char buf[1 << 20];
	int fd = *(int *)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sends total bytes in chunk-sized ops, one in flight; returns seconds. */
static double run(int zc, size_t total, size_t chunk, char *buf)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int port, lfd, cfd, sfd;
	pthread_t th;
	double t0;

	io_uring_queue_init(8, &ring, 0);
	lfd = t_listener(&port);
	cfd = t_connect(port);
	sfd = accept(lfd, NULL, NULL);
	pthread_create(&th, NULL, drain, &cfd);
	t0 = now();
	for (size_t sent = 0; sent < total;) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		int more = 0, res = 0, pending = zc ? 2 : 1;

		if (zc)
			io_uring_prep_send_zc(sqe, sfd, buf, chunk, MSG_NOSIGNAL, 0);
		else
			io_uring_prep_send(sqe, sfd, buf, chunk, MSG_NOSIGNAL);
		io_uring_submit(&ring);
		while (pending) {	/* SEND_ZC: the result, then the buffer-free notification */
			io_uring_wait_cqe(&ring, &cqe);
			if (cqe->flags & IORING_CQE_F_NOTIF) {
				pending--;
			} else {
				res = cqe->res;
				more = cqe->flags & IORING_CQE_F_MORE;
				pending--;
				if (zc && !more)
					pending = 0;	/* failed before a notification was due */
			}
			io_uring_cqe_seen(&ring, cqe);
		}
		if (res <= 0) {
			fprintf(stderr, "send%s: %s\n", zc ? "_zc" : "", strerror(-res));
			exit(1);
		}
		sent += (size_t)res;
	}
	shutdown(sfd, SHUT_WR);
	pthread_join(th, NULL);
	close(sfd);
	close(cfd);
	close(lfd);
	io_uring_queue_exit(&ring);
	return now() - t0;
}

int main(int argc, char **argv)
{
	size_t total = (size_t)(argc > 1 ? atoi(argv[1]) : 512) << 20;
	size_t chunk = (size_t)(argc > 2 ? atoi(argv[2]) : 1024) << 10;
	char *buf = malloc(chunk);

	memset(buf, 'z', chunk);
	for (int round = 0; round < 3; round++) {
		double s = run(0, total, chunk, buf), z = run(1, total, chunk, buf);

		printf("chunk %zu KiB: SEND %.0f MB/s, SEND_ZC %.0f MB/s (%.2fx)\n",
		       chunk >> 10, total / s / 1e6, total / z / 1e6, s / z);
	}
	free(buf);
	return 0;
}
