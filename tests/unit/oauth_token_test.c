/*
 * oauth_token_test.c - token and device authorization replies as Microsoft
 * and Google send them (successes, rotation, error replies with their extra
 * members), strings with every escape, surrogate pairs and UTF-8, and every
 * refusal: not JSON, not an object, lax JSON jsmn alone would take,
 * duplicate keys, wrong types, numbers out of range, fields too long or with
 * bytes they may not hold, missing members, a token type other than Bearer.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "harness.h"

#if CONFIG_RELAY_OAUTH
#include "oauth_token.h"

#define OTT_MS_AT \
	"eyJ0eXAiOiJKV1QiLCJub25jZSI6IkFRQUJBQUFBQUFE.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2ln-_bmF0"
#define OTT_MS_RT "0.AXoAPq3hXGJDXkSP_rt7S0QOx2VRxq8E4R9JrsMEbRQwbxR6AHk.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P-0iQ"

struct ott_case {
	const char *json;
	int result;
	const char *access; /* when OK */
	const char *refresh;
	const char *scope;
	long expires_in;
	const char *error; /* when ERROR_REPLY */
	const char *description;
};

static const struct ott_case ott_cases[] = {
	/* Microsoft identity platform v2.0, delegated SMTP.Send with offline_access */
	{ "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/SMTP.Send\",\"expires_in\":3599,"
	  "\"ext_expires_in\":3599,\"access_token\":\"" OTT_MS_AT "\",\"refresh_token\":\"" OTT_MS_RT "\"}",
	  OAUTH_TOKEN_OK, OTT_MS_AT, OTT_MS_RT, "https://outlook.office.com/SMTP.Send", 3599, NULL, NULL },
	/* a personal account's rotated refresh token, with ! * $ in it */
	{ "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/SMTP.Send\",\"expires_in\":3600,"
	  "\"access_token\":\"EwBIBMl6BAAUDmE+/tZ8=\",\"refresh_token\":\"M.C522_BAY.0.U.-CkCLm6!qA*Dr8a9MZ$\"}",
	  OAUTH_TOKEN_OK, "EwBIBMl6BAAUDmE+/tZ8=", "M.C522_BAY.0.U.-CkCLm6!qA*Dr8a9MZ$",
	  "https://outlook.office.com/SMTP.Send", 3600, NULL, NULL },
	/* client credentials: no refresh token */
	{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"eyJ0.eyJh.c2ln\"}",
	  OAUTH_TOKEN_OK, "eyJ0.eyJh.c2ln", "", "", 3599, NULL, NULL },
	/* Google, pretty-printed */
	{ "{\n  \"access_token\": \"ya29.a0AfB_byC-kq1\",\n  \"expires_in\": 3599,\n  \"refresh_token\": "
	  "\"1//0gLwXyz-abc\",\n"
	  "  \"scope\": \"https://mail.google.com/\",\n  \"token_type\": \"Bearer\"\n}\n",
	  OAUTH_TOKEN_OK, "ya29.a0AfB_byC-kq1", "1//0gLwXyz-abc", "https://mail.google.com/", 3599, NULL, NULL },
	/* no expires_in; bearer in lower case; escapes that decode to plain ASCII; expires_in as a string (v1) */
	{ "{\"access_token\":\"a\\/b\\u0041\",\"token_type\":\"bearer\"}", OAUTH_TOKEN_OK, "a/bA", "", "", -1, NULL,
	  NULL },
	{ "{\"access_token\":\"x\",\"token_type\":\"BEARER\",\"expires_in\":\"3599\",\"n\":null,\"t\":true,\"f\":["
	  "false,"
	  "-1.5e+3,0,{\"o\":{}}]}",
	  OAUTH_TOKEN_OK, "x", "", "", 3599, NULL, NULL },
	/* error replies */
	{ "{\"error\":\"authorization_pending\",\"error_description\":\"AADSTS70016: OAuth 2.0 device flow error. "
	  "Authorization is pending. Continue polling.\\r\\nTrace ID: 0a1b2c3d\\r\\nTimestamp: 2026-12-08 01:00:00Z\","
	  "\"error_codes\":[70016],\"timestamp\":\"2026-12-08 01:00:00Z\",\"trace_id\":\"0a1b2c3d\","
	  "\"correlation_id\":\"11111111-2222\",\"error_uri\":\"https://login.microsoftonline.com/error?code=70016\"}",
	  OAUTH_TOKEN_ERROR_REPLY, NULL, NULL, NULL, 0, "authorization_pending",
	  "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.  Trace ID: 0a1b2c3d  "
	  "Timestamp: 2026-12-08 01:00:00Z" },
	{ "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70000: The provided grant has expired due to it "
	  "being "
	  "revoked.\",\"error_codes\":[70000],\"suberror\":\"bad_token\"}",
	  OAUTH_TOKEN_ERROR_REPLY, NULL, NULL, NULL, 0, "invalid_grant",
	  "AADSTS70000: The provided grant has expired due to it being revoked." },
	{ "{\n  \"error\": \"invalid_grant\",\n  \"error_description\": \"Token has been expired or revoked.\"\n}",
	  OAUTH_TOKEN_ERROR_REPLY, NULL, NULL, NULL, 0, "invalid_grant", "Token has been expired or revoked." },
	{ "{\"error\":\"invalid_client\",\"access_token\":\"leak\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_ERROR_REPLY,
	  NULL, NULL, NULL, 0, "invalid_client", "" },
	{ "{\"error\":\"x\",\"error_description\":\"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9\\u0007\"}",
	  OAUTH_TOKEN_ERROR_REPLY, NULL, NULL, NULL, 0, "x", "caf\xc3\xa9 \xf0\x9f\x98\x80 \xc3\xa9 " },
	/* not JSON, or not an object */
	{ "", OAUTH_TOKEN_EJSON },
	{ "[]", OAUTH_TOKEN_EJSON },
	{ "\"s\"", OAUTH_TOKEN_EJSON },
	{ "{", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\"} x", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}{}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\" \"token_type\":\"Bearer\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\" \"a\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\"::\"a\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_EJSON },
	{ "{access_token:\"a\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":[1,,2]}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":[1 2]}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":tru}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":01}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":1.}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":-}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":1e}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"a\tb\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\\x41\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\\ud800\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\\ud800\\u0041\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\\udc00\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\\u0000\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\\u12G4\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xc3\x28\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xc0\xaf\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xe0\x80\xaf\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xf0\x8f\xbf\xbf\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xed\xa0\x80\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":\"\xf4\x90\x80\x80\"}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":[[[[[[[[[1]]]]]]]]]}", OAUTH_TOKEN_EJSON },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":[[[[[[[1]]]]]]]}", OAUTH_TOKEN_OK, "a", "", "", -1 },
	/* duplicates */
	{ "{\"access_token\":\"a\",\"access_token\":\"b\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_EDUP },
	{ "{\"access_token\":\"a\",\"\\u0061ccess_token\":\"b\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_EDUP },
	{ "{\"x\":1,\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":2}", OAUTH_TOKEN_EDUP },
	{ "{\"error\":\"a\",\"error\":\"b\"}", OAUTH_TOKEN_EDUP },
	/* types and ranges */
	{ "{\"access_token\":1,\"token_type\":\"Bearer\"}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":-1}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1.5}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1e3}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":true}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":\"60s\"}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":315360001}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":99999999999999999999999}",
	  OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"scope\":[\"a\"]}", OAUTH_TOKEN_ETYPE },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":315360000}", OAUTH_TOKEN_OK, "a", "", "",
	  315360000 },
	/* bytes */
	{ "{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_ECHARS },
	{ "{\"access_token\":\"a\\u0001\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_ECHARS },
	{ "{\"access_token\":\"\\u00e9\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_ECHARS },
	{ "{\"access_token\":\"\",\"token_type\":\"Bearer\"}", OAUTH_TOKEN_ECHARS },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"scope\":\"a\\nb\"}", OAUTH_TOKEN_ECHARS },
	{ "{\"error\":\"a\\\"b\"}", OAUTH_TOKEN_ECHARS },
	{ "{\"error\":\"\"}", OAUTH_TOKEN_ECHARS },
	/* missing, type */
	{ "{\"access_token\":\"a\"}", OAUTH_TOKEN_EMISSING },
	{ "{\"token_type\":\"Bearer\",\"expires_in\":5}", OAUTH_TOKEN_EMISSING },
	{ "{}", OAUTH_TOKEN_EMISSING },
	{ "{\"access_token\":\"a\",\"token_type\":\"mac\"}", OAUTH_TOKEN_EBEARER },
	{ "{\"access_token\":\"a\",\"token_type\":\"Bearer2\"}", OAUTH_TOKEN_EBEARER },
};

static void ott_check(const struct ott_case *c)
{
	struct oauth_token t;
	int res = oauth_token_parse(c->json, strlen(c->json), &t);

	CHECK(res == c->result);
	if (res != c->result) {
		fprintf(stderr, "oauth_token_test: %d (%s) for %s\n", res, oauth_token_strerror(res), c->json);
		return;
	}
	if (res == OAUTH_TOKEN_OK) {
		CHECK_STR(t.access_token, c->access);
		CHECK_STR(t.refresh_token, c->refresh);
		CHECK_STR(t.scope, c->scope);
		CHECK(t.expires_in == c->expires_in);
		CHECK(t.err.error[0] == '\0');
	} else {
		/* a failed parse leaves no token behind */
		CHECK(t.access_token[0] == '\0' && t.refresh_token[0] == '\0');
	}
	if (res == OAUTH_TOKEN_ERROR_REPLY) {
		CHECK_STR(t.err.error, c->error);
		CHECK_STR(t.err.description, c->description);
	}
	oauth_token_wipe(&t);
}

TEST(oauth_token_table)
{
	for (size_t i = 0; i < sizeof(ott_cases) / sizeof(ott_cases[0]); i++) {
		ott_check(&ott_cases[i]);
	}
}

/* Field limits: a token of exactly CONFIG_OAUTH_TOKEN_MAX bytes fits, one more does not. */
TEST(oauth_token_limits)
{
	static char json[CONFIG_OAUTH_TOKEN_MAX + 128];
	static struct oauth_token t;

	for (int extra = 0; extra <= 1; extra++) {
		int n = snprintf(json, sizeof(json), "{\"token_type\":\"Bearer\",\"access_token\":\"");
		memset(json + n, 'A', CONFIG_OAUTH_TOKEN_MAX + (size_t)extra);
		n += CONFIG_OAUTH_TOKEN_MAX + extra;
		n += snprintf(json + n, sizeof(json) - (size_t)n, "\"}");
		CHECK(oauth_token_parse(json, (size_t)n, &t) == (extra ? OAUTH_TOKEN_ELONG : OAUTH_TOKEN_OK));
		CHECK(extra || strlen(t.access_token) == CONFIG_OAUTH_TOKEN_MAX);
	}
	/* a multi-byte character that would straddle the end of error_description's room */
	int n = snprintf(json, sizeof(json), "{\"error\":\"e\",\"error_description\":\"");
	memset(json + n, 'd', OAUTH_TOKEN_DESC_MAX - 1);
	n += OAUTH_TOKEN_DESC_MAX - 1;
	n += snprintf(json + n, sizeof(json) - (size_t)n, "\\u00e9\"}");
	CHECK(oauth_token_parse(json, (size_t)n, &t) == OAUTH_TOKEN_ELONG);
	/* more members than jsmn has tokens for */
	n = snprintf(json, sizeof(json), "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"x\":[");
	for (int k = 0; k < OAUTH_TOKEN_JSON_TOKENS; k++) {
		n += snprintf(json + n, sizeof(json) - (size_t)n, "%s1", k ? "," : "");
	}
	n += snprintf(json + n, sizeof(json) - (size_t)n, "]}");
	CHECK(oauth_token_parse(json, (size_t)n, &t) == OAUTH_TOKEN_EJSON);
	oauth_token_wipe(&t);
}

struct ott_dev_case {
	const char *json;
	int result;
	const char *device_code, *user_code, *uri, *uri_complete;
	long expires_in, interval;
};

static const struct ott_dev_case ott_dev_cases[] = {
	{ "{\"user_code\":\"FKQ4DGLRX\",\"device_code\":\"DAQABAAEAAAD--DLA3VO7QrddgJg7WevrFLr\",\"verification_uri\":"
	  "\"https://microsoft.com/devicelogin\",\"expires_in\":900,\"interval\":5,\"message\":\"To sign in, use a web "
	  "browser to open the page https://microsoft.com/devicelogin and enter the code FKQ4DGLRX to authenticate.\"}",
	  OAUTH_TOKEN_OK, "DAQABAAEAAAD--DLA3VO7QrddgJg7WevrFLr", "FKQ4DGLRX", "https://microsoft.com/devicelogin", "",
	  900, 5 },
	{ "{\n  \"device_code\": \"AH-1Ng3zQ\",\n  \"user_code\": \"GQVQ-JKEC\",\n  \"expires_in\": 1800,\n  "
	  "\"interval\": 5,\n"
	  "  \"verification_url\": \"https://www.google.com/device\"\n}",
	  OAUTH_TOKEN_OK, "AH-1Ng3zQ", "GQVQ-JKEC", "https://www.google.com/device", "", 1800, 5 },
	{ "{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"https://x/"
	  "d\",\"verification_uri_complete\":"
	  "\"https://x/d?user_code=U\",\"expires_in\":600}",
	  OAUTH_TOKEN_OK, "d", "U", "https://x/d", "https://x/d?user_code=U", 600, 5 },
	{ "{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"u\",\"verification_url\":\"u\",\"expires_"
	  "in\":1}",
	  OAUTH_TOKEN_EDUP },
	{ "{\"device_code\":\"d\",\"user_code\":\"U\",\"expires_in\":1}", OAUTH_TOKEN_EMISSING },
	{ "{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"u\"}", OAUTH_TOKEN_EMISSING },
	{ "{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"u\",\"expires_in\":1,\"interval\":3601}",
	  OAUTH_TOKEN_ETYPE },
	{ "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000218: The request body must contain ...\"}",
	  OAUTH_TOKEN_ERROR_REPLY },
};

TEST(oauth_token_device_table)
{
	for (size_t i = 0; i < sizeof(ott_dev_cases) / sizeof(ott_dev_cases[0]); i++) {
		const struct ott_dev_case *c = &ott_dev_cases[i];
		struct oauth_token_device d;
		int res = oauth_token_parse_device(c->json, strlen(c->json), &d);

		CHECK(res == c->result);
		if (res == OAUTH_TOKEN_OK && c->result == OAUTH_TOKEN_OK) {
			CHECK_STR(d.device_code, c->device_code);
			CHECK_STR(d.user_code, c->user_code);
			CHECK_STR(d.verification_uri, c->uri);
			CHECK_STR(d.verification_uri_complete, c->uri_complete);
			CHECK(d.expires_in == c->expires_in && d.interval == c->interval);
		} else {
			CHECK(d.device_code[0] == '\0');
		}
		oauth_token_device_wipe(&d);
	}
	CHECK_STR(oauth_token_strerror(OAUTH_TOKEN_EDUP), "a member given twice");
	CHECK_STR(oauth_token_strerror(OAUTH_TOKEN_ERROR_REPLY), "error reply");
}
#endif
