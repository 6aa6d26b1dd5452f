/* SPDX-License-Identifier: MIT */
/*
 * Description: the pool starts with buf_initial buffers; a recv that finds
 * it empty (-ENOBUFS) doubles it, up to buf_count, without any buffer being
 * given back, and a re-armed recv then lands in one of the new buffers.
 */
#include "helpers.h"

int main(void)
{
	struct un_params p = { .sq_entries = 64, .buf_count = 8, .buf_size = 4096, .batch = 64,
			       .buf_initial = 2 };
	struct un_ring *r;
	struct un_cqe cqe;
	int nheld = 0, port = 0, lfd, cfd = -1, sfd = -1, ret;
	unsigned bid;
	char chunk[100];

	ret = un_ring_init(&r, &p);
	if (ret == -ENOSYS || ret == -EPERM || ret == -EINVAL) {
		fprintf(stderr, "skip: io_uring not usable: %s\n", strerror(-ret));
		return T_EXIT_SKIP;
	}
	if (ret)
		return T_EXIT_FAIL;
	if (r->stats.bufs_live != 2) {
		fprintf(stderr, "pool starts with %llu buffers, want 2\n",
			(unsigned long long)r->stats.bufs_live);
		goto err;
	}
	memset(chunk, 'x', sizeof(chunk));
	lfd = t_listener(&port);
	if (lfd < 0)
		goto err;
	cfd = t_connect(port);
	sfd = accept(lfd, NULL, NULL);
	if (cfd < 0 || sfd < 0)
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 7, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	un_ring_run(r, 1, 0, 0, 0);
	for (;;) {
		if (write(cfd, chunk, sizeof(chunk)) != sizeof(chunk) || t_wait_for(r, 7, &cqe, 0))
			goto err;
		if (cqe.res == -ENOBUFS)
			break;
		bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
		if (cqe.res <= 0 || bid >= 2 || ++nheld > 2) {
			fprintf(stderr, "recv res %d bid %u with %d held\n", cqe.res, bid, nheld);
			goto err;
		}
	}
	if (r->stats.bufs_live != 4) {
		fprintf(stderr, "after -ENOBUFS the pool has %llu buffers, want 4\n",
			(unsigned long long)r->stats.bufs_live);
		goto err;
	}
	/* No buffer was given back: the re-armed recv must use a new one. */
	r->ops[0] = (struct un_op){ .user_data = 8, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	if (t_wait_for(r, 8, &cqe, 1) || cqe.res <= 0) {
		fprintf(stderr, "re-armed recv got %d\n", cqe.res);
		goto err;
	}
	bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
	if (bid < 2 || bid >= 4 || memcmp(un_buf(r, bid), chunk, (size_t)cqe.res)) {
		fprintf(stderr, "re-armed recv used bid %u\n", bid);
		goto err;
	}
	/* Growth stops at buf_count. */
	if (un_bufs_grow(r, 100) != 4 || un_bufs_grow(r, 1) != 0 || r->stats.bufs_live != 8) {
		fprintf(stderr, "grow past buf_count: %llu buffers\n", (unsigned long long)r->stats.bufs_live);
		goto err;
	}
	close(cfd);
	close(sfd);
	close(lfd);
	un_ring_exit(r);
	return T_EXIT_PASS;
err:
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
