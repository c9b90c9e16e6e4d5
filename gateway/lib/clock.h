/*
 * clock.h - the one clock and the one wait: milliseconds on the monotonic
 * clock, and poll() on one descriptor until an absolute deadline (EINTR
 * handled, and a flag that lets a signal cut the wait short). Every
 * deadline in the daemon and its tools is a clock_now_ms() time.
 */
#ifndef SUBGATE_LIB_CLOCK_H
#define SUBGATE_LIB_CLOCK_H

#include <signal.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock. */
int64_t clock_now_ms(void);

/*
 * Waits until fd is ready for events (POLLIN, POLLOUT) or deadline_ms (a
 * clock_now_ms() time) passes; a deadline already past is a timeout.
 * Returns 1 ready, 0 timeout (errno ETIMEDOUT), -1 error (ECANCELED: see
 * below).
 */
int clock_wait_fd(int fd, short events, int64_t deadline_ms);

/*
 * While it points at a set flag, a wait that a signal interrupts (or that
 * begins with the flag set) gives up with ECANCELED (a session told to stop
 * while it waits for a command). NULL: signals never cut a wait short (the
 * default; a message in DATA finishes).
 */
extern volatile sig_atomic_t *clock_wait_cancel;

#endif
