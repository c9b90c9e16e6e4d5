/*
 * tls_pump.h - drives a BearSSL engine over a non-blocking socket with
 * poll() (BearSSL tools/sslio.c run_engine is the model): moves records
 * between the engine and the socket until the wanted application channel is
 * ready. Shared by the server sessions and the relay client.
 */
#ifndef SUBGATE_TLS_PUMP_H
#define SUBGATE_TLS_PUMP_H

#include <bearssl.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>

/* errno of tls_pump after a renegotiation request (refused: the connection is over). */
#define TLS_PUMP_RENEGOTIATION EPROTO

/* Milliseconds on a monotonic clock. */
int64_t tls_now_ms(void);

/*
 * Waits until fd is ready for events or the deadline passes.
 * Returns 1 ready, 0 timeout (errno ETIMEDOUT), -1 error (ECANCELED: see below).
 */
int tls_wait_fd(int fd, short events, int64_t deadline_ms);

/*
 * While it points at a set flag, a wait that a signal interrupts (or that
 * begins with the flag set) gives up with ECANCELED (a session told to stop while it waits for a command). NULL:
 * signals never cut a wait short (the default; a message in DATA finishes).
 */
extern volatile sig_atomic_t *tls_wait_cancel;

/*
 * Runs the engine until `want` (BR_SSL_SENDAPP or BR_SSL_RECVAPP) is
 * available. Pending outgoing records are always written first, so a flush
 * followed by a pump for SENDAPP sends everything. Returns 0, or -1 with
 * errno ETIMEDOUT (deadline), EPIPE (engine closed; see
 * br_ssl_engine_last_error), ECONNRESET (peer closed the socket) or
 * TLS_PUMP_RENEGOTIATION (the peer asked to renegotiate: the connection can
 * only be closed, without a close_notify).
 */
int tls_pump(br_ssl_engine_context *eng, int fd, unsigned want, int64_t deadline_ms);

#endif
