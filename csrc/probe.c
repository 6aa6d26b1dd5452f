/* SPDX-License-Identifier: MIT */
/* Can this process run the engine? Asks the kernel rather than guessing from versions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "uringnet.h"

static const struct {
	int op;
	const char *name;
} needed_ops[] = {
	{ IORING_OP_ACCEPT, "ACCEPT" },
	{ IORING_OP_RECV, "RECV" },
	{ IORING_OP_SEND, "SEND" },
	{ IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
	{ IORING_OP_READ, "READ" },
	{ IORING_OP_SHUTDOWN, "SHUTDOWN" },
	{ IORING_OP_CLOSE, "CLOSE" },
	{ IORING_OP_POLL_ADD, "POLL_ADD" },
	/* present from 6.0, the kernel that brought multishot recv */
	{ IORING_OP_SEND_ZC, "SEND_ZC (Linux 6.0+, needed for multishot recv)" },
};

int un_probe(char *why, unsigned why_len)
{
	struct un_info info;
	int ret = un_describe(&info);

	if (ret) {
		const char *hint = "";

		if (ret == -ENOSYS)
			hint = " (kernel built without io_uring)";
		else if (ret == -EPERM)
			hint = " (blocked by a seccomp filter or kernel.io_uring_disabled)";
		else if (ret == -ENOMEM)
			hint = " (RLIMIT_MEMLOCK too low for the ring on this kernel)";
		else if (ret == -EINVAL)
			hint = " (provided-buffer rings need Linux 5.19+)";
		snprintf(why, why_len, "ring setup failed: %s%s", strerror(-ret), hint);
		return ret;
	}
	if (!info.probed) {
		snprintf(why, why_len, "opcode probe failed (Linux 5.6+ needed)");
		return -EOPNOTSUPP;
	}
	for (unsigned i = 0; i < sizeof(needed_ops) / sizeof(needed_ops[0]); i++) {
		if (!info.ops[needed_ops[i].op]) {
			snprintf(why, why_len, "kernel lacks io_uring opcode %s", needed_ops[i].name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int un_describe(struct un_info *info)
{
	struct un_params p = { .sq_entries = 4, .buf_count = 4, .buf_size = 64, .batch = 4,
			       .buf_incremental = 1 };
	struct io_uring_probe *probe;
	struct un_ring *r;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = un_ring_init(&r, &p);
	if (ret)
		return ret;
	info->setup_flags = r->setup_flags;
	info->features = r->ring.features;
	info->buf_inc = (unsigned char)r->buf_inc;
	probe = io_uring_get_probe_ring(&r->ring);
	if (probe) {
		info->probed = 1;
		for (unsigned op = 0; op < sizeof(info->ops); op++)
			info->ops[op] = io_uring_opcode_supported(probe, (int)op) ? 1 : 0;
		io_uring_free_probe(probe);
	}
	un_ring_exit(r);
	return 0;
}
