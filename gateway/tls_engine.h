/*
 * tls_engine.h - the Kconfig cipher profile, shared by the server sessions
 * and the relay's client: protocol versions, cipher suites in our order of
 * preference (ECDHE only; ChaCha20 first, as router CPUs lack AES
 * instructions), hashes, PRFs and the symmetric and EC implementations.
 * Also the one table of BearSSL error texts both sides log.
 */
#ifndef SUBGATE_TLS_ENGINE_H
#define SUBGATE_TLS_ENGINE_H

#include <bearssl.h>
#include <stddef.h>

/* Configures eng; ecdsa/rsa choose which certificate types' suites are offered. */
void tls_engine_profile(br_ssl_engine_context *eng, int ecdsa, int rsa);

/* Injects 32 bytes from getrandom(2) (also done by tls_engine_profile). */
void tls_engine_seed(br_ssl_engine_context *eng);

/*
 * A short text for br_ssl_engine_last_error(): named codes ("connection
 * closed", "no shared cipher suite", "unknown CA", ...) from one table; an
 * alert the peer sent names the peer ("server sent fatal alert 40"); other
 * X.509 codes "bad certificate (X.509 error N)"; the rest "TLS error N".
 * Numbered texts are written into buf (cap bytes); the result is buf or a
 * constant.
 */
const char *tls_engine_error(int err, const char *peer, char *buf, size_t cap);

#endif
