/*
 * scram.c - SCRAM-SHA-256 credentials and server exchange (RFC 5802 section 3,
 * RFC 7677). Runs in `auth` (verification) and in `subgate user` (derivation).
 * No channel binding and no authzid: such requests are refused as malformed.
 */
#include "scram.h"

#include <bearssl.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "pbkdf2.h"
#include "secret.h"

static void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
			unsigned char out[SCRAM_KEY_LEN])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, key_len);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, msg_len);
	br_hmac_out(&hc, out);
	secret_wipe(&kc, sizeof(kc));
	secret_wipe(&hc, sizeof(hc));
}

static void sha256(const void *msg, size_t len, unsigned char out[SCRAM_KEY_LEN])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, msg, len);
	br_sha256_out(&c, out);
}

void scram_derive(const void *password, size_t password_len, const void *salt, size_t salt_len, uint32_t iterations,
		  struct scram_credential *cred)
{
	unsigned char salted[SCRAM_KEY_LEN];
	unsigned char client_key[SCRAM_KEY_LEN];

	memset(cred, 0, sizeof(*cred));
	cred->iterations = iterations;
	cred->salt_len = salt_len < SCRAM_SALT_MAX ? salt_len : SCRAM_SALT_MAX;
	memcpy(cred->salt, salt, cred->salt_len);
	pbkdf2_sha256(password, password_len, cred->salt, cred->salt_len, iterations, salted, sizeof(salted));
	hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key);
	sha256(client_key, sizeof(client_key), cred->stored_key);
	hmac_sha256(salted, sizeof(salted), "Server Key", 10, cred->server_key);
	secret_wipe(salted, sizeof(salted));
	secret_wipe(client_key, sizeof(client_key));
}

int scram_check_password(const struct scram_credential *cred, const void *password, size_t password_len)
{
	struct scram_credential probe;
	int ok;

	scram_derive(password, password_len, cred->salt, cred->salt_len, cred->iterations, &probe);
	ok = secret_equal(probe.stored_key, cred->stored_key, SCRAM_KEY_LEN);
	secret_wipe(&probe, sizeof(probe));
	return ok;
}

/* Decodes a saslname ("=2C" -> ',', "=3D" -> '='). Returns 0 or -1. */
static int scram_decode_name(const char *src, size_t len, char *dst, size_t cap)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '=') {
			if (len - i >= 3 && memcmp(src + i, "=2C", 3) == 0) {
				c = ',';
			} else if (len - i >= 3 && memcmp(src + i, "=3D", 3) == 0) {
				c = '=';
			} else {
				return -1;
			}
			i += 2;
		} else if ((unsigned char)c < 0x21 || (unsigned char)c == 0x7f) {
			return -1;
		}
		if (out + 1 >= cap) {
			return -1;
		}
		dst[out++] = c;
	}
	dst[out] = '\0';
	return out > 0 ? 0 : -1;
}

/* A nonce is printable ASCII except ','. */
static int scram_valid_nonce(const char *p, size_t len)
{
	if (len == 0 || len > SCRAM_NONCE_MAX) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',') {
			return 0;
		}
	}
	return 1;
}

/* Splits the gs2 header ("n,," or "y,,") from msg; returns its length or -1. */
static int scram_gs2_header(const char *msg, size_t len)
{
	if (len >= 3 && (msg[0] == 'n' || msg[0] == 'y') && msg[1] == ',' && msg[2] == ',') {
		return 3;
	}
	return -1; /* p= channel binding or a= authzid: not supported */
}

int scram_server_client_first(struct scram_server *s, const char *msg, size_t len)
{
	int hlen = scram_gs2_header(msg, len);
	const char *bare, *comma, *nonce, *end;

	scram_server_reset(s);
	if (hlen < 0 || len - (size_t)hlen >= sizeof(s->client_first_bare) || memchr(msg, '\0', len)) {
		return -1;
	}
	memcpy(s->gs2_header, msg, (size_t)hlen);
	s->gs2_header[hlen] = '\0';
	bare = msg + hlen;
	end = msg + len;
	if (end - bare < 2 || memcmp(bare, "n=", 2) != 0) {
		return -1;
	}
	comma = memchr(bare + 2, ',', (size_t)(end - bare - 2));
	if (comma == NULL || end - comma < 3 || memcmp(comma, ",r=", 3) != 0) {
		return -1;
	}
	if (scram_decode_name(bare + 2, (size_t)(comma - bare - 2), s->username, sizeof(s->username)) < 0) {
		return -1;
	}
	nonce = comma + 3;
	const char *nonce_end = memchr(nonce, ',', (size_t)(end - nonce));
	size_t nonce_len = (size_t)((nonce_end ? nonce_end : end) - nonce);
	if (!scram_valid_nonce(nonce, nonce_len)) {
		return -1;
	}
	memcpy(s->nonce, nonce, nonce_len);
	s->nonce[nonce_len] = '\0';
	memcpy(s->client_first_bare, bare, (size_t)(end - bare));
	s->client_first_bare[end - bare] = '\0';
	s->state = SCRAM_WANT_CLIENT_FIRST;
	return 0;
}

