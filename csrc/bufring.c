/* SPDX-License-Identifier: MIT */
/*
 * The provided-buffer ring (group UN_BGID). Memory: one mmap'd slab of
 * buf_count * buf_size bytes plus the page-aligned ring itself. The kernel
 * owns a buffer from the moment it is added until a CQE names it; then the
 * caller owns it until it passes the id to un_bufs_return().
 *
 * The pool starts with buf_initial buffers and grows (un_bufs_grow) when a
 * recv finds it empty. The slab's pages stay untouched until a recv writes
 * them, so buffers never added cost no resident memory: an idle server
 * holds only the buffers it has needed. The slab is page-aligned, so a
 * buffer of whole pages starts on a page and a 4 KiB message costs one
 * resident page, not two: malloc's mmap'd chunks start 16 bytes into their
 * first page, and there every 4 KiB recv touched two (1,000 echo conns x
 * 4 KiB held 16 MiB of pool where 8 MiB were written).
 *
 * Where the kernel can (uringnet.h: UN_PBUF_RING_INC), recvs consume the
 * pool incrementally: small messages share a buffer instead of taking one
 * each (1,000 echo conns x 64 B: the pool stays at its first 64 buffers,
 * where it grew to 1,110-1,120).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "uringnet.h"

/*
 * Incremental consumption needs each buffer's CQEs in the order the kernel
 * filled it: the bytes of a CQE start where the previous CQE naming that
 * buffer ended. Kernels before the fix "io_uring: ensure deferred
 * completions are flushed for multishot" (May 2025) could post a multishot
 * recv's last CQE, if it stopped with data, after a later CQE of another
 * recv on the same buffer. Stable kernels may carry the fix under an older
 * version number, but that cannot be told from here: 6.16 or later only.
 */
static int inc_order_kept(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 16);
}

/*
 * The registration's flags are the 16 bits after bgid: liburing 2.3's
 * header calls them pad, later ones flags. Written by offset, so that the
 * shim builds against either.
 */
_Static_assert(offsetof(struct io_uring_buf_reg, resv) ==
		       offsetof(struct io_uring_buf_reg, bgid) + 2 * sizeof(uint16_t),
	       "the registration's flags are the 16 bits after bgid");

static void set_reg_flags(struct io_uring_buf_reg *reg, uint16_t flags)
{
	memcpy((char *)reg + offsetof(struct io_uring_buf_reg, bgid) + sizeof(reg->bgid), &flags,
	       sizeof(flags));
}

int un_bufs_setup(struct un_ring *r, unsigned count, unsigned size, unsigned initial,
		  unsigned incremental)
{
	struct io_uring_buf_reg reg;
	size_t ring_bytes;
	void *mem;
	int ret = 0;

	if (!count || (count & (count - 1)) || count > 32768 || !size)
		return -EINVAL;
	ring_bytes = (size_t)count * sizeof(struct io_uring_buf);
	if (posix_memalign(&mem, (size_t)sysconf(_SC_PAGESIZE), ring_bytes))
		return -ENOMEM;
	r->br = mem;
	/* anonymous memory is zeroed: no stale heap bytes, and defined for
	 * valgrind, which cannot see kernel writes */
	mem = mmap(NULL, (size_t)count * size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		free(r->br);
		r->br = NULL;
		return -ENOMEM;
	}
	r->bufs = mem;
	r->buf_count = count;
	r->buf_size = size;
	io_uring_buf_ring_init(r->br);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)r->br;
	reg.ring_entries = count;
	reg.bgid = UN_BGID;
	r->buf_inc = 0;
	if (incremental && inc_order_kept()) {
		struct io_uring_buf_reg inc = reg;

		set_reg_flags(&inc, UN_PBUF_RING_INC);
		ret = io_uring_register_buf_ring(&r->ring, &inc, 0);
		if (ret == 0)
			r->buf_inc = 1;
	}
	if (!r->buf_inc)
		ret = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (ret) {
		munmap(r->bufs, (size_t)count * size);
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
	/* Called after io_uring_queue_exit(), which drops the registration,
	 * or before any recv was armed. */
	if (r->bufs)
		munmap(r->bufs, (size_t)r->buf_count * r->buf_size);
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
