/*
 * tls_pump.c - the one place where TLS records meet the socket; also where
 * a renegotiation request is seen and refused.
 */
#include "tls_pump.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "clock.h"

/* Writes pending records. Returns 1 progress, 0 would block, -1 error. */
static int tls_pump_send(br_ssl_engine_context *eng, int fd)
{
	size_t len;
	unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
	ssize_t n = write(fd, buf, len);

	if (n > 0) {
		br_ssl_engine_sendrec_ack(eng, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	errno = ECONNRESET;
	return -1;
}

#define TLS_PUMP_HANDSHAKE 22 /* the record content type (RFC 5246 section 6.2.1); BR_SSL_HANDSHAKE is internal */

/*
 * 1 if the bytes just acknowledged completed the header of a handshake
 * record. BearSSL takes a record's 5-byte header on its own (recvrec_buf
 * offers at most what the header lacks) and, once it has it, sets
 * record_type_in and ixa = ixb = 5 (recvrec_ack in ssl_engine.c); the public
 * API does not tell, so these engine fields do.
 */
static int tls_pump_handshake_header(const br_ssl_engine_context *eng)
{
	return eng->record_type_in == TLS_PUMP_HANDSHAKE && eng->ixa == 5 && eng->ixb == 5;
}

/*
 * Reads incoming records. Returns 1 progress, 0 would block, -1 EOF or error.
 * A handshake record once application data flows is a renegotiation request
 * (TLS 1.2 has no other handshake message after Finished: a ClientHello from
 * a client, a HelloRequest from a server). The engines are set to refuse it
 * (BR_OPT_NO_RENEGOTIATION), which BearSSL does with a warning alert and
 * carries on; here it ends the connection before the record is even read:
 * -1 with errno TLS_PUMP_RENEGOTIATION.
 */
static int tls_pump_recv(br_ssl_engine_context *eng, int fd)
{
	size_t len;
	unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
	int app = (br_ssl_engine_current_state(eng) & BR_SSL_SENDAPP) != 0;
	ssize_t n = read(fd, buf, len);

	if (n > 0) {
		br_ssl_engine_recvrec_ack(eng, (size_t)n);
		if (app && tls_pump_handshake_header(eng)) {
			errno = TLS_PUMP_RENEGOTIATION;
			return -1;
		}
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	errno = ECONNRESET;
	return -1;
}

int tls_pump(br_ssl_engine_context *eng, int fd, unsigned want, int64_t deadline_ms)
{
	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		int rc;

		if (st & BR_SSL_CLOSED) {
			errno = EPIPE;
			return -1;
		}
		if (st & BR_SSL_SENDREC) {
			rc = tls_pump_send(eng, fd);
			if (rc < 0 || (rc == 0 && clock_wait_fd(fd, POLLOUT, deadline_ms) <= 0)) {
				return -1;
			}
			continue;
		}
		if (st & want) {
			return 0;
		}
		if (!(st & BR_SSL_RECVREC)) {
			errno = EPIPE; /* the engine can make no progress */
			return -1;
		}
		rc = tls_pump_recv(eng, fd);
		if (rc < 0 || (rc == 0 && clock_wait_fd(fd, POLLIN, deadline_ms) <= 0)) {
			return -1;
		}
	}
}
