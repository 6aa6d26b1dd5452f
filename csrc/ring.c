/* SPDX-License-Identifier: MIT */
/* Ring lifecycle: setup with the best flags this kernel takes, the wake eventfd, teardown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "uringnet.h"

static long live_rings; /* updated with atomic builtins */

long un_live_rings(void)
{
	return __atomic_load_n(&live_rings, __ATOMIC_RELAXED);
}

/* Flag sets to try, best first; older kernels reject newer flags with EINVAL. */
static const unsigned setup_flag_sets[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE,
	IORING_SETUP_CQSIZE,
};

static int ring_setup(struct un_ring *r, unsigned entries)
{
	int ret = -EINVAL;

	for (unsigned i = 0; i < sizeof(setup_flag_sets) / sizeof(setup_flag_sets[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = setup_flag_sets[i];
		p.cq_entries = entries * 8;
		ret = io_uring_queue_init_params(entries, &r->ring, &p);
		if (ret == 0) {
			r->setup_flags = p.flags;
			return 0;
		}
		if (ret != -EINVAL)
			return ret;
	}
	return ret;
}

/* Arms a READ of the wake eventfd. */
static int arm_wake(struct un_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, r->wake_fd, &r->wake_val, sizeof(r->wake_val), 0);
	io_uring_sqe_set_data64(sqe, UN_WAKE_USER_DATA);
	return 0;
}

int un_ring_init(struct un_ring **out, const struct un_params *p)
{
	struct un_ring *r;
	int ret;

	if (!p->sq_entries || !p->batch)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->wake_fd = -1;
	r->batch = p->batch;
	r->ops = calloc(p->batch, sizeof(*r->ops));
	r->cqes = calloc(p->batch, sizeof(*r->cqes));
	r->bids = calloc(p->buf_count ? p->buf_count : 1, sizeof(*r->bids));
	if (!r->ops || !r->cqes || !r->bids) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = ring_setup(r, p->sq_entries);
	if (ret)
		goto err_free;
	ret = un_bufs_setup(r, p->buf_count, p->buf_size, p->buf_initial, p->buf_incremental);
	if (ret)
		goto err_ring;
	r->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		ret = -errno;
		goto err_bufs;
	}
	ret = arm_wake(r);
	if (ret)
		goto err_wake;
	__atomic_add_fetch(&live_rings, 1, __ATOMIC_RELAXED);
	*out = r;
	return 0;
err_wake:
	close(r->wake_fd);
err_bufs:
	un_bufs_free(r);
err_ring:
	io_uring_queue_exit(&r->ring);
err_free:
	free(r->ops);
	free(r->cqes);
	free(r->bids);
	free(r);
	return ret;
}

void un_ring_exit(struct un_ring *r)
{
	if (!r)
		return;
	/* Tearing the ring down cancels the wake READ; its buffer is r->wake_val. */
	io_uring_queue_exit(&r->ring);
	un_bufs_free(r);
	close(r->wake_fd);
	free(r->ops);
	free(r->cqes);
	free(r->bids);
	free(r);
	__atomic_sub_fetch(&live_rings, 1, __ATOMIC_RELAXED);
}

int un_ring_wake(struct un_ring *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* Re-arms the wake READ after its CQE. Called from the reaper. */
int __un_rearm_wake(struct un_ring *r)
{
	return arm_wake(r);
}
