/*
 * clock_test.c - lib/clock.c: the monotonic clock and the deadline-bound
 * wait on one descriptor (ready, timed out, cancelled). Readiness is set up
 * before the wait (a socketpair written first); timeouts use a deadline in
 * the past or a short one, and no test measures how long a wait took.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"

TEST(clock_now_ms_never_goes_back)
{
	int64_t a = clock_now_ms(), b = clock_now_ms();

	CHECK(a > 0);
	CHECK(b >= a);
}

TEST(clock_wait_fd_ready)
{
	int sv[2];
	int64_t far = clock_now_ms() + 60000;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(clock_wait_fd(sv[0], POLLOUT, far) == 1); /* an empty socket buffer takes writes */
	CHECK(write(sv[1], "x", 1) == 1);
	CHECK(clock_wait_fd(sv[0], POLLIN, far) == 1);
	close(sv[0]);
	close(sv[1]);
}

TEST(clock_wait_fd_times_out)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	errno = 0;
	CHECK(clock_wait_fd(sv[0], POLLIN, clock_now_ms() - 1) == 0); /* a deadline already past */
	CHECK(errno == ETIMEDOUT);
	CHECK(write(sv[1], "x", 1) == 1);
	errno = 0;
	CHECK(clock_wait_fd(sv[0], POLLIN, clock_now_ms() - 1) == 0); /* past is past, even with input */
	CHECK(errno == ETIMEDOUT);
	errno = 0;
	CHECK(clock_wait_fd(sv[1], POLLIN, clock_now_ms() + 20) == 0); /* nothing comes */
	CHECK(errno == ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

TEST(clock_wait_fd_cancelled_by_the_flag)
{
	static volatile sig_atomic_t stop;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	stop = 1;
	clock_wait_cancel = &stop;
	errno = 0;
	CHECK(clock_wait_fd(sv[0], POLLIN, clock_now_ms() + 60000) == -1); /* set before the wait began */
	CHECK(errno == ECANCELED);
	stop = 0;
	CHECK(clock_wait_fd(sv[0], POLLOUT, clock_now_ms() + 60000) == 1); /* a clear flag changes nothing */
	clock_wait_cancel = NULL;
	close(sv[0]);
	close(sv[1]);
}
