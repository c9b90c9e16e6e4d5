/*
 * tls_engine.c - one cipher profile for every BearSSL engine subgate makes
 * (session processes and the relay), and one table of what BearSSL's error
 * codes mean, for the log lines of both sides.
 */
#include "tls_engine.h"

#include <stdint.h>
#include <stdio.h>

#include "secret.h"

#include "config.h"

static size_t tls_engine_suites(uint16_t *suites, int ecdsa, int rsa)
{
	static const uint16_t all[] = {
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,          BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		int is_rsa = i % 2 == 1, chacha = i < 2, cbc = i >= 6;

		if ((is_rsa && (!rsa || CONFIG_TLS_PROFILE_EC_ONLY)) || (!is_rsa && !ecdsa) ||
		    (chacha && !CONFIG_TLS_CHACHA20) || (cbc && !CONFIG_TLS_ALLOW_TLS10)) {
			continue;
		}
		suites[n++] = all[i];
	}
	return n;
}

/*
 * The portable implementations (CONFIG_TLS_CPU_CRYPTO=n): one per primitive,
 * the 64-bit variants where the compiler has 64-bit words (BearSSL's own
 * test for its 128-bit-product Poly1305 is __SIZEOF_INT128__).
 */
#if UINTPTR_MAX > 0xffffffffu
#define TLS_AES_CTR    br_aes_ct64_ctr_vtable
#define TLS_AES_CBCENC br_aes_ct64_cbcenc_vtable
#define TLS_AES_CBCDEC br_aes_ct64_cbcdec_vtable
#define TLS_GHASH      br_ghash_ctmul64
#else
#define TLS_AES_CTR    br_aes_ct_ctr_vtable
#define TLS_AES_CBCENC br_aes_ct_cbcenc_vtable
#define TLS_AES_CBCDEC br_aes_ct_cbcdec_vtable
#define TLS_GHASH      br_ghash_ctmul
#endif
#ifdef __SIZEOF_INT128__
#define TLS_POLY1305 br_poly1305_ctmulq_run
#else
#define TLS_POLY1305 br_poly1305_ctmul_run
#endif

/* Record ciphers: BearSSL's run-time choice, or the portable set above. */
static void tls_engine_ciphers(br_ssl_engine_context *eng)
{
	if (CONFIG_TLS_CPU_CRYPTO) {
		br_ssl_engine_set_default_aes_gcm(eng);
		if (CONFIG_TLS_CHACHA20) {
			br_ssl_engine_set_default_chapol(eng);
		}
		if (CONFIG_TLS_ALLOW_TLS10) {
			br_ssl_engine_set_default_aes_cbc(eng);
		}
		return;
	}
	br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
	br_ssl_engine_set_aes_ctr(eng, &TLS_AES_CTR);
	br_ssl_engine_set_ghash(eng, &TLS_GHASH);
	if (CONFIG_TLS_CHACHA20) {
		br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
		br_ssl_engine_set_chacha20(eng, &br_chacha20_ct_run);
		br_ssl_engine_set_poly1305(eng, &TLS_POLY1305);
	}
	if (CONFIG_TLS_ALLOW_TLS10) {
		br_ssl_engine_set_cbc(eng, &br_sslrec_in_cbc_vtable, &br_sslrec_out_cbc_vtable);
		br_ssl_engine_set_aes_cbc(eng, &TLS_AES_CBCENC, &TLS_AES_CBCDEC);
	}
}

void tls_engine_profile(br_ssl_engine_context *eng, int ecdsa, int rsa)
{
	uint16_t suites[8];

	/* no renegotiation, either way (testssl: secure_client_renego); see tls_pump_recv */
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_versions(eng, CONFIG_TLS_ALLOW_TLS10 ? BR_TLS10 : BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, tls_engine_suites(suites, ecdsa, rsa));
	br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_ec(eng);
	tls_engine_ciphers(eng);
	if (CONFIG_TLS_ALLOW_TLS10) {
		br_ssl_engine_set_hash(eng, br_md5_ID, &br_md5_vtable);
		br_ssl_engine_set_prf10(eng, &br_tls10_prf);
	}
	tls_engine_seed(eng);
}

/*
 * Seeds the engine from getrandom(2). BearSSL's own seeder falls back to
 * /dev/urandom where it has no CPU instruction or getentropy (Debian's MIPS
 * and ARM builds), and there is no /dev inside the jail: without this the
 * handshake fails with BR_ERR_NO_RANDOM on those boards.
 */
void tls_engine_seed(br_ssl_engine_context *eng)
{
	unsigned char seed[32];

	if (secret_random(seed, sizeof(seed)) == 0) {
		br_ssl_engine_inject_entropy(eng, seed, sizeof(seed));
	}
	secret_wipe(seed, sizeof(seed));
}

/* BearSSL's codes that have a name of their own; the rest is by range (tls_engine_error). */
static const struct {
	int err;
	const char *text;
} tls_engine_errors[] = {
	{ BR_ERR_OK, "connection closed" },
	{ BR_ERR_IO, "I/O error" },
	{ BR_ERR_BAD_VERSION, "unsupported protocol version" },
	{ BR_ERR_UNSUPPORTED_VERSION, "unsupported protocol version" },
	{ BR_ERR_BAD_CIPHER_SUITE, "no shared cipher suite" },
	{ BR_ERR_NO_CLIENT_AUTH, "no shared cipher suite" },
	{ BR_ERR_UNEXPECTED, "unexpected message" },
	{ BR_ERR_BAD_MAC, "bad record MAC" },
	{ BR_ERR_WRONG_KEY_USAGE, "certificate key does not fit the cipher suite" },
	{ BR_ERR_X509_EXPIRED, "certificate expired or not yet valid" },
	{ BR_ERR_X509_NOT_TRUSTED, "unknown CA" },
	{ BR_ERR_X509_BAD_SERVER_NAME, "host name mismatch" },
	{ BR_ERR_X509_LIMIT_EXCEEDED, "certificate or chain too large" },
};

const char *tls_engine_error(int err, const char *peer, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof(tls_engine_errors) / sizeof(tls_engine_errors[0]); i++) {
		if (tls_engine_errors[i].err == err) {
			return tls_engine_errors[i].text;
		}
	}
	if (err >= BR_ERR_SEND_FATAL_ALERT) {
		snprintf(buf, cap, "sent fatal alert %d", err - BR_ERR_SEND_FATAL_ALERT);
	} else if (err >= BR_ERR_RECV_FATAL_ALERT) {
		snprintf(buf, cap, "%s sent fatal alert %d", peer, err - BR_ERR_RECV_FATAL_ALERT);
	} else if (err >= BR_ERR_X509_OK && err <= 63) {
		snprintf(buf, cap, "bad certificate (X.509 error %d)", err);
	} else {
		snprintf(buf, cap, "TLS error %d", err);
	}
	return buf;
}
