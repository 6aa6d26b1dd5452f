/* SPDX-License-Identifier: MIT */
/*
 * Description: stats.sqes counts every SQE a run submits, on each of
 * un_ring_run's paths: no wait, a wait for one CQE, and the batch wait, also
 * when some CQEs are ready before it (where liburing's call returns 0, not
 * the number it submitted).
 */
#include "helpers.h"

#define NSENDS 5

static char msg[16] = "0123456789abcdef";

/* One pass with NSENDS sends of msg on fd; checks the counters moved by NSENDS. */
static int check_pass(struct un_ring *r, int fd, unsigned wait_nr, unsigned usec, const char *path)
{
	uint64_t sqes = r->stats.sqes;
	int ret;

	for (int i = 0; i < NSENDS; i++)
		r->ops[i] = (struct un_op){ .user_data = 100 + i, .addr = (uintptr_t)msg,
					    .len = sizeof(msg), .fd = fd, .kind = UN_OP_SEND };
	ret = un_ring_run(r, NSENDS, 0, wait_nr, usec);
	if (ret < 0) {
		fprintf(stderr, "%s: run: %s\n", path, strerror(-ret));
		return T_EXIT_FAIL;
	}
	if (r->stats.sqes - sqes != NSENDS) {
		fprintf(stderr, "%s: stats.sqes grew by %llu, want %d\n", path,
			(unsigned long long)(r->stats.sqes - sqes), NSENDS);
		return T_EXIT_FAIL;
	}
	/* reap the rest of this pass's CQEs so the next pass starts clean */
	for (int seen = ret, pass = 0; seen < NSENDS && pass < 1000; pass++) {
		ret = un_ring_run(r, 0, 0, 1, 0);
		if (ret < 0)
			return T_EXIT_FAIL;
		seen += ret;
	}
	return T_EXIT_PASS;
}

int main(void)
{
	struct un_ring *r;
	int lfd, cfd, sfd, ret = t_ring(&r, 8);
	char sink[4 * NSENDS * sizeof(msg)];

	if (ret)
		return ret;
	ret = T_EXIT_FAIL;
	if (t_pair(&lfd, &cfd, &sfd))
		goto out;
	/* the ring's own first SQE (its wake-up read) goes out on the first run */
	if (un_ring_run(r, 0, 0, 0, 0) < 0)
		goto out;
	if (check_pass(r, sfd, 0, 0, "no wait") || check_pass(r, sfd, 1, 0, "wait for one") ||
	    check_pass(r, sfd, NSENDS, 200 * 1000, "batch wait"))
		goto out;
	/* a batch wait that finds fewer CQEs than it wants already there */
	io_uring_prep_nop(io_uring_get_sqe(&r->ring));
	if (io_uring_submit(&r->ring) != 1 || io_uring_cq_ready(&r->ring) != 1) {
		fprintf(stderr, "nop: no CQE\n");
		goto out;
	}
	if (check_pass(r, sfd, NSENDS + 2, 200 * 1000, "batch wait, a CQE ready"))
		goto out;
	/* the peer got all 4 * NSENDS messages */
	if (t_read_full(cfd, sink, sizeof(sink)))
		goto out;
	ret = T_EXIT_PASS;
out:
	un_ring_exit(r);
	t_close_pair(lfd, cfd, sfd);
	return ret;
}
