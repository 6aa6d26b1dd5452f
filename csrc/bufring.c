/* SPDX-License-Identifier: MIT */
/*
 * The provided-buffer ring (group UN_BGID). Memory: one calloc'd slab of
 * buf_count * buf_size bytes plus the page-aligned ring itself. The kernel
 * owns a buffer from the moment it is added until a CQE names it; then the
 * caller owns it until it passes the id to un_bufs_return().
 *
 * The pool starts with buf_initial buffers and grows (un_bufs_grow) when a
 * recv finds it empty. A large slab comes from mmap, and calloc leaves its
 * pages untouched, so buffers never added cost no resident memory: an idle
 * server holds only the buffers it has needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "uringnet.h"

int un_bufs_setup(struct un_ring *r, unsigned count, unsigned size, unsigned initial)
{
	struct io_uring_buf_reg reg;
	size_t ring_bytes;
	void *mem;
	int ret;

	if (!count || (count & (count - 1)) || count > 32768 || !size)
		return -EINVAL;
	ring_bytes = (size_t)count * sizeof(struct io_uring_buf);
	if (posix_memalign(&mem, (size_t)sysconf(_SC_PAGESIZE), ring_bytes))
		return -ENOMEM;
	r->br = mem;
	/* zeroed: no stale heap bytes, and defined for valgrind, which cannot see kernel writes */
	r->bufs = calloc(count, size);
	if (!r->bufs) {
		free(r->br);
		r->br = NULL;
		return -ENOMEM;
	}
	r->buf_count = count;
	r->buf_size = size;
	io_uring_buf_ring_init(r->br);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)r->br;
	reg.ring_entries = count;
	reg.bgid = UN_BGID;
	ret = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (ret) {
		free(r->bufs);
		free(r->br);
		r->bufs = NULL;
		r->br = NULL;
		return ret;
	}
	r->buf_live = 0;
	un_bufs_grow(r, initial && initial < count ? initial : count);
	return 0;
}

unsigned un_bufs_grow(struct un_ring *r, unsigned n)
{
	unsigned mask = io_uring_buf_ring_mask(r->buf_count);

	if (n > r->buf_count - r->buf_live)
		n = r->buf_count - r->buf_live;
	for (unsigned i = 0; i < n; i++) {
		unsigned bid = r->buf_live + i;

		io_uring_buf_ring_add(r->br, un_buf(r, bid), r->buf_size, (unsigned short)bid,
				      mask, (int)i);
	}
	io_uring_buf_ring_advance(r->br, (int)n);
	r->buf_live += n;
	r->stats.bufs_live = r->buf_live;
	return n;
}

void un_bufs_free(struct un_ring *r)
{
	/* Called after io_uring_queue_exit(), which drops the registration. */
	free(r->bufs);
	free(r->br);
	r->bufs = NULL;
	r->br = NULL;
}

void un_bufs_return(struct un_ring *r, const uint16_t *bids, unsigned n)
{
	unsigned mask = io_uring_buf_ring_mask(r->buf_count);

	for (unsigned i = 0; i < n; i++)
		io_uring_buf_ring_add(r->br, un_buf(r, bids[i]), r->buf_size,
				      bids[i], mask, (int)i);
	/* advance publishes the entries with a release store of the tail */
	io_uring_buf_ring_advance(r->br, (int)n);
	r->stats.bufs_returned += n;
}
