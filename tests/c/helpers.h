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
#include <unistd.h>
#include <arpa/inet.h>
#include "uringnet.h"

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

/* Creates a ring with small defaults; returns T_EXIT_SKIP if the kernel refuses io_uring. */
static inline int t_ring(struct un_ring **r, unsigned bufs)
{
	struct un_params p = { .sq_entries = 64, .buf_count = bufs, .buf_size = 4096, .batch = 64, .buf_initial = 0 };
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

#endif
