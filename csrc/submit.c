/* SPDX-License-Identifier: MIT */
/* SQE preparation: one struct un_op becomes one SQE. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include "uringnet.h"

static struct io_uring_sqe *get_sqe(struct un_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		/* SQ full: push what is queued to the kernel and try again */
		int ret = io_uring_submit(&r->ring);

		r->stats.enters++;
		if (ret > 0)
			r->stats.sqes += (unsigned)ret;
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

int un_prep(struct un_ring *r, const struct un_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	switch (op->kind) {
	case UN_OP_ACCEPT_MULTI:
		io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL, SOCK_CLOEXEC);
		break;
	case UN_OP_RECV_MULTI:
		io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = UN_BGID;
		break;
	case UN_OP_SEND:
		io_uring_prep_send(sqe, op->fd, (void *)(uintptr_t)op->addr, op->len,
				   MSG_NOSIGNAL | (int)op->flags);
		break;
	case UN_OP_CANCEL:
		io_uring_prep_cancel64(sqe, op->addr, 0);
		break;
	case UN_OP_CANCEL_FD:
		io_uring_prep_cancel_fd(sqe, op->fd, IORING_ASYNC_CANCEL_ALL);
		break;
	case UN_OP_SHUTDOWN:
		io_uring_prep_shutdown(sqe, op->fd, (int)op->len);
		break;
	case UN_OP_CLOSE:
		io_uring_prep_close(sqe, op->fd);
		break;
	case UN_OP_POLL_OUT:
		io_uring_prep_poll_add(sqe, op->fd, POLLOUT);
		break;
	default:
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, op->user_data);
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, op->user_data);
	return 0;
}
