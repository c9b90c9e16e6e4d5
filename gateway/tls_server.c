/*
 * tls_server.c - BearSSL server set-up: the certificate chain (master,
 * start-up) and the per-connection context (session process) with a policy
 * class that never touches the private key: the ServerKeyExchange signature
 * comes from a callback (the session asks `auth`, which holds the key).
 * Only ECDHE suites are offered, so a stolen key cannot decrypt recorded
 * sessions.
 */
#include "tls_server.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tls_engine.h"
#include "tls_pem.h"

struct tls_load {
	struct tls_creds *c;
	int bad;
};

/*
 * The chains' DER bytes: the one in use and the one a reload loads beside it
 * (tls_creds_free gives its store back). struct tls_creds points into them, so
 * it may be copied (master.creds = next).
 */
static struct tls_chain_store {
	unsigned char bytes[CONFIG_TLS_CHAIN_KB * 1024];
	size_t used;
	int taken;
} tls_chain_stores[2];

/* The leaf's own key type decides the suites; its signer's, nothing here (ECDHE only). */
static int tls_add_cert(struct tls_load *l, const unsigned char *der, size_t len)
{
	struct tls_creds *c = l->c;
	struct tls_chain_store *st = &tls_chain_stores[c->store];

	if (c->chain_len >= TLS_CHAIN_MAX || len > sizeof(st->bytes) - st->used) {
		return -1;
	}
	if (c->chain_len == 0) {
		br_x509_decoder_context dc;
		const br_x509_pkey *pk;

		br_x509_decoder_init(&dc, NULL, NULL);
		br_x509_decoder_push(&dc, der, len);
		pk = br_x509_decoder_get_pkey(&dc);
		if (br_x509_decoder_last_error(&dc) != 0 || pk == NULL) {
			return -1;
		}
		c->key_type = pk->key_type;
	}
	memcpy(st->bytes + st->used, der, len);
	c->chain[c->chain_len].data = st->bytes + st->used;
	c->chain[c->chain_len++].data_len = len;
	st->used += len;
	return 0;
}

static int tls_load_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct tls_load *l = ctx;

	if (strcmp(label, "CERTIFICATE") == 0 || strcmp(label, "X509 CERTIFICATE") == 0) {
		l->bad |= tls_add_cert(l, der, len) < 0;
	}
	return 0;
}

int tls_creds_load(struct tls_creds *c, const char *cert_path, char *err, size_t errcap)
{
	struct tls_load l = { c, 0 };
	int store = !tls_chain_stores[0].taken ? 0 : !tls_chain_stores[1].taken ? 1 : -1;

	memset(c, 0, sizeof(*c));
	c->store = -1;
	if (store < 0) {
		snprintf(err, errcap, "%s: no free certificate store (two chains loaded already)", cert_path);
		return -1;
	}
	c->store = store;
	tls_chain_stores[store].taken = 1;
	tls_chain_stores[store].used = 0;
	if (tls_pem_decode_file(cert_path, (size_t)1 << 20, tls_load_object, &l) < 0 || l.bad || c->chain_len == 0) {
		tls_creds_free(c);
		snprintf(err, errcap, "%s: cannot load the certificate chain", cert_path);
		return -1;
	}
	if (CONFIG_TLS_PROFILE_EC_ONLY && c->key_type != BR_KEYTYPE_EC) {
		tls_creds_free(c);
		snprintf(err, errcap, "%s: RSA certificate, but this build is EC-only", cert_path);
		return -1;
	}
	return 0;
}

void tls_creds_free(struct tls_creds *c)
{
	if (c->store >= 0 && c->store < 2 && c->chain_len > 0) {
		tls_chain_stores[c->store].taken = 0;
	}
	memset(c, 0, sizeof(*c));
	c->store = -1;
}

