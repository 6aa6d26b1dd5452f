/* SPDX-License-Identifier: MIT */
/*
 * The run step: prepare, submit, wait, reap. CQEs are read with liburing's
 * io_uring_for_each_cqe (acquire load of the tail) and released with
 * io_uring_cq_advance (release store of the head).
 */
#include <errno.h>
#include <string.h>
#include "uringnet.h"

int __un_rearm_wake(struct un_ring *r);

/* Submits and waits for wait_nr CQEs or until usec passes; -ETIME is fine. */
static int submit_wait_batch(struct un_ring *r, unsigned wait_nr, unsigned usec)
{
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = (long long)usec * 1000 };
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, wait_nr, &ts, NULL);
	r->stats.enters++;
	return ret;
}

int un_ring_run(struct un_ring *r, unsigned nops, unsigned nbids, unsigned wait_nr,
		unsigned batch_usec)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0, seen = 0, enobufs = 0, queued;
	int ret, err = 0;

	if (nbids)
		un_bufs_return(r, r->bids, nbids);
	/* Without the wake READ a sleep could last forever: retry it first. */
	if (r->wake_unarmed && __un_rearm_wake(r) == 0)
		r->wake_unarmed = 0;
	if (r->wake_unarmed)
		wait_nr = 0;
	r->ops_left = 0;
	for (unsigned i = 0; i < nops; i++) {
		if (un_prep(r, &r->ops[i]) == -EBUSY) {
			/* Keep the rest for the caller's next run. What is already in
			 * the SQ is submitted below or by that run, and the CQEs still
			 * get reaped; not sleeping lets the caller retry at once. */
			r->ops_left = nops - i;
			memmove(r->ops, r->ops + i, r->ops_left * sizeof(*r->ops));
			wait_nr = 0;
			break;
		}
	}

	/* SQEs submitted are counted off the SQ head: liburing's timed wait
	 * returns 0, not the number it submitted, when a CQE was ready before it */
	queued = io_uring_sq_ready(&r->ring);
	if (wait_nr > 1 && batch_usec && io_uring_cq_ready(&r->ring) < wait_nr) {
		ret = submit_wait_batch(r, wait_nr, batch_usec);
		if (ret == -ETIME && !io_uring_cq_ready(&r->ring)) {
			ret = io_uring_submit_and_wait(&r->ring, 1);
			r->stats.enters++;
		}
	} else {
		if (wait_nr && !io_uring_cq_ready(&r->ring))
			ret = io_uring_submit_and_wait(&r->ring, 1);
		else
			ret = io_uring_submit_and_get_events(&r->ring);
		r->stats.enters++;
	}
	r->stats.sqes += queued - io_uring_sq_ready(&r->ring);
	if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EBUSY)
		err = ret;
	if (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
		r->stats.overflows++;

	io_uring_for_each_cqe(&r->ring, head, cqe) {
		if (n == r->batch)
			break;
		seen++;
		if (cqe->user_data == UN_WAKE_USER_DATA) {
			r->stats.wakeups++;
			if (!(cqe->flags & IORING_CQE_F_MORE) && __un_rearm_wake(r))
				r->wake_unarmed = 1;
			continue;
		}
		if (cqe->res == -ENOBUFS)
			enobufs++;
		r->cqes[n].user_data = cqe->user_data;
		r->cqes[n].res = cqe->res;
		r->cqes[n].flags = cqe->flags;
		n++;
	}
	io_uring_cq_advance(&r->ring, seen);
	r->stats.cqes += seen;
	if (enobufs) {
		/* The pool ran dry: a buffer for each recv that found it empty
		 * (for every two, in an incremental pool, where a recv takes
		 * only its bytes: 1,000 echo conns x 4 KiB grew it to 560-570
		 * buffers, against 590-800 with one for each), and an eighth
		 * more (up to buf_count). The caller sees stats.bufs_live grow
		 * and re-arms the starved recvs. */
		r->stats.enobufs += enobufs;
		un_bufs_grow(r, (r->buf_inc ? (enobufs + 1) / 2 : enobufs) + r->buf_live / 8);
	}
	if (n == 0 && err)
		return err;
	return (int)n;
}
