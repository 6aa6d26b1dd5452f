/* SPDX-License-Identifier: MIT */
/*
 * Description: the pool starts with buf_initial buffers; a run that reaps
 * recvs that found it empty (-ENOBUFS) adds a buffer for each of them and an
 * eighth more, up to buf_count, without any buffer being given back, and a
 * re-armed recv then lands in one of the new buffers.
 */
#include "helpers.h"

int main(void)
{
	struct un_ring *r;
	struct un_cqe cqe;
	uint16_t held[16];
	int nheld, lfd = -1, cfd = -1, sfd = -1, ret;
	unsigned bid;
	char chunk[100];

	ret = t_ring_pool(&r, 32, 16);
	if (ret)
		return ret;
	if (r->stats.bufs_live != 16) {
		fprintf(stderr, "pool starts with %llu buffers, want 16\n",
			(unsigned long long)r->stats.bufs_live);
		goto err;
	}
	memset(chunk, 'x', sizeof(chunk));
	if (t_pair(&lfd, &cfd, &sfd))
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 7, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	un_ring_run(r, 1, 0, 0, 0);
	nheld = t_recv_until_enobufs(r, cfd, 7, chunk, sizeof(chunk), held, 16, &cqe);
	if (nheld < 0)
		goto err;
	for (int i = 0; i < nheld; i++) {
		if (held[i] >= 16) {
			fprintf(stderr, "recv used bid %u of a 16-buffer pool\n", held[i]);
			goto err;
		}
	}
	/* one recv found it empty: 16 + 1 + 16 / 8 */
	if (r->stats.bufs_live != 19) {
		fprintf(stderr, "after -ENOBUFS the pool has %llu buffers, want 19\n",
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
	if (bid < 16 || bid >= 19 || memcmp(un_buf(r, bid), chunk, (size_t)cqe.res)) {
		fprintf(stderr, "re-armed recv used bid %u\n", bid);
		goto err;
	}
	/* Growth stops at buf_count. */
	if (un_bufs_grow(r, 100) != 13 || un_bufs_grow(r, 1) != 0 || r->stats.bufs_live != 32) {
		fprintf(stderr, "grow past buf_count: %llu buffers\n", (unsigned long long)r->stats.bufs_live);
		goto err;
	}
	t_close_pair(lfd, cfd, sfd);
	un_ring_exit(r);
	return T_EXIT_PASS;
err:
	t_close_pair(lfd, cfd, sfd);
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