/* The strongest hash both sides sign with: SHA-256 first (every TLS 1.2 client has it). */
static unsigned tls_pick_hash(unsigned bits)
{
	static const unsigned order[] = { br_sha256_ID, br_sha384_ID, br_sha512_ID, br_sha224_ID, br_sha1_ID };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (bits & (1u << order[i])) {
			return order[i];
		}
	}
	return 0;
}

/* ECDHE only: the suite that matches our key, signed with a hash the client takes. */
static int tls_policy_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
			     br_ssl_server_choices *choices)
{
	const struct tls_server_policy *pol = (const struct tls_server_policy *)(const void *)pctx;
	int ec = pol->creds->key_type == BR_KEYTYPE_EC;
	unsigned want = ec ? BR_SSLKEYX_ECDHE_ECDSA : BR_SSLKEYX_ECDHE_RSA;
	unsigned hashes = br_ssl_server_get_client_hashes(cc);
	unsigned hash = tls_pick_hash(ec ? hashes >> 8 : hashes & 0xFF);
	size_t n;
	const br_suite_translated *st = br_ssl_server_get_client_suites(cc, &n);

	if (br_ssl_engine_get_version(&cc->eng) < BR_TLS12) {
		hash = ec ? br_sha1_ID : 0; /* TLS 1.0/1.1: SHA-1, or MD5+SHA-1 for RSA */
	} else if (hash == 0) {
		return 0;
	}
	choices->chain = pol->creds->chain;
	choices->chain_len = pol->creds->chain_len;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)(st[i][1] >> 12) == want) {
			choices->cipher_suite = st[i][0];
			choices->algo_id = 0xFF00 + hash;
			return 1;
		}
	}
	return 0;
}

/* Static (EC)DH and RSA key exchange are never chosen, so there is nothing to decrypt. */
static uint32_t tls_policy_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len)
{
	(void)pctx;
	(void)data;
	(void)len;
	return 0;
}

static size_t tls_policy_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id, unsigned char *data,
			      size_t hv_len, size_t len)
{
	const struct tls_server_policy *pol = (const struct tls_server_policy *)(const void *)pctx;

	unsigned char hv[64]; /* the signature overwrites the hash in data */

	if (hv_len > sizeof(hv)) {
		return 0;
	}
	memcpy(hv, data, hv_len);
	return pol->sign(pol->sign_ctx, algo_id, hv, hv_len, data, len);
}

static const br_ssl_server_policy_class tls_policy_vtable = {
	sizeof(struct tls_server_policy),
	tls_policy_choose,
	tls_policy_keyx,
	tls_policy_sign,
};

int tls_server_setup(br_ssl_server_context *cc, struct tls_server_policy *pol, void *iobuf, size_t in_size,
		     size_t out_size)
{
	br_ssl_engine_context *eng = &cc->eng;
	int rsa = pol->creds->key_type == BR_KEYTYPE_RSA;

	br_ssl_server_zero(cc);
	/* our order, not the client's: ChaCha20 first, as most router CPUs lack AES instructions */
	br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	tls_engine_profile(eng, !rsa, rsa);
	pol->vtable = &tls_policy_vtable;
	br_ssl_server_set_policy(cc, &pol->vtable);
	br_ssl_engine_set_buffers_bidi(eng, iobuf, in_size, (unsigned char *)iobuf + in_size, out_size);
	return br_ssl_server_reset(cc) ? 0 : -1;
}

const char *tls_version_name(unsigned version)
{
	switch (version) {
	case BR_TLS10:
		return "TLSv1";
	case BR_TLS11:
		return "TLSv1.1";
	case BR_TLS12:
		return "TLSv1.2";
	default:
		return "TLS?";
	}
}

const char *tls_suite_name(uint16_t suite)
{
	static const struct {
		uint16_t id;
		const char *name;
	} names[] = {
		{ BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305" },
		{ BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305" },
		{ BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256" },
		{ BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256" },
		{ BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384" },
		{ BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384" },
		{ BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA" },
		{ BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].id == suite) {
			return names[i].name;
		}
	}
	return "unknown";
}
