/* SPDX-License-Identifier: MIT */
/* Description: ring setup and teardown, parameter checks, live-ring count, probe,
 * page-aligned recv buffers. */
#include "helpers.h"

int main(void)
{
	struct un_params bad = { .sq_entries = 8, .buf_count = 3, .buf_size = 64, .batch = 8 };
	struct un_ring *r = NULL;
	char why[256];
	int ret;

	ret = t_ring(&r, 16);
	if (ret)
		return ret;
	if (un_live_rings() != 1) {
		fprintf(stderr, "live rings %ld, want 1\n", un_live_rings());
		goto err;
	}
	if (r->buf_count != 16 || r->wake_fd < 0) {
		fprintf(stderr, "ring fields not set\n");
		goto err;
	}
	/* buffers of whole pages start on a page: a 4 KiB recv touches one page */
	for (unsigned bid = 0; bid < r->buf_count; bid++) {
		uintptr_t at = (uintptr_t)un_buf(r, bid);

		if (at % (uintptr_t)sysconf(_SC_PAGESIZE)) {
			fprintf(stderr, "buffer %u at %#lx is not page-aligned\n", bid, (unsigned long)at);
			goto err;
		}
	}
	/* an empty pass must not block or fail */
	ret = un_ring_run(r, 0, 0, 0, 0);
	if (ret < 0) {
		fprintf(stderr, "empty run: %s\n", strerror(-ret));
		goto err;
	}
	un_ring_exit(r);
	r = NULL;
	if (un_live_rings() != 0) {
		fprintf(stderr, "ring not released\n");
		return T_EXIT_FAIL;
	}
	if (un_ring_init(&r, &bad) != -EINVAL) {
		fprintf(stderr, "non-power-of-two buffer count accepted\n");
		return T_EXIT_FAIL;
	}
	ret = un_probe(why, sizeof(why));
	if (ret) {
		fprintf(stderr, "probe failed on a kernel that made a ring: %s\n", why);
		return T_EXIT_FAIL;
	}
	for (int i = 0; i < 200; i++) {	/* leaks show under ASan */
		if (t_ring(&r, 8))
			return T_EXIT_FAIL;
		un_ring_exit(r);
	}
	return T_EXIT_PASS;
err:
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