long scram_server_first(struct scram_server *s, const struct scram_credential *cred, const char *server_nonce,
			char *out, size_t cap)
{
	char salt_b64[BASE64_ENCODED_SIZE(SCRAM_SALT_MAX)];
	size_t cn = strlen(s->nonce), sn = strlen(server_nonce);
	int n;

	if (!scram_valid_nonce(server_nonce, sn) || cn + sn >= sizeof(s->nonce)) {
		return -1;
	}
	memcpy(s->nonce + cn, server_nonce, sn + 1);
	base64_encode(cred->salt, cred->salt_len, salt_b64, sizeof(salt_b64));
	n = snprintf(s->server_first, sizeof(s->server_first), "r=%s,s=%s,i=%u", s->nonce, salt_b64,
		     (unsigned)cred->iterations);
	if (n < 0 || (size_t)n >= sizeof(s->server_first) || (size_t)n >= cap) {
		return -1;
	}
	memcpy(out, s->server_first, (size_t)n + 1);
	s->cred = *cred;
	s->state = SCRAM_WANT_CLIENT_FINAL;
	return n;
}

/* Builds AuthMessage = client-first-bare "," server-first "," client-final-without-proof. */
static long scram_auth_message(const struct scram_server *s, const char *final, size_t final_len, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s,%s,%.*s", s->client_first_bare, s->server_first, (int)final_len, final);

	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* Checks "c=" (gs2 header echoed) and "r=" (full nonce) of client-final-without-proof. */
static int scram_check_final_fields(const struct scram_server *s, const char *msg, size_t len)
{
	char cbind[BASE64_ENCODED_SIZE(sizeof(s->gs2_header))];
	int n;

	base64_encode(s->gs2_header, strlen(s->gs2_header), cbind, sizeof(cbind));
	n = snprintf(NULL, 0, "c=%s,r=%s", cbind, s->nonce);
	if (n < 0 || (size_t)n > len) {
		return -1;
	}
	char expect[sizeof(cbind) + sizeof(s->nonce) + 8];
	snprintf(expect, sizeof(expect), "c=%s,r=%s", cbind, s->nonce);
	if (memcmp(msg, expect, (size_t)n) != 0 || ((size_t)n < len && msg[n] != ',')) {
		return -1;
	}
	return 0;
}

static long scram_server_signature(const struct scram_server *s, const char *auth, size_t auth_len, char *out,
				   size_t cap)
{
	unsigned char sig[SCRAM_KEY_LEN];
	char sig_b64[BASE64_ENCODED_SIZE(SCRAM_KEY_LEN)];
	int n;

	hmac_sha256(s->cred.server_key, SCRAM_KEY_LEN, auth, auth_len, sig);
	base64_encode(sig, sizeof(sig), sig_b64, sizeof(sig_b64));
	n = snprintf(out, cap, "v=%s", sig_b64);
	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

long scram_server_client_final(struct scram_server *s, const char *msg, size_t len, char *out, size_t cap)
{
	char auth[3 * SCRAM_MSG_MAX];
	unsigned char proof[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN], key[SCRAM_KEY_LEN];
	const char *p;
	long auth_len, rc;

	if (s->state != SCRAM_WANT_CLIENT_FINAL || len >= SCRAM_MSG_MAX || memchr(msg, '\0', len)) {
		return -1;
	}
	/* The proof is the last attribute: ",p=" + 44 base64 characters. */
	if (len < 48 || memcmp(msg + len - 47, ",p=", 3) != 0) {
		return -1;
	}
	p = msg + len - 44;
	if (base64_decode(p, 44, proof, sizeof(proof)) != SCRAM_KEY_LEN ||
	    scram_check_final_fields(s, msg, len - 47) < 0) {
		return -1;
	}
	auth_len = scram_auth_message(s, msg, len - 47, auth, sizeof(auth));
	if (auth_len < 0) {
		return -1;
	}
	hmac_sha256(s->cred.stored_key, SCRAM_KEY_LEN, auth, (size_t)auth_len, sig);
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++) {
		proof[i] ^= sig[i]; /* proof now holds ClientKey */
	}
	sha256(proof, SCRAM_KEY_LEN, key);
	rc = 0;
	if (secret_equal(key, s->cred.stored_key, SCRAM_KEY_LEN)) {
		rc = scram_server_signature(s, auth, (size_t)auth_len, out, cap);
	}
	secret_wipe(proof, sizeof(proof));
	secret_wipe(key, sizeof(key));
	s->state = SCRAM_DONE;
	return rc;
}

void scram_server_reset(struct scram_server *s)
{
	secret_wipe(s, sizeof(*s));
	s->state = SCRAM_WANT_CLIENT_FIRST;
}

void scram_client_proof(const void *password, size_t password_len, const void *salt, size_t salt_len,
			uint32_t iterations, const char *auth_message, size_t auth_len, unsigned char *proof)
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], stored[SCRAM_KEY_LEN];
	unsigned char sig[SCRAM_KEY_LEN];

	pbkdf2_sha256(password, password_len, salt, salt_len, iterations, salted, sizeof(salted));
	hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key);
	sha256(client_key, sizeof(client_key), stored);
	hmac_sha256(stored, sizeof(stored), auth_message, auth_len, sig);
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++) {
		proof[i] = client_key[i] ^ sig[i];
	}
	secret_wipe(salted, sizeof(salted));
	secret_wipe(client_key, sizeof(client_key));
}
