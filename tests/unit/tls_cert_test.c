/*
 * tls_cert_test.c - the leaf walker (tls_cert.c) on certificates built here
 * with the DER writer: the fields it skips hold placeholders (no signature,
 * no real key), since it reads structure only. iPAddress SAN matching with
 * IPv4, IPv6, several names, a critical extension, unique IDs; what must not
 * match (dNSName text, other lengths, no SAN); what must be refused (two
 * SANs, every truncation, junk after an element). Real certificates made by
 * openssl go through it in tls_client_test.c.
 */
#include <string.h>

#include "der.h"
#include "harness.h"
#include "tls_cert.h"

static const unsigned char ip4[] = { 127, 0, 0, 1 };
static const unsigned char ip4b[] = { 127, 0, 0, 2 };
static const unsigned char ip6[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const unsigned char ip6_mapped[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
static const unsigned char oid_san[] = { 0x55, 0x1d, 0x11 };
static const unsigned char oid_bc[] = { 0x55, 0x1d, 0x13 };

/* One GeneralName. */
struct name {
	unsigned char tag; /* 0x82 dNSName, 0x86 URI, 0x87 iPAddress */
	const void *data;
	size_t len;
};

/* One Extension: its OID, critical flag, and (for subjectAltName) the names. */
struct ext {
	const unsigned char *oid;
	int critical;
	const struct name *names;
	size_t nnames;
};

struct shape {
	int v1;              /* no version, no extensions */
	int unique_ids;      /* issuerUniqueID and subjectUniqueID before the extensions */
	int junk_after_exts; /* a stray element inside [3] after the SEQUENCE */
	int junk_in_value;   /* bytes after GeneralNames inside extnValue */
	const struct ext *exts;
	size_t nexts;
};

static size_t spki_off, spki_len; /* where mk_cert put the SubjectPublicKeyInfo */

static void mk_ext(struct der *d, const struct ext *e, const struct shape *sh)
{
	size_t seq = der_begin(d, DER_SEQUENCE), val, names;

	der_tlv(d, DER_OID, e->oid, 3);
	if (e->critical) {
		der_bool(d, 1);
	}
	val = der_begin(d, DER_OCTET_STRING);
	names = der_begin(d, DER_SEQUENCE);
	for (size_t i = 0; i < e->nnames; i++) {
		der_tlv(d, e->names[i].tag, e->names[i].data, e->names[i].len);
	}
	if (e->nnames == 0) {
		der_bool(d, 0); /* basicConstraints-like contents */
	}
	der_end(d, names);
	if (sh->junk_in_value) {
		der_tlv(d, DER_INTEGER, "\x01", 1);
	}
	der_end(d, val);
	der_end(d, seq);
}

static size_t mk_cert(unsigned char *buf, size_t cap, const struct shape *sh)
{
	static const unsigned char oid_ecdsa[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	struct der d;
	size_t cert, tbs, m, ext3, exts, start;

	der_init(&d, buf, cap);
	cert = der_begin(&d, DER_SEQUENCE);
	tbs = der_begin(&d, DER_SEQUENCE);
	if (!sh->v1) {
		m = der_begin(&d, DER_CONTEXT_CONS(0));
		der_uint(&d, (const unsigned char *)"\x02", 1);
		der_end(&d, m);
	}
	der_uint(&d, (const unsigned char *)"\x12\x34", 2);
	m = der_begin(&d, DER_SEQUENCE);
	der_tlv(&d, DER_OID, oid_ecdsa, sizeof(oid_ecdsa));
	der_end(&d, m);
	for (int i = 0; i < 3; i++) { /* issuer, validity, subject */
		m = der_begin(&d, DER_SEQUENCE);
		der_tlv(&d, DER_UTF8_STRING, "x", 1);
		der_end(&d, m);
	}
	start = d.len;
	m = der_begin(&d, DER_SEQUENCE);
	der_bits(&d, "key", 3);
	der_end(&d, m);
	spki_off = start;
	spki_len = d.len - start;
	if (sh->unique_ids) {
		der_tlv(&d, DER_CONTEXT(1), "\x00\x01", 2);
		der_tlv(&d, DER_CONTEXT(2), "\x00\x02", 2);
	}
	if (!sh->v1) {
		ext3 = der_begin(&d, DER_CONTEXT_CONS(3));
		exts = der_begin(&d, DER_SEQUENCE);
		for (size_t i = 0; i < sh->nexts; i++) {
			mk_ext(&d, &sh->exts[i], sh);
		}
		der_end(&d, exts);
		if (sh->junk_after_exts) {
			der_tlv(&d, DER_INTEGER, "\x01", 1);
		}
		der_end(&d, ext3);
	}
	der_end(&d, tbs);
	m = der_begin(&d, DER_SEQUENCE);
	der_tlv(&d, DER_OID, oid_ecdsa, sizeof(oid_ecdsa));
	der_end(&d, m);
	der_bits(&d, "sig", 3);
	der_end(&d, cert);
	return der_ok(&d) ? d.len : 0;
}

static unsigned char cert[4096];

static int has_ip(const struct shape *sh, const unsigned char *ip, size_t ip_len)
{
	size_t len = mk_cert(cert, sizeof(cert), sh);

	return len == 0 ? -2 : tls_cert_has_ip(cert, len, ip, ip_len);
}

static const struct name san_ip4[] = { { 0x87, ip4, 4 } };
static const struct name san_text[] = { { 0x82, "127.0.0.1", 9 }, { 0x82, "::1", 3 } };
static const struct name san_many[] = {
	{ 0x82, "mail.example.test", 17 }, { 0x86, "https://x.test/", 15 }, { 0x87, ip4b, 4 }, { 0x87, ip6, 16 }
};
static const struct name san_masked[] = { { 0x87, "\x7f\x00\x00\x01\xff\xff\xff\xff", 8 } };
static const struct name san_mapped[] = { { 0x87, ip6_mapped, 16 } };

TEST(tls_cert_ip_san_matches_only_that_address)
{
	struct ext e = { oid_san, 0, san_ip4, 1 };
	struct shape sh = { .exts = &e, .nexts = 1 };

	CHECK(has_ip(&sh, ip4, 4) == 1);
	CHECK(has_ip(&sh, ip4b, 4) == 0);
	CHECK(has_ip(&sh, ip6, 16) == 0);
	CHECK(has_ip(&sh, ip6_mapped, 16) == 0); /* ::ffff:127.0.0.1 is another address family */
	e.critical = 1;                          /* a critical SAN (empty subject) reads the same */
	CHECK(has_ip(&sh, ip4, 4) == 1);
	sh.unique_ids = 1;
	CHECK(has_ip(&sh, ip4, 4) == 1);
}

TEST(tls_cert_ip_san_among_other_names)
{
	struct ext e[] = { { oid_bc, 1, NULL, 0 }, { oid_san, 0, san_many, 4 } };
	struct shape sh = { .exts = e, .nexts = 2 };

	CHECK(has_ip(&sh, ip6, 16) == 1);
	CHECK(has_ip(&sh, ip4b, 4) == 1);
	CHECK(has_ip(&sh, ip4, 4) == 0);
	e[1].names = san_mapped;
	e[1].nnames = 1;
	CHECK(has_ip(&sh, ip6_mapped, 16) == 1);
	CHECK(has_ip(&sh, ip4, 4) == 0);
}

TEST(tls_cert_no_ip_san_is_no_match)
{
	struct ext e = { oid_san, 0, san_text, 2 };
	struct ext bc = { oid_bc, 1, NULL, 0 };
	struct shape sh = { .exts = &e, .nexts = 1 };

	CHECK(has_ip(&sh, ip4, 4) == 0); /* dNSName "127.0.0.1" is text, not the address */
	CHECK(has_ip(&sh, ip6, 16) == 0);
	e.names = san_masked; /* address and mask (a name constraint's form) */
	e.nnames = 1;
	CHECK(has_ip(&sh, ip4, 4) == 0);
	sh.exts = &bc; /* extensions, but no SAN */
	CHECK(has_ip(&sh, ip4, 4) == 0);
	sh.nexts = 0; /* an empty extension list */
	CHECK(has_ip(&sh, ip4, 4) == 0);
	sh = (struct shape){ .v1 = 1 }; /* no extensions at all */
	CHECK(has_ip(&sh, ip4, 4) == 0);
	CHECK(has_ip(&sh, ip4, 0) == 0);
}

TEST(tls_cert_malformed_is_refused)
{
	struct ext two[] = { { oid_san, 0, san_many, 4 }, { oid_san, 0, san_ip4, 1 } };
	struct ext one = { oid_san, 0, san_ip4, 1 };
	struct shape sh = { .exts = two, .nexts = 2 };
	size_t len;
	int bad = 0;
	unsigned char saved;

	CHECK(has_ip(&sh, ip4, 4) == -1); /* two SANs: which one is meant? */
	sh = (struct shape){ .exts = &one, .nexts = 1, .junk_after_exts = 1 };
	CHECK(has_ip(&sh, ip4, 4) == -1);
	sh = (struct shape){ .exts = &one, .nexts = 1, .junk_in_value = 1 };
	CHECK(has_ip(&sh, ip4, 4) == -1);
	sh = (struct shape){ .exts = &one, .nexts = 1 };
	len = mk_cert(cert, sizeof(cert), &sh);
	CHECK(len > 0 && tls_cert_has_ip(cert, len, ip4, 4) == 1);
	for (size_t cut = 0; cut < len; cut++) {
		bad += tls_cert_has_ip(cert, cut, ip4, 4) != -1;
	}
	CHECK(bad == 0);
	/* an indefinite length, and a high tag number, anywhere in the walk */
	saved = cert[1];
	cert[1] = 0x80;
	CHECK(tls_cert_has_ip(cert, len, ip4, 4) == -1);
	cert[1] = saved;
	cert[0] = 0x1f;
	CHECK(tls_cert_has_ip(cert, len, ip4, 4) == -1);
}

/* Fuzzing found it: the walk stopped at a match, so junk after the matching entry passed. */
TEST(tls_cert_malformed_entry_after_a_match_is_refused)
{
	static const struct name names[] = { { 0x87, ip4, 4 }, { 0x1f, "x", 1 } };
	struct ext e = { oid_san, 0, names, 2 };
	struct shape sh = { .exts = &e, .nexts = 1 };

	CHECK(has_ip(&sh, ip4, 4) == -1);
	CHECK(has_ip(&sh, ip6, 16) == -1);
}

/*
 * DER only: a length in a longer form than it needs is BER, which BearSSL's
 * decoder takes and the walker refuses (the tls_cert fuzz target found the
 * difference); the pin and the IP check then fail closed.
 */
TEST(tls_cert_non_minimal_length_is_refused)
{
	static const unsigned char ber[] = { 0x30, 0x81, 0x03, 0x30, 0x81, 0x00 };
	size_t off, len;

	CHECK(tls_cert_spki(ber, sizeof(ber), &off, &len) == -1);
	CHECK(tls_cert_has_ip(ber, sizeof(ber), ip4, 4) == -1);
}

TEST(tls_cert_spki_found)
{
	struct ext one = { oid_san, 0, san_ip4, 1 };
	struct shape sh = { .exts = &one, .nexts = 1 };
	size_t len = mk_cert(cert, sizeof(cert), &sh), off = 0, n = 0;

	CHECK(len > 0 && tls_cert_spki(cert, len, &off, &n) == 0);
	CHECK(off == spki_off && n == spki_len);
	sh.v1 = 1;
	len = mk_cert(cert, sizeof(cert), &sh);
	CHECK(len > 0 && tls_cert_spki(cert, len, &off, &n) == 0);
	CHECK(off == spki_off && n == spki_len);
	CHECK(tls_cert_spki(cert, spki_off + 1, &off, &n) == -1);
}
