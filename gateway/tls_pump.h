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
#include <stdint.h>

/* errno of tls_pump after a renegotiation request (refused: the connection is over). */
#define TLS_PUMP_RENEGOTIATION EPROTO

/*
 * Runs the engine until `want` (BR_SSL_SENDAPP or BR_SSL_RECVAPP) is
 * available. Pending outgoing records are always written first, so a flush
 * followed by a pump for SENDAPP sends everything. deadline_ms is a
 * clock_now_ms() time; the waits are clock_wait_fd's (ECANCELED under
 * clock_wait_cancel). Returns 0, or -1 with errno ETIMEDOUT (deadline), EPIPE (engine closed; see
 * br_ssl_engine_last_error), ECONNRESET (peer closed the socket) or
 * TLS_PUMP_RENEGOTIATION (the peer asked to renegotiate: the connection can
 * only be closed, without a close_notify).
 */
int tls_pump(br_ssl_engine_context *eng, int fd, unsigned want, int64_t deadline_ms);

#endif
