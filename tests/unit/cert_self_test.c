/*
 * cert_self_test.c - the self-signed certificate as BearSSL itself sees it:
 * it decodes, it is not a CA, the key PEM decodes back to the same key, and
 * br_x509_minimal accepts it as its own trust anchor for the host name, inside
 * the validity period only. Bad requests and every short buffer are refused.
 */
#include <string.h>

#include "config.h"

#if CONFIG_TOOL_CERT

#include <bearssl.h>

#include "cert_self.h"
#include "harness.h"

#define HOST            "gw.example.net"
#define T_2026_01_01    1767225600LL
#define DAYS_AD_TO_1970 719528 /* BearSSL counts days from 0000-01-01 */

struct dn_buf {
	unsigned char buf[256];
	size_t len;
};

static void dn_append(void *ctx, const void *p, size_t n)
{
	struct dn_buf *d = ctx;

	if (n <= sizeof(d->buf) - d->len) {
		memcpy(d->buf + d->len, p, n);
		d->len += n;
	}
}

static size_t make_cert(struct cert_self_key *k, const char *host, unsigned char *der, size_t cap)
{
	struct cert_self_req r = { .hostname = host, .not_before = T_2026_01_01, .not_after = T_2026_01_01 + 86400 };

	CHECK(cert_self_serial(&r) == 0);
	return cert_self_build(&r, k, der, cap);
}

