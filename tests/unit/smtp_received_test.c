/*
 * smtp_received_test.c - the Received: header: EHLO names made safe (no
 * comment or clause forged with parentheses, spaces, ';' or '<'), the exact
 * header for ordinary fields, and well-formed output at every buffer size
 * with the longest fields (the "for" clause goes first, then the free-form
 * fields are shortened; never a cut line).
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "harness.h"
#include "smtp_received.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in;
	const char *out;
} srt_helo_cases[] = {
	{ "client.example.test", "client.example.test" },
	{ "[192.0.2.1]", "[192.0.2.1]" },
	{ "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]" },
	{ "my_pc.local-net", "my_pc.local-net" },
	{ "x (forged comment)", "x??forged?comment?" },
	{ "a; by evil.example", "a??by?evil.example" },
	{ "a\r\nX-Evil: 1", "a??X-Evil:?1" },
	{ "<postmaster@x>", "?postmaster?x?" },
	{ "\"quoted\"\\", "?quoted??" },
	{ "caf\xc3\xa9", "caf??" },
};

TEST(smtp_received_helo_is_sanitised)
{
	char out[ADDR_DOMAIN_MAX + 1];

	for (size_t i = 0; i < NELEM(srt_helo_cases); i++) {
		smtp_received_helo(out, sizeof(out), srt_helo_cases[i].in);
		CHECK_STR(out, srt_helo_cases[i].out);
	}
	smtp_received_helo(out, 4, "abcdef");
	CHECK_STR(out, "abc");
}

static const struct smtp_received srt_plain = {
	.helo = "pc (x)",
	.client = "127.0.0.1",
	.tls = "TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256",
	.user = "alice@example.com",
	.by = "gw.example.test",
	.id = "0123456789abcdef",
	.rcpt = "bob@example.org",
	.date = "Mon, 7 Dec 2026 21:00:00 +0000",
};

TEST(smtp_received_exact)
{
	char out[1024];
	struct smtp_received r = srt_plain;
	size_t n = smtp_received_format(out, sizeof(out), &r);

	CHECK_STR(out, "Received: from pc??x? ([127.0.0.1])\r\n"
		       "\t(using TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256)\r\n"
		       "\t(Authenticated sender: alice@example.com)\r\n"
		       "\tby gw.example.test (subgate) with ESMTPSA id 0123456789abcdef\r\n"
		       "\tfor <bob@example.org>;\r\n"
		       "\tMon, 7 Dec 2026 21:00:00 +0000\r\n");
	CHECK(n == strlen(out));
	r.rcpt = NULL;
	smtp_received_format(out, sizeof(out), &r);
	CHECK(strstr(out, "id 0123456789abcdef;\r\n\tMon, 7 Dec") != NULL);
	CHECK(strstr(out, "for <") == NULL);
}

/* Every line ends in CRLF, none is longer than 998, continuation lines start with a tab, the date ends it. */
static int srt_well_formed(const char *h, size_t len, const char *date)
{
	size_t start = 0;

	if (len < 2 || strncmp(h, "Received: from ", 15) != 0 || strlen(h) != len) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '\r' || h[i] == '\n') {
			if (h[i] != '\r' || i + 1 >= len || h[i + 1] != '\n' || i - start > 998) {
				return 0;
			}
			i++;
			start = i + 1;
			if (start < len && h[start] != '\t') {
				return 0;
			}
		}
	}
	return start == len && len > strlen(date) + 2 && memcmp(h + len - strlen(date) - 2, date, strlen(date)) == 0;
}

TEST(smtp_received_long_fields_stay_well_formed)
{
	static char helo[ADDR_DOMAIN_MAX + 1], host[ADDR_DOMAIN_MAX + 1], rcpt[ADDR_MAX + 1], user[257];
	static char out[2048];
	struct smtp_received r = srt_plain;
	size_t full = 0;

	memset(helo, 'h', sizeof(helo) - 1);
	memset(host, 'g', sizeof(host) - 1);
	memset(rcpt, 'r', sizeof(rcpt) - 1);
	rcpt[10] = '@';
	memset(user, 'u', sizeof(user) - 1);
	r.helo = helo;
	r.by = host;
	r.rcpt = rcpt;
	r.user = user;
	for (size_t cap = 0; cap <= sizeof(out); cap++) {
		size_t n = smtp_received_format(out, cap, &r);

		if (n == 0) {
			CHECK(cap == 0 || out[0] == '\0');
			continue;
		}
		if (n >= cap || !srt_well_formed(out, n, r.date)) {
			printf("  cap %zu: length %zu\n", cap, n);
			harness_fail(__FILE__, __LINE__, "a complete header at every size");
			return;
		}
		if (strstr(out, "for <") != NULL) {
			full = full ? full : cap;
		}
	}
	/* the whole header with its "for" clause once it fits, and a shortened one within 1024 */
	CHECK(full > 1024);
	CHECK(smtp_received_format(out, 1024, &r) > 0);
	CHECK(strstr(out, "(subgate) with ESMTPSA id 0123456789abcdef;") != NULL);
	CHECK(smtp_received_format(out, 200, &r) == 0);
}
