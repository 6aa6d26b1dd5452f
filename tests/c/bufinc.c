/* SPDX-License-Identifier: MIT */
/*
 * Description: in a pool consumed incrementally, recvs of two sockets share
 * one buffer: each CQE names it, its bytes start where the previous CQE
 * naming it ended, IORING_CQE_F_BUF_MORE is set while the buffer has room,
 * and the recv that fills it clears the flag; the next recv takes a new
 * buffer. Skips where the kernel does not consume incrementally (before
 * 6.16: bufring.c).
 */
#include "helpers.h"

#define BUF 4096

/* Writes n bytes of c on cfd and waits for the recv ud's CQE. */
static int send_and_reap(struct un_ring *r, int cfd, uint64_t ud, char c, size_t n, struct un_cqe *cqe)
{
	char data[BUF];

	memset(data, c, n);
	if (write(cfd, data, n) != (ssize_t)n)
		return -1;
	if (t_wait_for(r, ud, cqe, 0) || cqe->res != (int)n || !(cqe->flags & IORING_CQE_F_BUFFER)) {
		fprintf(stderr, "recv %llu: res %d flags %#x, want %zu bytes in a buffer\n",
			(unsigned long long)ud, cqe->res, cqe->flags, n);
		return -1;
	}
	return 0;
}

static int all_bytes(const unsigned char *p, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)c)
			return 0;
	return 1;
}

int main(void)
{
	struct un_params p = { .sq_entries = 64, .buf_count = 8, .buf_size = BUF, .batch = 64,
			       .buf_incremental = 1 };
	struct { uint64_t ud; int pair; char c; size_t n; } step[] = {
		{ 1, 0, 'a', 100 }, { 2, 1, 'b', 200 }, { 1, 0, 'c', 300 }, { 2, 1, 'd', BUF - 600 },
	};
	int lfd[2] = { -1, -1 }, cfd[2] = { -1, -1 }, sfd[2] = { -1, -1 };
	struct un_ring *r;
	struct un_cqe cqe;
	unsigned first = 0, off = 0;
	int ret = un_ring_init(&r, &p);

	if (ret) {
		fprintf(stderr, "skip: io_uring not usable: %s\n", strerror(-ret));
		return ret == -ENOSYS || ret == -EPERM || ret == -EINVAL ? T_EXIT_SKIP : T_EXIT_FAIL;
	}
	if (!r->buf_inc) {
		fprintf(stderr, "skip: this kernel's pool is consumed a whole buffer per recv\n");
		un_ring_exit(r);
		return T_EXIT_SKIP;
	}
	for (int i = 0; i < 2; i++) {
		if (t_pair(&lfd[i], &cfd[i], &sfd[i]))
			goto err;
		r->ops[i] = (struct un_op){ .user_data = 1 + (uint64_t)i, .fd = sfd[i], .kind = UN_OP_RECV_MULTI };
	}
	if (un_ring_run(r, 2, 0, 0, 0) < 0)
		goto err;
	for (unsigned i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		int last = i == sizeof(step) / sizeof(step[0]) - 1;
		unsigned bid;

		if (send_and_reap(r, cfd[step[i].pair], step[i].ud, step[i].c, step[i].n, &cqe))
			goto err;
		bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
		if (i == 0)
			first = bid;
		if (bid != first) {
			fprintf(stderr, "recv %u used buffer %u, the first used %u\n", i, bid, first);
			goto err;
		}
		if (((cqe.flags & UN_CQE_F_BUF_MORE) == 0) != last) {
			fprintf(stderr, "recv %u: BUF_MORE %s at offset %u\n", i,
				cqe.flags & UN_CQE_F_BUF_MORE ? "set" : "clear", off);
			goto err;
		}
		if (!all_bytes(un_buf(r, bid) + off, step[i].c, step[i].n)) {
			fprintf(stderr, "recv %u: its bytes are not at offset %u\n", i, off);
			goto err;
		}
		off += (unsigned)step[i].n;
	}
	/* The first buffer is full: the next recv takes another. */
	if (send_and_reap(r, cfd[0], 1, 'e', 10, &cqe))
		goto err;
	if ((cqe.flags >> IORING_CQE_BUFFER_SHIFT) == first ||
	    !all_bytes(un_buf(r, cqe.flags >> IORING_CQE_BUFFER_SHIFT), 'e', 10)) {
		fprintf(stderr, "recv after a full buffer used buffer %u again\n", first);
		goto err;
	}
	for (int i = 0; i < 2; i++)
		t_close_pair(lfd[i], cfd[i], sfd[i]);
	un_ring_exit(r);
	return T_EXIT_PASS;
err:
	for (int i = 0; i < 2; i++)
		t_close_pair(lfd[i], cfd[i], sfd[i]);
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
