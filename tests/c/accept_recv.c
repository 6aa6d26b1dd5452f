/* SPDX-License-Identifier: MIT */
/*
 * Description: multishot accept and multishot recv into the buffer ring,
 * buffers given back, send with MSG_NOSIGNAL, EOF as a zero-length recv.
 */
#include "helpers.h"

int main(void)
{
	struct un_ring *r;
	struct un_cqe cqe;
	int port = 0, lfd, cfd = -1, sfd, ret;
	const char msg[] = "ping over io_uring";
	char back[sizeof(msg)];

	ret = t_ring(&r, 8);
	if (ret)
		return ret;
	lfd = t_listener(&port);
	if (lfd < 0)
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 1, .fd = lfd, .kind = UN_OP_ACCEPT_MULTI };
	un_ring_run(r, 1, 0, 0, 0);
	cfd = t_connect(port);
	if (cfd < 0 || t_wait_for(r, 1, &cqe, 0)) {
		fprintf(stderr, "no accept CQE\n");
		goto err;
	}
	if (cqe.res < 0 || !(cqe.flags & IORING_CQE_F_MORE)) {
		fprintf(stderr, "accept res %d flags %x\n", cqe.res, cqe.flags);
		goto err;
	}
	sfd = cqe.res;

	r->ops[0] = (struct un_op){ .user_data = 2, .fd = sfd, .kind = UN_OP_RECV_MULTI };
	un_ring_run(r, 1, 0, 0, 0);
	for (int round = 0; round < 20; round++) {	/* more rounds than buffers: needs give-back */
		uint16_t bid;

		if (write(cfd, msg, sizeof(msg)) != sizeof(msg) || t_wait_for(r, 2, &cqe, 0))
			goto err;
		if (cqe.res != sizeof(msg) || !(cqe.flags & IORING_CQE_F_BUFFER)) {
			fprintf(stderr, "round %d: recv res %d flags %x\n", round, cqe.res, cqe.flags);
			goto err;
		}
		bid = (uint16_t)(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
		if (memcmp(un_buf(r, bid), msg, sizeof(msg))) {
			fprintf(stderr, "buffer %u holds other bytes\n", bid);
			goto err;
		}
		/* echo it back from the buffer, then return the buffer */
		r->ops[0] = (struct un_op){ .user_data = 3, .fd = sfd, .kind = UN_OP_SEND,
					    .addr = (uint64_t)(uintptr_t)un_buf(r, bid), .len = (uint32_t)cqe.res };
		if (t_wait_for(r, 3, &cqe, 1) || cqe.res != sizeof(msg))
			goto err;
		r->bids[0] = bid;
		un_ring_run(r, 0, 1, 0, 0);
		if (read(cfd, back, sizeof(back)) != sizeof(back) || memcmp(back, msg, sizeof(msg)))
			goto err;
	}
	close(cfd);
	cfd = -1;
	if (t_wait_for(r, 2, &cqe, 0) || cqe.res != 0) {
		fprintf(stderr, "want EOF (0), got %d\n", cqe.res);
		goto err;
	}
	if (r->stats.bufs_returned != 20) {
		fprintf(stderr, "bufs_returned %llu\n", (unsigned long long)r->stats.bufs_returned);
		goto err;
	}
	/* cancel the multishot accept before closing the listener */
	r->ops[0] = (struct un_op){ .user_data = 4, .fd = lfd, .kind = UN_OP_CANCEL_FD };
	if (t_wait_for(r, 1, &cqe, 1) || cqe.res != -ECANCELED) {
		fprintf(stderr, "accept not cancelled: %d\n", cqe.res);
		goto err;
	}
	close(sfd);
	close(lfd);
	un_ring_exit(r);
	return T_EXIT_PASS;
err:
	if (cfd >= 0)
		close(cfd);
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
