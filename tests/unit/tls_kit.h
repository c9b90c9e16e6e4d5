/*
 * tls_kit.h - the shared set-up of the TLS client tests (tls_kit.c):
 * certificates in a temporary directory, trust from them, one handshake
 * against a forked BearSSL server. Used by tls_client_test.c,
 * tls_pin_test.c and tls_anchors_test.c.
 */
#ifndef SUBGATE_TLS_KIT_H
#define SUBGATE_TLS_KIT_H

#include <bearssl.h>
#include <stdint.h>
#include <time.h>

#include "tls_client.h"

/* The outcome of hs_run. */
struct hs {
	int rc;         /* 0: handshake and one round trip of application data */
	int server_ok;  /* the server child saw "ping" and answered */
	int sni;        /* ... and the client had sent a server name */
	int err;        /* br_ssl_engine_last_error */
	int sys_err;    /* errno after the client's failed step */
	uint16_t suite; /* negotiated cipher suite */
	const char *reason;
};

/* The certificate directory. */
extern char tc_dir[64];

/* Makes the certificates once per run. Returns 0, or -1 (then the test cannot run). */
int tc_setup(void);

/* NAME in the certificate directory (one of four rotating buffers). */
const char *tc_path(const char *name);

/* The pin openssl computed for NAME.crt. 0 or -1. */
int tc_pin(const char *name, unsigned char pin[32]);

/* Trust from the CA file (anchors) or the pin of NAME.crt; tls_client_load_ca's result, or 0/-1. */
int tc_trust_ca(struct tls_client_trust *t, const char *file, time_t floor);
int tc_trust_pin(struct tls_client_trust *t, const char *name);

/* The client of the last handshake, its buffer, and whether the server asks to renegotiate. */
extern struct tls_client hs_client;
extern unsigned char hs_client_buf[BR_SSL_BUFSIZE_BIDI];
extern int hs_renegotiate;

/* One handshake and one round trip against a server with cert and key, name as the smarthost. */
struct hs hs_run(const char *cert, const char *key, const struct tls_client_trust *t, const char *name);

/* 1 if part is in s. */
int has(const char *s, const char *part);

/* The client's first choice of cipher suite the server also has. */
uint16_t first_suite(int rsa);

#endif
