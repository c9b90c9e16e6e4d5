/*
 * crypto_test.c - PBKDF2-HMAC-SHA256 (RFC 7914 section 11 vectors) and the
 * SCRAM-SHA-256 exchange of RFC 7677 section 3, plus its failure cases.
 */
#include <string.h>

#include "base64.h"
#include "harness.h"
#include "pbkdf2.h"
#include "scram.h"

static void hex_to_bytes(const char *hex, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + (size_t)k];
			v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		out[i] = (unsigned char)v;
	}
}

TEST(pbkdf2_rfc7914_passwd_salt_1)
{
	unsigned char dk[64], want[64];

	hex_to_bytes("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
		     "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
		     want, sizeof(want));
	pbkdf2_sha256("passwd", 6, "salt", 4, 1, dk, sizeof(dk));
	CHECK_BYTES(dk, want, sizeof(dk));
}

TEST(pbkdf2_rfc7914_password_nacl_80000)
{
	unsigned char dk[64], want[64];

	hex_to_bytes("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
		     "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
		     want, sizeof(want));
	pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, dk, sizeof(dk));
	CHECK_BYTES(dk, want, sizeof(dk));
}

TEST(pbkdf2_short_output_is_prefix)
{
	unsigned char full[64], part[20];

	pbkdf2_sha256("passwd", 6, "salt", 4, 1, full, sizeof(full));
	pbkdf2_sha256("passwd", 6, "salt", 4, 1, part, sizeof(part));
	CHECK_BYTES(part, full, sizeof(part));
}

#define RFC_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE       "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_NONCE        "rOprNGfwEbeRWgbNEkqO" RFC_SNONCE
#define RFC_SERVER_FIRST "r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL "c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void rfc_credential(struct scram_credential *cred)
{
	unsigned char salt[16];

	CHECK(base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt)) == 16);
	scram_derive("pencil", 6, salt, sizeof(salt), 4096, cred);
}

static struct scram_server rfc_server;

TEST(scram_rfc7677_exchange)
{
	struct scram_credential cred;
	char out[SCRAM_MSG_MAX];
	struct scram_server *s = &rfc_server;

	rfc_credential(&cred);
	CHECK(scram_server_client_first(s, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST)) == 0);
	CHECK_STR(s->username, "user");
	CHECK(scram_server_first(s, &cred, RFC_SNONCE, out, sizeof(out)) == (long)strlen(RFC_SERVER_FIRST));
	CHECK_STR(out, RFC_SERVER_FIRST);
	CHECK(scram_server_client_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof(out)) > 0);
	CHECK_STR(out, RFC_SERVER_FINAL);
}

TEST(scram_wrong_proof_is_refused)
{
	struct scram_credential cred;
	char out[SCRAM_MSG_MAX];
	char final[] = RFC_CLIENT_FINAL;
	struct scram_server *s = &rfc_server;

	rfc_credential(&cred);
	final[strlen(final) - 5] ^= 1; /* flip a bit in the proof */
	CHECK(scram_server_client_first(s, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST)) == 0);
	CHECK(scram_server_first(s, &cred, RFC_SNONCE, out, sizeof(out)) > 0);
	CHECK(scram_server_client_final(s, final, strlen(final), out, sizeof(out)) == 0);
}

TEST(scram_wrong_password_is_refused)
{
	struct scram_credential cred;
	unsigned char salt[16] = { 0 };
	char out[SCRAM_MSG_MAX];
	struct scram_server *s = &rfc_server;

	CHECK(base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt)) == 16);
	scram_derive("pencils", 7, salt, sizeof(salt), 4096, &cred);
	CHECK(scram_server_client_first(s, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST)) == 0);
	CHECK(scram_server_first(s, &cred, RFC_SNONCE, out, sizeof(out)) > 0);
	CHECK(scram_server_client_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof(out)) == 0);
}

TEST(scram_malformed_messages)
{
	struct scram_credential cred;
	char out[SCRAM_MSG_MAX];
	struct scram_server *s = &rfc_server;
	static const char *const bad_first[] = {
		"p=tls-unique,,n=user,r=abc", /* channel binding */
		"n,a=admin,n=user,r=abc",     /* authzid */
		"n,,n=,r=abc",                /* empty name */
		"n,,n=us=er,r=abc",           /* bad escape */
		"n,,n=user",                  /* no nonce */
		"n,,n=user,r=",               /* empty nonce */
		"n,,m=ext,n=user,r=abc",      /* reserved extension */
		"",
	};

	for (size_t i = 0; i < sizeof(bad_first) / sizeof(bad_first[0]); i++) {
		CHECK(scram_server_client_first(s, bad_first[i], strlen(bad_first[i])) < 0);
	}
	rfc_credential(&cred);
	CHECK(scram_server_client_first(s, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST)) == 0);
	CHECK(scram_server_first(s, &cred, RFC_SNONCE, out, sizeof(out)) > 0);
	/* nonce not echoed in full */
	static const char wrong_nonce[] =
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	CHECK(scram_server_client_final(s, wrong_nonce, strlen(wrong_nonce), out, sizeof(out)) < 0);
}

TEST(scram_escaped_username)
{
	struct scram_server *s = &rfc_server;
	static const char msg[] = "n,,n=a=2Cb=3Dc,r=xyz";

	CHECK(scram_server_client_first(s, msg, strlen(msg)) == 0);
	CHECK_STR(s->username, "a,b=c");
}

TEST(scram_client_proof_matches_rfc)
{
	static const char auth[] = "n=user,r=rOprNGfwEbeRWgbNEkqO," RFC_SERVER_FIRST ",c=biws,r=" RFC_NONCE;
	unsigned char salt[16], proof[SCRAM_KEY_LEN];
	char b64[BASE64_ENCODED_SIZE(SCRAM_KEY_LEN)];

	CHECK(base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt)) == 16);
	scram_client_proof("pencil", 6, salt, sizeof(salt), 4096, auth, strlen(auth), proof);
	base64_encode(proof, sizeof(proof), b64, sizeof(b64));
	CHECK_STR(b64, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
}

TEST(scram_plaintext_password_check)
{
	struct scram_credential cred;

	rfc_credential(&cred);
	CHECK(scram_check_password(&cred, "pencil", 6) == 1);
	CHECK(scram_check_password(&cred, "pencil ", 7) == 0);
	CHECK(scram_check_password(&cred, "", 0) == 0);
}
