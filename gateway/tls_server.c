/*
 * tls_server.c - BearSSL server set-up: credentials (master, start-up) and
 * the per-connection context (session process). Only ECDHE suites are
 * offered, so a stolen key cannot decrypt recorded sessions.
 */
#include "tls_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "secret.h"
#include "tls_engine.h"
#include "tls_pem.h"

struct tls_load {
	struct tls_creds *c;
	int key_seen;
	int bad;
};

static unsigned char *tls_dup(const void *p, size_t len)
{
	unsigned char *q = malloc(len ? len : 1);

	if (q != NULL) {
		memcpy(q, p, len);
	}
	return q;
}

static int tls_add_cert(struct tls_load *l, const unsigned char *der, size_t len)
{
	struct tls_creds *c = l->c;

	if (c->chain_len >= TLS_CHAIN_MAX) {
		return -1;
	}
	if (c->chain_len == 0) {
		br_x509_decoder_context dc;

		br_x509_decoder_init(&dc, NULL, NULL);
		br_x509_decoder_push(&dc, der, len);
		if (br_x509_decoder_last_error(&dc) != 0) {
			return -1;
		}
		c->issuer_key_type = br_x509_decoder_get_signer_key_type(&dc);
	}
	c->chain[c->chain_len].data = tls_dup(der, len);
	c->chain[c->chain_len].data_len = len;
	return c->chain[c->chain_len++].data ? 0 : -1;
}

static int tls_copy_rsa(br_rsa_private_key *dst, const br_rsa_private_key *src)
{
	*dst = *src;
	dst->p = tls_dup(src->p, src->plen);
	dst->q = tls_dup(src->q, src->qlen);
	dst->dp = tls_dup(src->dp, src->dplen);
	dst->dq = tls_dup(src->dq, src->dqlen);
	dst->iq = tls_dup(src->iq, src->iqlen);
	return dst->p && dst->q && dst->dp && dst->dq && dst->iq ? 0 : -1;
}

static int tls_add_key(struct tls_load *l, const unsigned char *der, size_t len)
{
	br_skey_decoder_context kc;
	int rc = -1;

	br_skey_decoder_init(&kc);
	br_skey_decoder_push(&kc, der, len);
	if (br_skey_decoder_last_error(&kc) == 0) {
		l->c->key_type = br_skey_decoder_key_type(&kc);
		if (l->c->key_type == BR_KEYTYPE_RSA) {
			rc = tls_copy_rsa(&l->c->rsa, br_skey_decoder_get_rsa(&kc));
		} else {
			l->c->ec = *br_skey_decoder_get_ec(&kc);
			l->c->ec.x = tls_dup(l->c->ec.x, l->c->ec.xlen);
			rc = l->c->ec.x ? 0 : -1;
		}
	}
	secret_wipe(&kc, sizeof(kc));
	return rc;
}

static int tls_load_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct tls_load *l = ctx;

	if (strcmp(label, "CERTIFICATE") == 0 || strcmp(label, "X509 CERTIFICATE") == 0) {
		l->bad |= tls_add_cert(l, der, len) < 0;
	} else if (strstr(label, "PRIVATE KEY") != NULL) {
		l->bad |= l->key_seen++ > 0 || tls_add_key(l, der, len) < 0;
	}
	return 0;
}

static int tls_load_file(struct tls_load *l, const char *path, size_t max)
{
	size_t len;
	char *text = tls_pem_read_file(path, max, &len);
	int rc;

	if (text == NULL) {
		return -1;
	}
	rc = tls_pem_decode(text, len, tls_load_object, l);
	secret_wipe(text, len);
	free(text);
	return rc < 0 ? -1 : 0;
}

int tls_creds_load(struct tls_creds *c, const char *cert_path, const char *key_path, char *err, size_t errcap)
{
	struct tls_load l;

	memset(c, 0, sizeof(*c));
	l = (struct tls_load){ c, 0, 0 };
	if (tls_load_file(&l, cert_path, (size_t)1 << 20) < 0 || l.bad || c->chain_len == 0) {
		snprintf(err, errcap, "%s: cannot load the certificate chain", cert_path);
		return -1;
	}
	l.key_seen = 0;
	if (tls_load_file(&l, key_path, (size_t)64 << 10) < 0 || l.bad || l.key_seen != 1) {
		snprintf(err, errcap, "%s: cannot load the private key", key_path);
		return -1;
	}
	if (CONFIG_TLS_PROFILE_EC_ONLY && c->key_type != BR_KEYTYPE_EC) {
		snprintf(err, errcap, "%s: RSA key, but this build is EC-only", key_path);
		return -1;
	}
	return 0;
}

int tls_server_setup(br_ssl_server_context *cc, const struct tls_creds *c, void *iobuf, size_t in_size, size_t out_size)
{
	br_ssl_engine_context *eng = &cc->eng;
	int rsa = c->key_type == BR_KEYTYPE_RSA;

	br_ssl_server_zero(cc);
	/* our order, not the client's: ChaCha20 first, as most router CPUs lack AES instructions */
	br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	tls_engine_profile(eng, !rsa, rsa);
	if (rsa) {
		br_ssl_server_set_single_rsa(cc, c->chain, c->chain_len, &c->rsa, BR_KEYTYPE_SIGN,
					     br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
	} else {
		br_ssl_server_set_single_ec(cc, c->chain, c->chain_len, &c->ec, BR_KEYTYPE_SIGN, c->issuer_key_type,
					    br_ec_get_default(), br_ecdsa_sign_asn1_get_default());
	}
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

const char *tls_error_name(int err)
{
	switch (err) {
	case BR_ERR_OK:
		return "closed";
	case BR_ERR_BAD_VERSION:
		return "unsupported protocol version";
	case BR_ERR_BAD_CIPHER_SUITE:
	case BR_ERR_NO_CLIENT_AUTH:
		return "no shared cipher suite";
	case BR_ERR_IO:
		return "I/O error or connection closed";
	case BR_ERR_UNEXPECTED:
		return "unexpected message";
	case BR_ERR_BAD_MAC:
		return "bad record MAC";
	default:
		return err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT ? "peer sent a fatal alert"
		       : err >= BR_ERR_SEND_FATAL_ALERT                                ? "sent a fatal alert"
										       : "TLS protocol error";
	}
}
