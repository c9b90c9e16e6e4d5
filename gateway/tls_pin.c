/*
 * tls_pin.c - the relay's SPKI pin (smarthost_pin) as a br_x509_class: it
 * keeps the leaf certificate (in tls_client's bounded leaf buffer), takes its
 * key from br_x509_decoder, and compares the SHA-256 of the leaf's
 * SubjectPublicKeyInfo DER (found by tls_cert_spki) with the pin. A mismatch
 * fails the handshake with TLS_CLIENT_ERR_PIN_MISMATCH. The rest of the
 * chain is ignored; the handshake proves that the server holds the pinned
 * key. No name and no clock are checked.
 */
#include "tls_pin.h"

#include <string.h>

#include "secret.h"
#include "tls_cert.h"
#include "tls_client.h"

static void tls_pin_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_client *c = tls_client_of_x509(ctx);

	(void)server_name; /* the pin names the key; the name does not matter */
	tls_client_leaf_reset(c);
	memset(&c->leaf_key, 0, sizeof(c->leaf_key));
	br_x509_decoder_init(&c->leaf_decoder, NULL, NULL);
}

static void tls_pin_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_client *c = tls_client_of_x509(ctx);

	if (tls_client_leaf_keep(c, buf, len)) {
		br_x509_decoder_push(&c->leaf_decoder, buf, len);
	}
}

static unsigned tls_pin_check(struct tls_client *c)
{
	br_sha256_context h;
	unsigned char hash[br_sha256_SIZE];
	const br_x509_pkey *pk;
	size_t off, len;
	int err;

	if (c->cert_index == 0) {
		return BR_ERR_X509_EMPTY_CHAIN;
	}
	if (c->leaf_too_big) {
		return BR_ERR_X509_LIMIT_EXCEEDED;
	}
	err = br_x509_decoder_last_error(&c->leaf_decoder);
	pk = br_x509_decoder_get_pkey(&c->leaf_decoder);
	if (err != 0 || pk == NULL) {
		return err != 0 ? (unsigned)err : BR_ERR_X509_UNSUPPORTED;
	}
	/* same TLVs as the decoder walked (it rejects more), so the bytes hashed hold the key returned */
	if (tls_cert_spki(c->leaf, c->leaf_len, &off, &len) < 0) {
		return BR_ERR_X509_INVALID_VALUE;
	}
	c->leaf_key = *pk;
	br_sha256_init(&h);
	br_sha256_update(&h, c->leaf + off, len);
	br_sha256_out(&h, hash);
	return secret_equal(hash, c->trust->pin, sizeof(hash)) ? 0 : TLS_CLIENT_ERR_PIN_MISMATCH;
}

static unsigned tls_pin_end_chain(const br_x509_class **ctx)
{
	struct tls_client *c = tls_client_of_x509(ctx);

	c->pin_error = tls_pin_check(c);
	return c->pin_error;
}

static const br_x509_pkey *tls_pin_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct tls_client *c = tls_client_of_x509(ctx);

	if (c->pin_error != 0 || c->leaf_key.key_type == 0) {
		return NULL;
	}
	if (usages != NULL) {
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	}
	return &c->leaf_key;
}

const br_x509_class tls_pin_class = {
	sizeof(struct tls_client), tls_pin_start_chain, tls_client_leaf_start_cert, tls_pin_append,
	tls_client_leaf_end_cert,  tls_pin_end_chain,   tls_pin_get_pkey,
};
