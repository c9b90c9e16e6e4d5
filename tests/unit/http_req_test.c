/*
 * http_req_test.c - the token endpoint's POST and its form body: percent
 * encoding of every byte class, '&' joining, overflow leaving the body as it
 * was, the exact request bytes, and hosts or paths that could inject lines.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "harness.h"

#if CONFIG_RELAY_OAUTH
#include "http_req.h"

struct hrt_enc {
	const char *in;
	const char *out;
};

static const struct hrt_enc hrt_enc_cases[] = {
	{ "", "" },
	{ "abcXYZ019-._~", "abcXYZ019-._~" },
	{ "a b", "a%20b" },
	{ "https://outlook.office.com/SMTP.Send offline_access",
	  "https%3A%2F%2Foutlook.office.com%2FSMTP.Send%20offline_access" },
	{ "M.C5_BAY.0.U.-Cq!*$", "M.C5_BAY.0.U.-Cq%21%2A%24" },
	{ "+/=&%", "%2B%2F%3D%26%25" },
	{ "\r\n\x01\x7f\xff", "%0D%0A%01%7F%FF" },
	{ "\xc3\xa9", "%C3%A9" },
};

TEST(http_req_pct_encode_table)
{
	char out[128];

	for (size_t i = 0; i < sizeof(hrt_enc_cases) / sizeof(hrt_enc_cases[0]); i++) {
		const struct hrt_enc *c = &hrt_enc_cases[i];
		long n = http_req_pct_encode(c->in, strlen(c->in), out, sizeof(out));

		CHECK(n == (long)strlen(c->out));
		CHECK_STR(out, c->out);
		/* exactly enough room (with the NUL) works, one byte less does not */
		CHECK(http_req_pct_encode(c->in, strlen(c->in), out, strlen(c->out) + 1) == n);
		CHECK(http_req_pct_encode(c->in, strlen(c->in), out, strlen(c->out)) == -1);
	}
}

TEST(http_req_form_joins_and_overflows)
{
	char buf[64];
	struct wbuf w;

	wbuf_init(&w, buf, sizeof(buf), NULL, NULL);
	CHECK(http_req_form(&w, "grant_type", "refresh_token") == 0);
	CHECK(http_req_form(&w, "client_id", "0d1e") == 0);
	CHECK(http_req_form(&w, "scope", "a b") == 0);
	CHECK(w.len == strlen("grant_type=refresh_token&client_id=0d1e&scope=a%20b"));
	CHECK_BYTES(buf, "grant_type=refresh_token&client_id=0d1e&scope=a%20b", w.len);
	size_t was = w.len;
	errno = 0;
	CHECK(http_req_form(&w, "refresh_token", "0123456789") == -1);
	CHECK(errno == ENOBUFS);
	CHECK(w.len == was);
	CHECK(buf[was] == '\0');
}

TEST(http_req_post_exact_bytes)
{
	char buf[512];
	struct wbuf w;
	const char *body = "grant_type=refresh_token&refresh_token=x";
	const char *want = "POST /common/oauth2/v2.0/token HTTP/1.1\r\n"
			   "Host: login.microsoftonline.com\r\n"
			   "Content-Type: application/x-www-form-urlencoded\r\n"
			   "Accept: application/json\r\n"
			   "Content-Length: 40\r\n"
			   "Connection: close\r\n"
			   "User-Agent: subgate\r\n\r\n"
			   "grant_type=refresh_token&refresh_token=x";

	wbuf_init(&w, buf, sizeof(buf), NULL, NULL);
	CHECK(http_req_post(&w, "login.microsoftonline.com", 443, "/common/oauth2/v2.0/token", body, strlen(body)) ==
	      0);
	CHECK(w.len == strlen(want));
	CHECK_BYTES(buf, want, strlen(want));

	wbuf_init(&w, buf, sizeof(buf), NULL, NULL);
	CHECK(http_req_post(&w, "[::1]", 8443, "/token", "", 0) == 0);
	CHECK(w.len > 40 && memcmp(buf, "POST /token HTTP/1.1\r\nHost: [::1]:8443\r\n", 40) == 0);
}

TEST(http_req_post_refuses_injection)
{
	static const char *const hosts[] = { "", "a b", "a\r\nX: y", "a/b", "a@b", "h\xc3\xa9" };
	static const char *const paths[] = { "", "token", "/a b", "/a\r\nX: y", "/a#f", "/\x7f" };
	char buf[512];
	struct wbuf w;

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		wbuf_init(&w, buf, sizeof(buf), NULL, NULL);
		errno = 0;
		CHECK(http_req_post(&w, hosts[i], 443, "/t", "", 0) == -1 && errno == EINVAL && w.len == 0);
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		wbuf_init(&w, buf, sizeof(buf), NULL, NULL);
		errno = 0;
		CHECK(http_req_post(&w, "h", 443, paths[i], "", 0) == -1 && errno == EINVAL && w.len == 0);
	}
	wbuf_init(&w, buf, sizeof(buf), NULL, NULL);
	CHECK(http_req_post(&w, "h", 0, "/t", "", 0) == -1);
	wbuf_init(&w, buf, 64, NULL, NULL);
	CHECK(http_req_post(&w, "h", 443, "/t", "", 0) == -1); /* does not fit: an error, never a cut request */
}
#endif
