/*
 * clock.c - monotonic time and the deadline-bound wait on one descriptor
 * (clock.h), shared by the TLS pump, client connections, the relay's
 * connect, the sendmail client and the control-socket client.
 */
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

#define CLOCK_POLL_MAX_MS 60000 /* a long wait is polled in slices: the int timeout never overflows */

volatile sig_atomic_t *clock_wait_cancel;

int64_t clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int clock_cancelled(void)
{
	if (clock_wait_cancel != NULL && *clock_wait_cancel) {
		errno = ECANCELED;
		return 1;
	}
	return 0;
}

int clock_wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline_ms - clock_now_ms();
		int rc;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return 0;
		}
		if (clock_cancelled()) {
			return -1; /* the signal came before the wait began */
		}
		rc = poll(&p, 1, left > CLOCK_POLL_MAX_MS ? CLOCK_POLL_MAX_MS : (int)left);
		if (rc > 0) {
			return 1;
		}
		if (rc < 0 && (errno != EINTR || clock_cancelled())) {
			return -1;
		}
	}
}
