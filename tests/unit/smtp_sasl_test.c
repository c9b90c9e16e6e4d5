/*
 * smtp_sasl_test.c - the OAuth2 SASL messages against the published
 * examples (Google's XOAUTH2 page, RFC 7628 section 4.1), the saslname
 * escapes, unfit arguments and exact buffer sizes; the error challenge's
 * JSON (Google's and RFC 7628's), the bounded extractor on damaged and
 * nested input. Table-driven.
 */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "config.h"
#include "harness.h"

#if CONFIG_RELAY_OAUTH /* the OAuth2 login is built only then (Makefile) */
#include "smtp_sasl.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Google's example (developers.google.com/gmail/imap/xoauth2-protocol) */
#define SST_GOOGLE_B64                                                                     \
	"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNS" \
	"bGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
/* RFC 7628 4.1 */
#define SST_RFC7628_B64                                                                    \
	"bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9" \
	"QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"

TEST(sasl_xoauth2_google_example)
{
	char msg[256], b64[BASE64_ENCODED_SIZE(256)];
	long n = smtp_sasl_xoauth2(msg, sizeof(msg), "someuser@example.com",
				   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");

	CHECK(n > 0);
	CHECK(n > 0 && base64_encode(msg, (size_t)n, b64, sizeof(b64)) > 0);
	CHECK_STR(b64, SST_GOOGLE_B64);
}

TEST(sasl_oauthbearer_rfc7628_example)
{
	char msg[256], b64[BASE64_ENCODED_SIZE(256)];
	long n = smtp_sasl_oauthbearer(msg, sizeof(msg), "user@example.com", "server.example.com", 143,
				       "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");

	CHECK(n > 0);
	CHECK(n > 0 && base64_encode(msg, (size_t)n, b64, sizeof(b64)) > 0);
	CHECK_STR(b64, SST_RFC7628_B64);
}

TEST(sasl_oauthbearer_saslname)
{
	static const char want[] = "n,a=a=3Db=2Cc@x,\001host=h\001port=587\001auth=Bearer t\001\001";
	char msg[128];
	long n = smtp_sasl_oauthbearer(msg, sizeof(msg), "a=b,c@x", "h", 587, "t");

	CHECK(n == (long)sizeof(want) - 1);
	CHECK(n > 0 && memcmp(msg, want, sizeof(want) - 1) == 0);
}

/* Exact sizes: the message fits in its own length and not one byte less; nothing is written past cap. */
TEST(sasl_exact_sizes)
{
	char msg[64];
	long x = smtp_sasl_xoauth2(msg, sizeof(msg), "u", "tok");
	long o = smtp_sasl_oauthbearer(msg, sizeof(msg), "u", "h", 25, "tok");

	CHECK(x == (long)strlen("user=u\001auth=Bearer tok\001\001"));
	CHECK(o == (long)strlen("n,a=u,\001host=h\001port=25\001auth=Bearer tok\001\001"));
	memset(msg, 'Z', sizeof(msg));
	CHECK(smtp_sasl_xoauth2(msg, (size_t)x, "u", "tok") == x);
	memset(msg, 'Z', sizeof(msg));
	CHECK(smtp_sasl_xoauth2(msg, (size_t)x - 1, "u", "tok") == SMTP_SASL_TOO_LONG);
	CHECK(msg[x - 1] == 'Z');
	CHECK(smtp_sasl_oauthbearer(msg, (size_t)o, "u", "h", 25, "tok") == o);
	CHECK(smtp_sasl_oauthbearer(msg, (size_t)o - 1, "u", "h", 25, "tok") == SMTP_SASL_TOO_LONG);
	CHECK(smtp_sasl_xoauth2(msg, 0, "u", "tok") == SMTP_SASL_TOO_LONG);
	CHECK(smtp_sasl_xoauth2(msg, 0, "u", "t t") == SMTP_SASL_UNFIT);
	CHECK(SMTP_SASL_MESSAGE_MAX == 9213);
	CHECK(BASE64_ENCODED_SIZE(SMTP_SASL_MESSAGE_MAX) - 1 + 2 <= SMTP_SASL_LINE_MAX);
	CHECK(BASE64_ENCODED_SIZE(SMTP_SASL_MESSAGE_MAX + 1) - 1 + 2 > SMTP_SASL_LINE_MAX);
}

struct sst_arg {
	const char *user, *host, *token;
	unsigned port;
	int ok;
};

static const struct sst_arg sst_args[] = {
	{ "u@x", "h", "abc-._~+/XYZ09==", 587, 1 },
	{ "Ünïcode@x", "h", "t", 587, 1 },
	{ "", "h", "t", 587, 0 },
	{ "u\001", "h", "t", 587, 0 },
	{ "u\r\nQUIT", "h", "t", 587, 0 },
	{ "u", "h", "", 587, 0 },
	{ "u", "h", "=", 587, 0 },
	{ "u", "h", "t=x", 587, 0 },
	{ "u", "h", "t\001auth=Bearer x", 587, 0 },
	{ "u", "h", "t t", 587, 0 },
	{ "u", "h", "t\r\n", 587, 0 },
	{ "u", "", "t", 587, 1 }, /* xoauth2 has no host */
	{ "u", "h h", "t", 587, 1 },
	{ "u", "h", "t", 0, 1 },
};

TEST(sasl_unfit_arguments)
{
	char msg[128];

	for (size_t i = 0; i < NELEM(sst_args); i++) {
		const struct sst_arg *a = &sst_args[i];
		int bearer_ok = a->ok && a->host[0] != '\0' && strchr(a->host, ' ') == NULL && a->port != 0;

		if ((smtp_sasl_xoauth2(msg, sizeof(msg), a->user, a->token) >= 0) != a->ok) {
			printf("  case %zu (xoauth2)\n", i);
			CHECK(0);
		}
		if ((smtp_sasl_oauthbearer(msg, sizeof(msg), a->user, a->host, a->port, a->token) >= 0) != bearer_ok) {
			printf("  case %zu (oauthbearer)\n", i);
			CHECK(0);
		}
	}
	CHECK(smtp_sasl_oauthbearer(msg, sizeof(msg), "u", "h", 65536, "t") == SMTP_SASL_UNFIT);
	CHECK_STR(smtp_sasl_failure_ack(SMTP_SASL_XOAUTH2), "");
	CHECK_STR(smtp_sasl_failure_ack(SMTP_SASL_OAUTHBEARER), "AQ==");
	CHECK_STR(smtp_sasl_mech_name(SMTP_SASL_OAUTHBEARER), "OAUTHBEARER");
}

struct sst_json {
	const char *json;
	const char *key;
	int rc;
	const char *value;
};

static const struct sst_json sst_json[] = {
	{ "{\"status\":\"401\",\"schemes\":\"Bearer\"}", "status", 1, "401" },
	{ "{\"status\":\"401\",\"schemes\":\"Bearer\"}", "schemes", 1, "Bearer" },
	{ "{\"status\":\"401\"}", "scope", 0, "" },
	{ "  { \"a\" : [1, {\"status\": \"x\"}], \"status\" : 400 }  ", "status", 1, "400" },
	{ "{\"a\":{\"status\":\"nested\"},\"status\":\"top\"}", "status", 1, "top" },
	{ "{\"a\":{\"status\":\"nested\"}}", "status", 0, "" },
	{ "{\"status\":\"first\",\"status\":\"second\"}", "status", 1, "first" },
	{ "{\"status\":{\"x\":1}}", "status", 0, "" },
	{ "{\"status\":\"a\\\"b\\\\c\\/d\\n\\u00e9\"}", "status", 1, "a\"b\\c/d??" },
	{ "{\"st\\u0061tus\":\"escaped key\"}", "status", 0, "" },
	{ "{\"status\":\"\xc3\xa9\"}", "status", 1, "??" },
	{ "{\"status\":true}", "status", 1, "true" },
	{ "{}", "status", 0, "" },
	{ "[]", "status", -1, "" },
	{ "", "status", -1, "" },
	{ "{", "status", -1, "" },
	{ "{\"status\":\"401\"", "status", -1, "401" },
	{ "{\"status\":\"40", "status", -1, "" },
	{ "{\"status\" \"401\"}", "status", -1, "" },
	{ "{\"status\":}", "status", -1, "" },
	{ "{\"status\":\"a\nb\"}", "status", -1, "" },
	{ "{\"status\":\"\\x\"}", "status", -1, "" },
	{ "{\"status\":\"\\u12\"}", "status", -1, "" },
	{ "{\"a\":1,}", "status", -1, "" },
	{ "{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", "status", -1, "" },
	{ "{\"a\":[[[[[[[[[[[[[[1]]]]]]]]]]]]]],\"status\":\"ok\"}", "status", 1, "ok" },
};

TEST(sasl_json_string)
{
	for (size_t i = 0; i < NELEM(sst_json); i++) {
		const struct sst_json *t = &sst_json[i];
		char out[32];
		int rc = smtp_sasl_json_string(t->json, strlen(t->json), t->key, out, sizeof(out));

		if (rc != t->rc || (rc == 1 && strcmp(out, t->value) != 0)) {
			printf("  case %zu: rc %d, \"%s\"\n", i, rc, out);
			CHECK(0);
		}
	}
}

TEST(sasl_json_bounds)
{
	static const char json[] = "{\"scope\":\"0123456789abcdef\"}";
	char out[8];

	memset(out, 'Z', sizeof(out));
	CHECK(smtp_sasl_json_string(json, sizeof(json) - 1, "scope", out, sizeof(out)) == 1);
	CHECK_STR(out, "0123456");
	/* the length bounds the scan: the closing brace beyond it is not seen */
	CHECK(smtp_sasl_json_string(json, sizeof(json) - 2, "scope", out, sizeof(out)) == -1);
	/* a NUL inside is damage, not an end */
	CHECK(smtp_sasl_json_string("{\"a\":1\0}", 8, "scope", out, sizeof(out)) == -1);
}

TEST(sasl_challenge)
{
	/* Gmail's XOAUTH2 error challenge */
	static const char google[] =
	    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";
	/* RFC 7628 3.2.2's example */
	static const char rfc[] =
	    "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3"
	    "VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0= ";
	struct smtp_sasl_error e;

	CHECK(smtp_sasl_challenge(google, strlen(google), &e) == 0);
	CHECK_STR(e.status, "401");
	CHECK_STR(e.schemes, "Bearer");
	CHECK_STR(e.scope, "https://mail.google.com/");
	CHECK(smtp_sasl_challenge(rfc, strlen(rfc), &e) == 0);
	CHECK_STR(e.status, "invalid_token");
	CHECK_STR(e.schemes, "");
	CHECK_STR(e.scope, "example_scope");
	CHECK(smtp_sasl_challenge("", 0, &e) == -1);
	CHECK(smtp_sasl_challenge("not base64!", 11, &e) == -1);
	CHECK(smtp_sasl_challenge("eyJzdGF0dXMiOiI0MDEi", 20, &e) == -1); /* {"status":"401" (cut) */
	CHECK_STR(e.status, "401");
	CHECK(smtp_sasl_challenge("W10=", 4, &e) == -1); /* [] */
}
#endif
