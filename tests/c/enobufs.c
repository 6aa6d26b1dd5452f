/* SPDX-License-Identifier: MIT */
/*
 * Description: with every buffer held, multishot recv ends with -ENOBUFS and
 * no F_MORE; after buffers are given back a re-armed recv gets the data.
 */
#include "helpers.h"

int main(void)
{
	struct un_ring *r;
	struct un_cqe cqe;
	uint16_t held[2];
	int nheld, lfd, cfd, sfd, ret;
	char chunk[100];

	ret = t_ring(&r, 2);
	if (ret)
		return ret;
	memset(chunk, 'x', sizeof(chunk));
	if (t_pair(&lfd, &cfd, &sfd))
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 7, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	un_ring_run(r, 1, 0, 0, 0);
	nheld = t_recv_until_enobufs(r, cfd, 7, chunk, sizeof(chunk), held, 2, &cqe);
	if (nheld < 0)
		goto err;
	if (cqe.flags & IORING_CQE_F_MORE) {
		fprintf(stderr, "ENOBUFS CQE still has F_MORE\n");
		goto err;
	}
	if (r->stats.enobufs != 1)
		goto err;
	memcpy(r->bids, held, (size_t)nheld * sizeof(held[0]));
	if (un_ring_run(r, 0, (unsigned)nheld, 0, 0) < 0)
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 8, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	if (t_wait_for(r, 8, &cqe, 1) || cqe.res <= 0) {
		fprintf(stderr, "re-armed recv got %d\n", cqe.res);
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
