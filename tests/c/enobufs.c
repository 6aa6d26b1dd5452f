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
	int nheld = 0, port = 0, lfd, cfd = -1, sfd = -1, ret;
	char chunk[100];

	ret = t_ring(&r, 2);
	if (ret)
		return ret;
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
		if (cqe.res <= 0 || nheld == 2) {
			fprintf(stderr, "unexpected recv res %d with %d held\n", cqe.res, nheld);
			goto err;
		}
		held[nheld++] = (uint16_t)(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
	}
	if (cqe.flags & IORING_CQE_F_MORE) {
		fprintf(stderr, "ENOBUFS CQE still has F_MORE\n");
		goto err;
	}
	if (r->stats.enobufs != 1)
		goto err;
	memcpy(r->bids, held, sizeof(held));
	if (un_ring_run(r, 0, 2, 0, 0) < 0)
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 8, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	if (t_wait_for(r, 8, &cqe, 1) || cqe.res <= 0) {
		fprintf(stderr, "re-armed recv got %d\n", cqe.res);
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
