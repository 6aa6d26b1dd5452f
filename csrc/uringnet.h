/* SPDX-License-Identifier: MIT */
/*
 * uringnet: a small shim over liburing for socket servers.
 *
 * One ring per event loop. The thread that calls un_ring_init() is the ring's
 * only issuer: every other un_ring_* call on that ring must come from the same
 * thread (the ring is set up with IORING_SETUP_SINGLE_ISSUER when the kernel
 * has it). Functions return 0 or a count on success and -errno on failure.
 *
 * The caller describes work as an array of struct un_op (r->ops) and buffer
 * ids to give back (r->bids), then calls un_ring_run(), which prepares the
 * SQEs, submits them in one io_uring_enter(2), optionally waits, and copies
 * the ready completions into r->cqes. Nothing here calls back into the caller.
 */
#ifndef URINGNET_H
#define URINGNET_H

#include <stdint.h>
#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What an un_op asks for. */
enum un_op_kind {
	UN_OP_ACCEPT_MULTI = 1,	/* multishot accept on fd (SOCK_CLOEXEC) */
	UN_OP_RECV_MULTI = 2,	/* multishot recv on fd into the buffer ring */
	UN_OP_SEND = 3,		/* send len bytes at addr on fd, MSG_NOSIGNAL */
	UN_OP_CANCEL = 4,	/* cancel the op whose user_data is addr */
	UN_OP_CANCEL_FD = 5,	/* cancel every op on fd */
	UN_OP_SHUTDOWN = 6,	/* shutdown(fd, len) */
	UN_OP_CLOSE = 7,	/* close(fd) */
	UN_OP_POLL_OUT = 8,	/* one-shot poll of fd for POLLOUT (room to write) */
};

/*
 * One request. For SEND, addr is a pointer the kernel may use until the op's
 * last CQE; for CANCEL, the user_data to cancel.
 */
struct un_op {
	uint64_t user_data;
	uint64_t addr;
	uint32_t len;
	int32_t fd;
	uint32_t kind;
	uint32_t flags;
};

/* One completion, copied out of the CQ ring. */
struct un_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

struct un_params {
	unsigned sq_entries;	/* SQ size; the CQ is 8x this */
	unsigned buf_count;	/* most provided recv buffers; power of two <= 32768 */
	unsigned buf_size;	/* bytes per recv buffer */
	unsigned batch;		/* capacity of ops[] and cqes[] */
	unsigned buf_initial;	/* buffers in the pool at first (0: buf_count); a run that
				 * reaps recvs that found it empty adds a buffer for each
				 * (for every two in an incremental pool) and an eighth
				 * more, up to buf_count */
	unsigned buf_incremental; /* nonzero: ask for incremental consumption (below) */
};

struct un_stats {
	uint64_t enters;	/* io_uring_enter calls made by un_ring_run */
	uint64_t sqes;		/* SQEs submitted */
	uint64_t cqes;		/* CQEs reaped (wake-ups included) */
	uint64_t wakeups;	/* CQEs of the wake eventfd */
	uint64_t enobufs;	/* recv completions with -ENOBUFS */
	uint64_t overflows;	/* times the kernel flagged CQ overflow */
	uint64_t bufs_returned;	/* buffers given back to the buffer ring */
	uint64_t bufs_live;	/* buffers in the pool so far (a gauge) */
};

struct un_ring {
	struct io_uring ring;
	unsigned setup_flags;		/* flags the ring was created with */

	/* provided-buffer ring, group UN_BGID; single producer: the issuer */
	struct io_uring_buf_ring *br;
	unsigned char *bufs;		/* buf_count * buf_size, mmap'd: page-aligned, pages untouched until a recv writes them */
	unsigned buf_count, buf_size;
	unsigned buf_live;		/* bids [0, buf_live) have been added to the pool */
	unsigned buf_inc;		/* the pool is consumed incrementally (below) */

	/* the wake eventfd (blocking, so io_uring polls it): any thread writes it; a READ op keeps it armed */
	int wake_fd;
	uint64_t wake_val;
	unsigned wake_unarmed;		/* the READ's re-arm found the SQ full: runs retry, and do not sleep */

	/* exchange arrays, owned by the issuer thread */
	struct un_op *ops;
	uint16_t *bids;
	struct un_cqe *cqes;
	unsigned batch;
	unsigned ops_left;	/* ops the last un_ring_run could not prepare (below) */

