/*
 * tls_engine.h - the Kconfig cipher profile, shared by the server sessions
 * and the relay's client: protocol versions, cipher suites in our order of
 * preference (ECDHE only; ChaCha20 first, as router CPUs lack AES
 * instructions), hashes, PRFs and the symmetric and EC implementations.
 */
#ifndef SUBGATE_TLS_ENGINE_H
#define SUBGATE_TLS_ENGINE_H

#include <bearssl.h>

/* Configures eng; ecdsa/rsa choose which certificate types' suites are offered. */
void tls_engine_profile(br_ssl_engine_context *eng, int ecdsa, int rsa);

/* Injects 32 bytes from getrandom(2) (also done by tls_engine_profile). */
void tls_engine_seed(br_ssl_engine_context *eng);

#endif
