/* SPDX-License-Identifier: MIT */
/*
 * Description: a one-shot POLLOUT poll (what RawConn.Write waits on) stays
 * pending while the socket is full, completes once the peer reads, completes
 * at once when there is room, and ends with -ECANCELED under CANCEL_FD.
 */
#include <fcntl.h>
#include <poll.h>
#include "helpers.h"

/* Sends until the socket takes no more. Returns bytes sent, or -1. */
static long fill(int fd)
{
	static char chunk[65536];
	long total = 0;

	for (;;) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? total : -1;
		total += n;
	}
}

/* Runs the ring once without waiting; returns whether a CQE for ud came. */
static int came(struct un_ring *r, uint64_t ud, unsigned nops)
{
	int n = un_ring_run(r, nops, 0, 0, 0);

	for (int i = 0; i < n; i++)
		if (r->cqes[i].user_data == ud)
			return 1;
	return 0;
}

int main(void)
{
	struct un_ring *r;
	struct un_cqe cqe;
	int lfd, cfd, sfd, ret, small = 4096;
	static char sink[1 << 20];
	long queued;

	ret = t_ring(&r, 8);
	if (ret)
		return ret;
	if (t_pair(&lfd, &cfd, &sfd))
		goto err;
	setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	queued = fill(sfd);
	if (queued <= 0) {
		fprintf(stderr, "fill: %ld\n", queued);
		goto err;
	}

	/* full: the poll stays pending */
	r->ops[0] = (struct un_op){ .user_data = 1, .fd = sfd, .kind = UN_OP_POLL_OUT };
	if (came(r, 1, 1)) {
		fprintf(stderr, "POLLOUT poll completed on a full socket\n");
		goto err;
	}
	usleep(50 * 1000);
	if (came(r, 1, 0)) {
		fprintf(stderr, "POLLOUT poll completed with the peer not reading\n");
		goto err;
	}
	/* the peer reads everything: room again */
	while (queued > 0) {
		ssize_t n = read(cfd, sink, sizeof(sink));

		if (n <= 0)
			goto err;
		queued -= n;
	}
	if (t_wait_for(r, 1, &cqe, 0) || cqe.res <= 0 || !(cqe.res & POLLOUT)) {
		fprintf(stderr, "POLLOUT poll after the peer read: res %d\n", cqe.res);
		goto err;
	}

	/* room now: completes at once */
	r->ops[0] = (struct un_op){ .user_data = 2, .fd = sfd, .kind = UN_OP_POLL_OUT };
	if (t_wait_for(r, 2, &cqe, 1) || !(cqe.res & POLLOUT)) {
		fprintf(stderr, "POLLOUT poll with room: res %d\n", cqe.res);
		goto err;
	}

	/* pending again, then cancelled with every op on the descriptor */
	if (fill(sfd) <= 0)
		goto err;
	r->ops[0] = (struct un_op){ .user_data = 3, .fd = sfd, .kind = UN_OP_POLL_OUT };
	r->ops[1] = (struct un_op){ .user_data = 4, .fd = sfd, .kind = UN_OP_CANCEL_FD };
	if (t_wait_for(r, 3, &cqe, 2) || cqe.res != -ECANCELED) {
		fprintf(stderr, "cancelled POLLOUT poll: res %d\n", cqe.res);
		goto err;
	}
	t_close_pair(lfd, cfd, sfd);
	un_ring_exit(r);
	return T_EXIT_PASS;
err:
	t_close_pair(lfd, cfd, sfd);
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