/* 0 or BearSSL's X.509 error for the chain [der] anchored in itself, at unix time t. */
static int minimal_check(const unsigned char *der, size_t len, const char *name, long long t)
{
	br_x509_decoder_context dc;
	br_x509_minimal_context xc;
	br_x509_trust_anchor ta;
	struct dn_buf dn = { .len = 0 };

	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	CHECK(br_x509_decoder_last_error(&dc) == 0);
	CHECK(!br_x509_decoder_isCA(&dc));
	CHECK(br_x509_decoder_get_signer_key_type(&dc) == BR_KEYTYPE_EC);
	ta.dn.data = dn.buf;
	ta.dn.len = dn.len;
	ta.flags = 0; /* not a CA: BearSSL trusts the end-entity key directly */
	ta.pkey = *br_x509_decoder_get_pkey(&dc);
	br_x509_minimal_init(&xc, &br_sha256_vtable, &ta, 1);
	br_x509_minimal_set_hash(&xc, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_ecdsa(&xc, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
	br_x509_minimal_set_time(&xc, (uint32_t)(t / 86400 + DAYS_AD_TO_1970), (uint32_t)(t % 86400));
	xc.vtable->start_chain(&xc.vtable, name);
	xc.vtable->start_cert(&xc.vtable, (uint32_t)len);
	xc.vtable->append(&xc.vtable, der, len);
	xc.vtable->end_cert(&xc.vtable);
	return (int)xc.vtable->end_chain(&xc.vtable);
}

TEST(cert_self_bearssl_accepts_it)
{
	static struct cert_self_key k;
	unsigned char der[CERT_SELF_DER_MAX];
	size_t len;

	CHECK(cert_self_keygen(&k) == 0);
	CHECK(k.sk.curve == BR_EC_secp256r1 && k.sk.xlen == 32 && k.pk.qlen == 65);
	len = make_cert(&k, HOST, der, sizeof(der));
	CHECK(len > 300 && len < 600);
	CHECK(minimal_check(der, len, HOST, T_2026_01_01 + 3600) == 0);
	CHECK(minimal_check(der, len, "GW.Example.NET", T_2026_01_01 + 3600) == 0);
	CHECK(minimal_check(der, len, "other.example.net", T_2026_01_01 + 3600) == BR_ERR_X509_BAD_SERVER_NAME);
	CHECK(minimal_check(der, len, HOST, T_2026_01_01 + 2 * 86400LL) == BR_ERR_X509_EXPIRED);
	CHECK(minimal_check(der, len, HOST, T_2026_01_01 - 86400) == BR_ERR_X509_EXPIRED);
	cert_self_key_wipe(&k);
}

TEST(cert_self_key_pem_round_trip)
{
	static struct cert_self_key k;
	char pem[512];
	unsigned char der[256];
	size_t n, len;
	br_pem_decoder_context pc;
	br_skey_decoder_context kc;
	struct dn_buf out = { .len = 0 };

	CHECK(cert_self_keygen(&k) == 0);
	n = cert_self_key_pem(&k, pem, sizeof(pem));
	CHECK(n > 0 && strncmp(pem, "-----BEGIN EC PRIVATE KEY-----\n", 31) == 0);
	CHECK(cert_self_key_pem(&k, pem, n) == 0); /* no room for the NUL */
	br_pem_decoder_init(&pc);
	for (size_t off = 0; off < n;) {
		off += br_pem_decoder_push(&pc, pem + off, n - off);
		if (br_pem_decoder_event(&pc) == BR_PEM_BEGIN_OBJ) {
			CHECK_STR(br_pem_decoder_name(&pc), "EC PRIVATE KEY");
			br_pem_decoder_setdest(&pc, dn_append, &out);
		}
	}
	len = out.len;
	memcpy(der, out.buf, len);
	br_skey_decoder_init(&kc);
	br_skey_decoder_push(&kc, der, len);
	CHECK(br_skey_decoder_last_error(&kc) == 0);
	CHECK(br_skey_decoder_key_type(&kc) == BR_KEYTYPE_EC);
	CHECK(br_skey_decoder_get_ec(&kc)->curve == BR_EC_secp256r1);
	CHECK(br_skey_decoder_get_ec(&kc)->xlen == k.sk.xlen);
	CHECK(memcmp(br_skey_decoder_get_ec(&kc)->x, k.sk.x, k.sk.xlen) == 0);
	cert_self_key_wipe(&k);
	CHECK(k.sk.xlen == 0 && k.priv[0] == 0 && k.priv[31] == 0);
}

TEST(cert_self_refuses_bad_requests_and_short_buffers)
{
	static struct cert_self_key k;
	static const char host64[] = "a123456789012345678901234567890123456789012345678901234567890.bc";
	unsigned char der[CERT_SELF_DER_MAX], small[CERT_SELF_DER_MAX];
	char host65[CERT_SELF_CN_MAX + 2] = "b";
	struct cert_self_req r = { .hostname = HOST, .not_before = T_2026_01_01, .not_after = T_2026_01_01 };
	size_t len;

	CHECK(sizeof(host64) - 1 == CERT_SELF_CN_MAX);
	CHECK(cert_self_keygen(&k) == 0);
	CHECK(cert_self_serial(&r) == 0);
	CHECK((r.serial[0] & 0xc0) == 0x40);
	CHECK(cert_self_build(&r, &k, der, sizeof(der)) == 0); /* not_after == not_before */
	r.not_after = T_2026_01_01 + 86400;
	r.hostname = "";
	CHECK(cert_self_build(&r, &k, der, sizeof(der)) == 0);
	r.hostname = host64;
	CHECK(cert_self_build(&r, &k, der, sizeof(der)) > 0);
	memcpy(host65 + 1, host64, sizeof(host64));
	r.hostname = host65;
	CHECK(strlen(r.hostname) == CERT_SELF_CN_MAX + 1);
	CHECK(cert_self_build(&r, &k, der, sizeof(der)) == 0);
	r.hostname = HOST;
	r.serial[0] |= 0x80;
	CHECK(cert_self_build(&r, &k, der, sizeof(der)) == 0);

	/*
	 * Every capacity short of the certificate is refused without writing past it. An ECDSA
	 * signature's DER length varies by a byte or two with the random nonce, so a capacity a
	 * little under one certificate's length may hold the next one: then it must fit.
	 */
	len = make_cert(&k, host64, der, sizeof(der));
	CHECK(len > 0);
	for (size_t cap = 0; cap < len; cap++) {
		memset(small, 0xA5, sizeof(small));
		size_t got = make_cert(&k, host64, small, cap);

		CHECK(got == 0 || (got <= cap && got + 3 >= len));
		CHECK(small[cap] == 0xA5);
	}
	size_t again = make_cert(&k, host64, small, len + 3); /* room for the longest signature */

	CHECK(again > 0 && again + 3 >= len && again <= len + 3);
	CHECK(cert_self_cert_pem(der, len, (char *)small, 100) == 0);
	cert_self_key_wipe(&k);
}

#endif
