/* SPDX-License-Identifier: MIT */
/* Description: un_ring_wake from another thread ends a blocking un_ring_run. */
#include <pthread.h>
#include "helpers.h"

static void *waker(void *arg)
{
	usleep(50 * 1000);
	un_ring_wake(arg);
	return NULL;
}

int main(void)
{
	struct un_ring *r;
	pthread_t th;
	int ret = t_ring(&r, 8);

	if (ret)
		return ret;
	for (int round = 0; round < 3; round++) {
		uint64_t before = r->stats.wakeups;

		pthread_create(&th, NULL, waker, r);
		while (r->stats.wakeups == before) {
			ret = un_ring_run(r, 0, 0, 1, 0);
			if (ret < 0) {
				fprintf(stderr, "run: %s\n", strerror(-ret));
				goto err;
			}
		}
		pthread_join(th, NULL);
	}
	un_ring_exit(r);
	return T_EXIT_PASS;
err:
	un_ring_exit(r);
	return T_EXIT_FAIL;
}
