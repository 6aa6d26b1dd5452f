/* SPDX-License-Identifier: MIT */
/* Shared bits for the shim's C tests. Exit codes: 0 pass, 1 fail, 77 skip. */
#ifndef UN_TEST_HELPERS_H
#define UN_TEST_HELPERS_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "uringnet.h"

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

/*
 * Creates a ring with small defaults and a pool of up to count buffers, initial
 * of them at first (0: all); returns T_EXIT_SKIP if the kernel refuses io_uring.
 */
static inline int t_ring_pool(struct un_ring **r, unsigned count, unsigned initial)
{
	struct un_params p = { .sq_entries = 64, .buf_count = count, .buf_size = 4096, .batch = 64,
			       .buf_initial = initial };
	int ret = un_ring_init(r, &p);

	if (ret == -ENOSYS || ret == -EPERM || ret == -EINVAL) {
		fprintf(stderr, "skip: io_uring not usable: %s\n", strerror(-ret));
		return T_EXIT_SKIP;
	}
	if (ret) {
		fprintf(stderr, "un_ring_init: %s\n", strerror(-ret));
		return T_EXIT_FAIL;
	}
	return T_EXIT_PASS;
}

/* A ring whose pool holds all bufs buffers from the start. */
static inline int t_ring(struct un_ring **r, unsigned bufs)
{
	return t_ring_pool(r, bufs, 0);
}

/* A blocking listener on 127.0.0.1, port written to *port. */
static inline int t_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static inline int t_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

static inline void t_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * A connected loopback pair: *lfd the listener, *cfd the client, *sfd the
 * server side. The client's reads time out after 10 s, so that a test
 * reading less than it expects fails instead of hanging. Returns 0, or -1
 * with what could not be made set to -1 (t_close skips it).
 */
static inline int t_pair(int *lfd, int *cfd, int *sfd)
{
	int port;

	*lfd = t_listener(&port);
	*cfd = *lfd < 0 ? -1 : t_connect(port);
	*sfd = *cfd < 0 ? -1 : accept(*lfd, NULL, NULL);
	if (*sfd < 0 || setsockopt(*cfd, SOL_SOCKET, SO_RCVTIMEO,
				   &(struct timeval){ .tv_sec = 10 }, sizeof(struct timeval))) {
		perror("socket pair");
		return -1;
	}
	return 0;
}

/* Closes what t_pair made. */
static inline void t_close_pair(int lfd, int cfd, int sfd)
{
	t_close(sfd);
	t_close(cfd);
	t_close(lfd);
}

/* Reads exactly n bytes from fd into buf. Returns 0, or -1 (error, EOF, timeout). */
static inline int t_read_full(int fd, char *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, buf + got, n - got);

		if (k <= 0) {
			perror("read");
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

/* Runs the ring until a CQE with user_data ud arrives (or max passes); copies it to *out. */
static inline int t_wait_for(struct un_ring *r, uint64_t ud, struct un_cqe *out, unsigned nops)
{
	for (int pass = 0; pass < 1000; pass++) {
		int n = un_ring_run(r, pass == 0 ? nops : 0, 0, 1, 0);

		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			if (r->cqes[i].user_data == ud) {
				*out = r->cqes[i];
				return 0;
			}
		}
	}
	return -ETIMEDOUT;
}

/*
 * With a multishot recv (user_data ud) armed on the peer of cfd, writes len
 * bytes of chunk at a time and holds every buffer the recv fills, until a
 * recv ends with -ENOBUFS; that CQE is copied to *last. Fails if a recv
 * returns anything else or more than max buffers fill. Returns how many
 * buffer ids it wrote to held, or -1.
 */
static inline int t_recv_until_enobufs(struct un_ring *r, int cfd, uint64_t ud, const char *chunk,
				       size_t len, uint16_t *held, int max, struct un_cqe *last)
{
	int nheld = 0;

	for (;;) {
		if (write(cfd, chunk, len) != (ssize_t)len || t_wait_for(r, ud, last, 0))
			return -1;
		if (last->res == -ENOBUFS)
			return nheld;
		if (last->res <= 0 || nheld == max) {
			fprintf(stderr, "unexpected recv res %d with %d held\n", last->res, nheld);
			return -1;
		}
		held[nheld++] = (uint16_t)(last->flags >> IORING_CQE_BUFFER_SHIFT);
	}
}

#endif