	struct un_stats stats;
};

#define UN_BGID 0

/*
 * Incremental consumption (Linux 6.12+; the flag's names are missing from
 * older headers): a recv takes only the bytes it needs from the buffer at
 * the pool's head, and the next recv, of any socket, goes on where it left
 * off. Each CQE still names its buffer; its bytes start where the previous
 * CQE naming that buffer ended (CQEs are posted in the order the kernel
 * consumed the buffer), and UN_CQE_F_BUF_MORE says the kernel will put more
 * into it. Without the flag the buffer is finished. Small messages then
 * share pages instead of taking one each. A kernel without it refuses the
 * flag; the pool is then consumed a whole buffer per recv, as before, and
 * no CQE has UN_CQE_F_BUF_MORE.
 */
#define UN_PBUF_RING_INC 2		/* IOU_PBUF_RING_INC; asked for on Linux 6.16+ only (bufring.c) */
#define UN_CQE_F_BUF_MORE (1U << 4)	/* IORING_CQE_F_BUF_MORE */
#define UN_WAKE_USER_DATA UINT64_MAX

/* Library interface */

/* Creates a ring and its buffer pool. Returns 0 and sets *out, or -errno. */
int un_ring_init(struct un_ring **out, const struct un_params *p);
/* Releases everything. Call only once no op is in flight (after its last CQE). */
void un_ring_exit(struct un_ring *r);
/*
 * Prepares r->ops[0..nops), gives back r->bids[0..nbids), submits, and
 * copies up to r->batch CQEs into r->cqes. With wait_nr > 0 it first waits
 * for a completion: for wait_nr of them if they come within batch_usec,
 * else for at least one (batching under load without delaying a lone conn).
 * Returns the number of CQEs copied, or -errno.
 *
 * If the SQ stays full (the kernel took none of it: it could not allocate),
 * the ops not prepared are moved to the front of r->ops, r->ops_left says how
 * many, and the run does not wait: the caller passes them again. No op is
 * lost. ops_left is 0 after every other run. Nor is the wake-up: a re-arm
 * of its READ that finds the SQ full is retried by the next runs, which do
 * not sleep until it is in.
 */
int un_ring_run(struct un_ring *r, unsigned nops, unsigned nbids, unsigned wait_nr,
		unsigned batch_usec);
/* Rings alive in this process (created and not yet exited). Any thread. */
long un_live_rings(void);
/* Wakes the issuer from un_ring_run's wait. Safe from any thread. */
int un_ring_wake(struct un_ring *r);
/* Address of buffer bid. */
static inline unsigned char *un_buf(const struct un_ring *r, unsigned bid)
{
	return r->bufs + (size_t)bid * r->buf_size;
}

/*
 * Checks that this kernel and process can run the engine: io_uring_setup is
 * allowed, the opcodes are present, and buffer rings register. On failure
 * returns -errno and writes a one-line reason into why.
 */
int un_probe(char *why, unsigned why_len);

/* What a ring on this kernel gets: for diagnostics. */
struct un_info {
	unsigned setup_flags;		/* IORING_SETUP_* the engine's ring got */
	unsigned features;		/* IORING_FEAT_* */
	unsigned char probed;		/* the kernel answered the opcode probe */
	unsigned char buf_inc;		/* pools are consumed incrementally (UN_PBUF_RING_INC) */
	unsigned char ops[64];		/* ops[IORING_OP_x] != 0: supported */
};
/* Fills *info from a throwaway ring. Returns 0 or -errno. */
int un_describe(struct un_info *info);

/* buffer ring (bufring.c) */
/* incremental: ask for it; r->buf_inc says whether the kernel agreed. */
int un_bufs_setup(struct un_ring *r, unsigned count, unsigned size, unsigned initial,
		  unsigned incremental);
/* Adds up to n never-used buffers to the pool. Returns how many. Issuer thread only. */
unsigned un_bufs_grow(struct un_ring *r, unsigned n);
void un_bufs_free(struct un_ring *r);
/* Gives buffers back to the kernel. Issuer thread only. */
void un_bufs_return(struct un_ring *r, const uint16_t *bids, unsigned n);

/* SQE preparation (submit.c). Returns 0, or -EBUSY when the SQ stays full. */
int un_prep(struct un_ring *r, const struct un_op *op);

#ifdef __cplusplus
}
#endif
#endif
