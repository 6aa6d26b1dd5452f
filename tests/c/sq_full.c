/* SPDX-License-Identifier: MIT */
/*
 * Description: when the SQ stays full (the kernel takes none of it), nothing is
 * lost. un_ring_run keeps the ops it could not prepare at the front of r->ops
 * and says how many in r->ops_left; passed again, they are all sent, in order.
 * A wake-up whose READ could not be re-armed is re-armed by a later run, and
 * the next wake-up still ends up in the CQ.
 *
 * The kernel refuses SQEs only when it cannot allocate; the test stands in
 * for that by pointing liburing's enter fd at nothing while the SQ is full.
 */
#include "helpers.h"

#define NSENDS 3

static char msg[8] = "abcdefgh";

/* Fills the SQ with NOPs but for keep entries. Returns how many it added. */
static unsigned fill_sq(struct un_ring *r, unsigned keep)
{
	unsigned filled = 0;

	while (io_uring_sq_space_left(&r->ring) > keep) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, 1);
		filled++;
	}
	return filled;
}

/* A wake-up CQE reaped while the SQ is full: its READ is re-armed later. */
static int wake_kept(struct un_ring *r)
{
	int enter_fd = r->ring.enter_ring_fd;
	uint64_t wakeups = r->stats.wakeups;

	fill_sq(r, 0);
	/* post the wake-up's CQE without submitting the full SQ */
	if (un_ring_wake(r) || io_uring_get_events(&r->ring) < 0 || !io_uring_cq_ready(&r->ring)) {
		fprintf(stderr, "no wake-up CQE\n");
		return T_EXIT_FAIL;
	}
	r->ring.enter_ring_fd = -1;
	un_ring_run(r, 0, 0, 0, 0); /* reaps it; the re-arm finds the SQ full */
	r->ring.enter_ring_fd = enter_fd;
	if (r->stats.wakeups != wakeups + 1) {
		fprintf(stderr, "wake-up not reaped\n");
		return T_EXIT_FAIL;
	}
	/* drain the SQ, then wake again: the READ must be in by now */
	for (int pass = 0; pass < 3; pass++)
		un_ring_run(r, 0, 0, 0, 0);
	if (un_ring_wake(r))
		return T_EXIT_FAIL;
	for (int pass = 0; pass < 100 && r->stats.wakeups == wakeups + 1; pass++) {
		un_ring_run(r, 0, 0, 0, 0);
		usleep(1000);
	}
	if (r->stats.wakeups != wakeups + 2) {
		fprintf(stderr, "the second wake-up never came: the READ was not re-armed\n");
		return T_EXIT_FAIL;
	}
	return T_EXIT_PASS;
}

int main(void)
{
	struct un_ring *r;
	int lfd, cfd, sfd, enter_fd, ret = t_ring(&r, 8);
	unsigned filled;
	char sink[NSENDS * sizeof(msg)];

	if (ret)
		return ret;
	ret = T_EXIT_FAIL;
	if (t_pair(&lfd, &cfd, &sfd))
		goto out;
	if (un_ring_run(r, 0, 0, 0, 0) < 0) /* the ring's own first SQE goes out */
		goto out;

	/* fill the SQ with NOPs but for one entry, then make submission fail */
	filled = fill_sq(r, 1);
	enter_fd = r->ring.enter_ring_fd;
	r->ring.enter_ring_fd = -1;
	for (int i = 0; i < NSENDS; i++)
		r->ops[i] = (struct un_op){ .user_data = 10 + i, .addr = (uintptr_t)msg,
					    .len = sizeof(msg), .fd = sfd, .kind = UN_OP_SEND };
	r->ops[0].addr = (uintptr_t)"ABCDEFGH"; /* order is visible to the peer */
	/* the first send takes the last entry; the SQ is full for the rest */
	un_ring_run(r, NSENDS, 0, 1, 0);
	r->ring.enter_ring_fd = enter_fd;
	if (r->ops_left != NSENDS - 1 || r->ops[0].user_data != 11 ||
	    r->ops[NSENDS - 2].user_data != 10 + NSENDS - 1) {
		fprintf(stderr, "ops_left %u (want %d), ops[0] %llu (want 11)\n", r->ops_left,
			NSENDS - 1, (unsigned long long)r->ops[0].user_data);
		goto out;
	}

	/* passed again, everything goes out: the NOPs, then the sends in order */
	for (int pass = 0; r->ops_left || pass == 0; pass++) {
		if (pass == 100) {
			fprintf(stderr, "ops still left after %d passes\n", pass);
			goto out;
		}
		un_ring_run(r, r->ops_left ? r->ops_left : 0, 0, 0, 0);
	}
	if (r->stats.sqes < filled + NSENDS) {
		fprintf(stderr, "sqes %llu, want at least %u\n", (unsigned long long)r->stats.sqes,
			filled + NSENDS);
		goto out;
	}
	if (t_read_full(cfd, sink, sizeof(sink)))
		goto out;
	if (memcmp(sink, "ABCDEFGH", 8) || memcmp(sink + 8, msg, sizeof(msg))) {
		fprintf(stderr, "peer got %.*s\n", (int)sizeof(sink), sink);
		goto out;
	}
	ret = wake_kept(r);
out:
	un_ring_exit(r);
	t_close_pair(lfd, cfd, sfd);
	return ret;
}
