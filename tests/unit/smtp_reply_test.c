/*
 * smtp_reply_test.c - the smarthost reply parser: single and multi-line
 * replies, enhanced status codes, malformed codes, text joining, truncation
 * and sanitising, the line limit, sticky final status; EHLO capabilities
 * from replies modelled on real servers; Microsoft's refusals of password
 * logins. Table-driven.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "smtp_reply.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SRT_LINES 16

struct srt_case {
	const char *lines[SRT_LINES]; /* fed in order until NULL; all but the last must give MORE */
	enum smtp_reply_status status;
	int code;
	const char *enhanced;
	const char *text;
};

static const struct srt_case srt_cases[] = {
	/* single line */
	{ { "250 OK" }, SMTP_REPLY_DONE, 250, "", "OK" },
	{ { "220 smtp.example.com ESMTP Postfix" }, SMTP_REPLY_DONE, 220, "", "smtp.example.com ESMTP Postfix" },
	{ { "250" }, SMTP_REPLY_DONE, 250, "", "" },
	{ { "250 " }, SMTP_REPLY_DONE, 250, "", "" },
	{ { "354 End data with <CR><LF>.<CR><LF>" }, SMTP_REPLY_DONE, 354, "", "End data with <CR><LF>.<CR><LF>" },
	{ { "421 4.7.0 Try again later" }, SMTP_REPLY_DONE, 421, "4.7.0", "Try again later" },
	{ { "599 x" }, SMTP_REPLY_DONE, 599, "", "x" },
	{ { "200  two spaces" }, SMTP_REPLY_DONE, 200, "", " two spaces" },
	/* enhanced codes */
	{ { "250 2.0.0 Ok: queued as 4Bx" }, SMTP_REPLY_DONE, 250, "2.0.0", "Ok: queued as 4Bx" },
	{ { "550 5.1.1 <b@example.com>: Recipient address rejected" },
	  SMTP_REPLY_DONE,
	  550,
	  "5.1.1",
	  "<b@example.com>: Recipient address rejected" },
	{ { "535 5.7.8 Error: authentication failed" }, SMTP_REPLY_DONE, 535, "5.7.8", "Error: authentication failed" },
	{ { "250 2.1.0" }, SMTP_REPLY_DONE, 250, "2.1.0", "" },
	{ { "250 2.1.0 " }, SMTP_REPLY_DONE, 250, "2.1.0", "" },
	{ { "552 5.123.456 big" }, SMTP_REPLY_DONE, 552, "5.123.456", "big" },
	{ { "250 2.0.0\x01" }, SMTP_REPLY_DONE, 250, "", "2.0.0?" },
	{ { "250 5.0.0 class differs" }, SMTP_REPLY_DONE, 250, "", "5.0.0 class differs" },
	{ { "550 2.0.0 class differs" }, SMTP_REPLY_DONE, 550, "", "2.0.0 class differs" },
	{ { "354 3.0.0 no such class" }, SMTP_REPLY_DONE, 354, "", "3.0.0 no such class" },
	{ { "250 2.1234.0 four digits" }, SMTP_REPLY_DONE, 250, "", "2.1234.0 four digits" },
	{ { "250 2.0.1234" }, SMTP_REPLY_DONE, 250, "", "2.0.1234" },
	{ { "250 2..0 x" }, SMTP_REPLY_DONE, 250, "", "2..0 x" },
	{ { "250 2.0. x" }, SMTP_REPLY_DONE, 250, "", "2.0. x" },
	{ { "250 2.0" }, SMTP_REPLY_DONE, 250, "", "2.0" },
	{ { "250 2.0.0.0 x" }, SMTP_REPLY_DONE, 250, "", "2.0.0.0 x" },
	{ { "250 2.0.0x" }, SMTP_REPLY_DONE, 250, "", "2.0.0x" },
	{ { "250 x 2.0.0" }, SMTP_REPLY_DONE, 250, "", "x 2.0.0" },
	/* multi-line */
	{ { "250-first", "250 second" }, SMTP_REPLY_DONE, 250, "", "first; second" },
	{ { "250-a", "250-b", "250-c", "250 d" }, SMTP_REPLY_DONE, 250, "", "a; b; c; d" },
	{ { "550-5.7.1 Our system has detected", "550-5.7.1 an unusual rate.", "550 5.7.1 See https://x.example/" },
	  SMTP_REPLY_DONE,
	  550,
	  "5.7.1",
	  "Our system has detected; an unusual rate.; See https://x.example/" },
	{ { "451-4.3.0 first", "451-no code here", "451 4.4.1 third" },
	  SMTP_REPLY_DONE,
	  451,
	  "4.3.0",
	  "first; no code here; third" },
	{ { "451-first", "451 4.3.0 only later" }, SMTP_REPLY_DONE, 451, "", "first; only later" },
	{ { "451-4.3.0 first", "451 5.3.0 other class" }, SMTP_REPLY_DONE, 451, "4.3.0", "first; 5.3.0 other class" },
	{ { "250-", "250 text" }, SMTP_REPLY_DONE, 250, "", "text" },
	{ { "250-text", "250" }, SMTP_REPLY_DONE, 250, "", "text" },
	{ { "250-mail.example.com", "250-SIZE 1000", "250 8BITMIME" },
	  SMTP_REPLY_DONE,
	  250,
	  "",
	  "mail.example.com; SIZE 1000; 8BITMIME" },
	/* incomplete */
	{ { "250-more to come" }, SMTP_REPLY_MORE, 250, "", "more to come" },
	{ { "250-a", "250-b" }, SMTP_REPLY_MORE, 250, "", "a; b" },
	/* code changes between lines */
	{ { "250-a", "251 b" }, SMTP_REPLY_BAD, 250, "", "a" },
	{ { "250-a", "550 b" }, SMTP_REPLY_BAD, 250, "", "a" },
	{ { "450-4.1.1 a", "450-b", "451 c" }, SMTP_REPLY_BAD, 450, "4.1.1", "a; b" },
	{ { "250-a", "garbage" }, SMTP_REPLY_BAD, 250, "", "a" },
	{ { "250-a", "" }, SMTP_REPLY_BAD, 250, "", "a" },
	/* malformed first line */
	{ { "" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "2" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "25" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "25 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "2500 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "250OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "250\tOK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "250_OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "2a0 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "25a OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "a50 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { " 250 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "-250 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "+250 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "100 Continue" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "199 x" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "000 x" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "600 x" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "999 x" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "HTTP/1.1 200 OK" }, SMTP_REPLY_BAD, 0, "", "" },
	{ { "\xff\xfe\xfd" }, SMTP_REPLY_BAD, 0, "", "" },
	/* bytes outside printable ASCII */
	{ { "250 tab\there" }, SMTP_REPLY_DONE, 250, "", "tab?here" },
	{ { "250 cr\r" }, SMTP_REPLY_DONE, 250, "", "cr?" },
	{ { "250 esc\x1b[2J" }, SMTP_REPLY_DONE, 250, "", "esc?[2J" },
	{ { "250 del\x7f" }, SMTP_REPLY_DONE, 250, "", "del?" },
	{ { "250 caf\xc3\xa9" }, SMTP_REPLY_DONE, 250, "", "caf??" },
	{ { "250-\x80", "250 \xff" }, SMTP_REPLY_DONE, 250, "", "?; ?" },
};

/* Feeds the lines of one row; returns 0 if a status or the result differs from the row. */
static int srt_run(const struct srt_case *t, struct smtp_reply *r)
{
	enum smtp_reply_status st = SMTP_REPLY_MORE;
	size_t i;

	smtp_reply_init(r);
	for (i = 0; i < SRT_LINES && t->lines[i] != NULL; i++) {
		if (i > 0 && st != SMTP_REPLY_MORE) {
			return 0; /* finished before the last line */
		}
		st = smtp_reply_line(r, t->lines[i], strlen(t->lines[i]));
	}
	return st == t->status && r->code == t->code && strcmp(r->enhanced, t->enhanced) == 0 &&
	       strcmp(r->text, t->text) == 0;
}

TEST(smtp_reply_table)
{
	static struct smtp_reply r;

	for (size_t i = 0; i < NELEM(srt_cases); i++) {
		if (!srt_run(&srt_cases[i], &r)) {
			printf("  case %zu '%s': code %d enhanced '%s' text '%s'\n", i, srt_cases[i].lines[0], r.code,
			       r.enhanced, r.text);
			harness_fail(__FILE__, __LINE__, "reply table");
		}
	}
}

TEST(smtp_reply_nul_and_len)
{
	static const char nul_text[] = "250 a\0b";
	static const char nul_code[] = "25\0 x";
	static struct smtp_reply r;

	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, nul_text, sizeof(nul_text) - 1) == SMTP_REPLY_DONE);
	CHECK_STR(r.text, "a?b");
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, nul_code, sizeof(nul_code) - 1) == SMTP_REPLY_BAD);
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, NULL, 0) == SMTP_REPLY_BAD);
	/* only len bytes count */
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, "250-ignored", 3) == SMTP_REPLY_DONE);
	CHECK(r.code == 250 && r.text[0] == '\0');
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, "250 2.0.0xyz", 9) == SMTP_REPLY_DONE);
	CHECK_STR(r.enhanced, "2.0.0");
	CHECK_STR(r.text, "");
}

/* A line "250-" / "250 " followed by n copies of c. */
static size_t srt_long_line(char *buf, size_t cap, char sep, size_t n, char c)
{
	size_t len = 0;

	buf[len++] = '2';
	buf[len++] = '5';
	buf[len++] = '0';
	buf[len++] = sep;
	for (size_t i = 0; i < n && len < cap; i++) {
		buf[len++] = c;
	}
	return len;
}

TEST(smtp_reply_truncation)
{
	static struct smtp_reply r;
	static char line[2048];
	size_t len;

	/* one line longer than the text: cut at SMTP_REPLY_TEXT_MAX - 1, no error */
	smtp_reply_init(&r);
	len = srt_long_line(line, sizeof(line), ' ', 1000, 'x');
	CHECK(smtp_reply_line(&r, line, len) == SMTP_REPLY_DONE);
	CHECK(strlen(r.text) == SMTP_REPLY_TEXT_MAX - 1);
	CHECK(r.text[0] == 'x' && r.text[SMTP_REPLY_TEXT_MAX - 2] == 'x');
	/* exactly SMTP_REPLY_TEXT_MAX - 1 fits whole */
	smtp_reply_init(&r);
	len = srt_long_line(line, sizeof(line), ' ', SMTP_REPLY_TEXT_MAX - 1, 'y');
	CHECK(smtp_reply_line(&r, line, len) == SMTP_REPLY_DONE);
	CHECK(strlen(r.text) == SMTP_REPLY_TEXT_MAX - 1);
	/* many lines: the total is cut, later lines still count, the code is still checked */
	smtp_reply_init(&r);
	len = srt_long_line(line, sizeof(line), '-', 200, 'z');
	for (int i = 0; i < 5; i++) {
		CHECK(smtp_reply_line(&r, line, len) == SMTP_REPLY_MORE);
	}
	CHECK(strlen(r.text) == SMTP_REPLY_TEXT_MAX - 1);
	CHECK(memcmp(r.text + 200, "; zz", 4) == 0);
	CHECK(smtp_reply_line(&r, "251 other code", 14) == SMTP_REPLY_BAD);
	/* a full text gets no dangling separator */
	smtp_reply_init(&r);
	len = srt_long_line(line, sizeof(line), '-', SMTP_REPLY_TEXT_MAX - 2, 'w');
	CHECK(smtp_reply_line(&r, line, len) == SMTP_REPLY_MORE);
	CHECK(smtp_reply_line(&r, "250 tail", 8) == SMTP_REPLY_DONE);
	CHECK(strlen(r.text) == SMTP_REPLY_TEXT_MAX - 2);
	CHECK(r.text[SMTP_REPLY_TEXT_MAX - 3] == 'w');
}

TEST(smtp_reply_line_limit)
{
	static struct smtp_reply r;

	/* SMTP_REPLY_LINES_MAX lines are fine */
	smtp_reply_init(&r);
	for (unsigned i = 0; i + 1 < SMTP_REPLY_LINES_MAX; i++) {
		CHECK(smtp_reply_line(&r, "250-x", 5) == SMTP_REPLY_MORE);
	}
	CHECK(smtp_reply_line(&r, "250 last", 8) == SMTP_REPLY_DONE);
	CHECK(r.nlines == SMTP_REPLY_LINES_MAX);
	/* one more is an error, even when it is the last line */
	smtp_reply_init(&r);
	for (unsigned i = 0; i < SMTP_REPLY_LINES_MAX; i++) {
		CHECK(smtp_reply_line(&r, "250-x", 5) == SMTP_REPLY_MORE);
	}
	CHECK(smtp_reply_line(&r, "250 last", 8) == SMTP_REPLY_BAD);
	CHECK(smtp_reply_line(&r, "250 again", 9) == SMTP_REPLY_BAD);
}

TEST(smtp_reply_sticky_status)
{
	static struct smtp_reply r;

	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, "250 2.0.0 done", 14) == SMTP_REPLY_DONE);
	CHECK(smtp_reply_line(&r, "550 5.0.0 later", 15) == SMTP_REPLY_DONE);
	CHECK(smtp_reply_line(&r, "garbage", 7) == SMTP_REPLY_DONE);
	CHECK(smtp_reply_line(&r, "250-more", 8) == SMTP_REPLY_DONE);
	CHECK(r.code == 250 && r.nlines == 1);
	CHECK_STR(r.enhanced, "2.0.0");
	CHECK_STR(r.text, "done");
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, "2x0 bad", 7) == SMTP_REPLY_BAD);
	CHECK(smtp_reply_line(&r, "250 good", 8) == SMTP_REPLY_BAD);
	CHECK(r.text[0] == '\0');
	/* init starts over */
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, "354 go", 6) == SMTP_REPLY_DONE);
	CHECK(r.code == 354);
	CHECK(SMTP_REPLY_CLASS(r.code) == 3);
}

/* EHLO replies */

struct srt_ehlo_case {
	const char *name;
	const char *flags; /* what is set, in the order of srt_ehlo_flags() */
	uint64_t size;
	const char *lines[SRT_LINES];
};

static const struct srt_ehlo_case srt_ehlo_cases[] = {
	{ "postfix",
	  "STARTTLS PIPELINING 8BITMIME PLAIN LOGIN SIZE",
	  10240000,
	  { "250-mail.example.com", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY", "250-ETRN", "250-STARTTLS",
	    "250-AUTH PLAIN LOGIN", "250-AUTH=PLAIN LOGIN", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN",
	    "250 CHUNKING" } },
	{ "postfix after STARTTLS, no AUTH",
	  "PIPELINING 8BITMIME SIZE",
	  10240000,
	  { "250-mail.example.com", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY", "250-ETRN",
	    "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING" } },
	{ "gmail before STARTTLS",
	  "STARTTLS PIPELINING 8BITMIME SIZE",
	  35882577,
	  { "250-smtp.gmail.com at your service, [203.0.113.7]", "250-SIZE 35882577", "250-8BITMIME", "250-STARTTLS",
	    "250-ENHANCEDSTATUSCODES", "250-PIPELINING", "250-CHUNKING", "250 SMTPUTF8" } },
	{ "gmail after STARTTLS",
	  "PIPELINING 8BITMIME PLAIN LOGIN XOAUTH2 OAUTHBEARER SIZE",
	  35882577,
	  { "250-smtp.gmail.com at your service, [203.0.113.7]", "250-SIZE 35882577", "250-8BITMIME",
	    "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH", "250-ENHANCEDSTATUSCODES",
	    "250-PIPELINING", "250-CHUNKING", "250 SMTPUTF8" } },
	{ "exchange",
	  "STARTTLS PIPELINING 8BITMIME LOGIN SIZE",
	  37748736,
	  { "250-EX01.corp.example.com Hello [192.0.2.10]", "250-SIZE 37748736", "250-PIPELINING", "250-DSN",
	    "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-AUTH NTLM LOGIN", "250-8BITMIME", "250-BINARYMIME",
	    "250 CHUNKING" } },
	{ "microsoft 365 after STARTTLS",
	  "PIPELINING 8BITMIME LOGIN XOAUTH2 SIZE",
	  157286400,
	  { "250-SMTP.office365.com Hello [192.0.2.10]", "250-SIZE 157286400", "250-PIPELINING", "250-DSN",
	    "250-ENHANCEDSTATUSCODES", "250-AUTH LOGIN XOAUTH2", "250-8BITMIME", "250-BINARYMIME", "250-CHUNKING",
	    "250 SMTPUTF8" } },
	{ "OAuth mechanisms are whole words",
	  "OAUTHBEARER",
	  0,
	  { "250-a.example", "250-AUTH XOAUTH XOAUTH2X OAUTHBEARERX", "250 AUTH=oauthbearer" } },
	{ "SIZE alone",
	  "STARTTLS PIPELINING SIZE",
	  0,
	  { "250-relay.example.net", "250-PIPELINING", "250-STARTTLS", "250 SIZE" } },
	{ "exim, lower case",
	  "STARTTLS PIPELINING 8BITMIME PLAIN SIZE",
	  52428800,
	  { "250-mx.example.org Hello client [198.51.100.2]", "250-size 52428800", "250-8bitmime", "250-pipelining",
	    "250-auth cram-md5 plain", "250-starttls", "250 help" } },
	{ "old AUTH= form only", "LOGIN SIZE", 0, { "250-old.example", "250-AUTH=LOGIN", "250 SIZE 0" } },
	{ "AUTH= lower case", "PLAIN", 0, { "250-old.example", "250 auth=login2 plain" } },
	{ "greeting line ignored", "PLAIN", 0, { "250-STARTTLS", "250 AUTH PLAIN" } },
	{ "greeting only", "", 0, { "250 mail.example.com" } },
	{ "lines not starting with 250 ignored",
	  "8BITMIME",
	  0,
	  { "250-a.example", "251-STARTTLS", "250STARTTLS", "STARTTLS", " 250-PIPELINING", "250", "250-",
	    "250 8BITMIME" } },
	{ "keywords are whole words",
	  "",
	  0,
	  { "250-a.example", "250-STARTTLSX", "250-XPIPELINING", "250-8BITMIMEX", "250-SIZEX 100", "250-AUTHX PLAIN",
	    "250-AUTH PLAINX LOGINX", "250-AUTH=", "250 AUTH" } },
	{ "AUTH mechanisms with extra spaces",
	  "STARTTLS PLAIN LOGIN",
	  0,
	  { "250-a.example", "250-AUTH  PLAIN   LOGIN ", "250 STARTTLS now" } },
	{ "SIZE largest", "SIZE", UINT64_MAX, { "250-a.example", "250 SIZE 18446744073709551615" } },
	{ "SIZE 20 digits with zeros", "SIZE", 42, { "250-a.example", "250 SIZE 00000000000000000042" } },
	{ "SIZE too large", "", 0, { "250-a.example", "250 SIZE 18446744073709551616" } },
	{ "SIZE 21 digits", "", 0, { "250-a.example", "250 SIZE 000000000000000000001" } },
	{ "SIZE garbage", "", 0, { "250-a.example", "250 SIZE 10M" } },
	{ "SIZE negative", "", 0, { "250-a.example", "250 SIZE -1" } },
	{ "SIZE two numbers", "", 0, { "250-a.example", "250 SIZE 1 2" } },
	{ "SIZE tab", "", 0, { "250-a.example", "250 SIZE\t100" } },
	{ "SIZE with trailing and double spaces", "SIZE", 1000, { "250-a.example", "250 SIZE  1000  " } },
	{ "SIZE later garbage wins", "", 0, { "250-a.example", "250-SIZE 1000", "250 SIZE x" } },
};

/* The capabilities set in e as SP-separated names. */
static void srt_ehlo_flags(const struct smtp_ehlo *e, char *buf, size_t cap)
{
	int n = snprintf(
	    buf, cap, "%s%s%s%s%s%s%s%s", e->starttls ? "STARTTLS " : "", e->pipelining ? "PIPELINING " : "",
	    e->eightbitmime ? "8BITMIME " : "", e->auth_plain ? "PLAIN " : "", e->auth_login ? "LOGIN " : "",
	    e->auth_xoauth2 ? "XOAUTH2 " : "", e->auth_oauthbearer ? "OAUTHBEARER " : "", e->has_size ? "SIZE " : "");

	if (n > 0 && (size_t)n < cap) {
		buf[n - 1] = '\0'; /* the last SP */
	}
}

TEST(smtp_ehlo_table)
{
	static struct smtp_ehlo e;
	char flags[128];

	for (size_t i = 0; i < NELEM(srt_ehlo_cases); i++) {
		const struct srt_ehlo_case *t = &srt_ehlo_cases[i];

		smtp_ehlo_init(&e);
		for (size_t n = 0; n < SRT_LINES && t->lines[n] != NULL; n++) {
			smtp_ehlo_line(&e, t->lines[n], strlen(t->lines[n]));
		}
		srt_ehlo_flags(&e, flags, sizeof(flags));
		if (strcmp(flags, t->flags) != 0 || e.size != t->size) {
			printf("  case %zu '%s': '%s' size %llu, wanted '%s' size %llu\n", i, t->name, flags,
			       (unsigned long long)e.size, t->flags, (unsigned long long)t->size);
			harness_fail(__FILE__, __LINE__, "ehlo table");
		}
	}
}

/* The same real replies also parse as one complete 250 reply. */
TEST(smtp_ehlo_replies_are_replies)
{
	static struct smtp_reply r;

	for (size_t i = 0; i < NELEM(srt_ehlo_cases); i++) {
		const struct srt_ehlo_case *t = &srt_ehlo_cases[i];
		enum smtp_reply_status st = SMTP_REPLY_MORE;
		size_t n;

		if (strcmp(t->name, "lines not starting with 250 ignored") == 0) {
			continue;
		}
		smtp_reply_init(&r);
		for (n = 0; n < SRT_LINES && t->lines[n] != NULL && st == SMTP_REPLY_MORE; n++) {
			st = smtp_reply_line(&r, t->lines[n], strlen(t->lines[n]));
		}
		if (st != SMTP_REPLY_DONE || r.code != 250 || (n < SRT_LINES && t->lines[n] != NULL)) {
			printf("  case %zu '%s': status %d after %zu lines\n", i, t->name, (int)st, n);
			harness_fail(__FILE__, __LINE__, "ehlo reply");
		}
	}
	smtp_reply_init(&r);
	CHECK(smtp_reply_line(&r, "250-mail.example.com", 20) == SMTP_REPLY_MORE);
	CHECK(smtp_reply_line(&r, "250-PIPELINING", 14) == SMTP_REPLY_MORE);
	CHECK(smtp_reply_line(&r, "250 CHUNKING", 12) == SMTP_REPLY_DONE);
	CHECK_STR(r.text, "mail.example.com; PIPELINING; CHUNKING");
}

TEST(smtp_ehlo_bytes)
{
	static const char nul_kw[] = "250-STARTTLS\0";
	static const char nul_mech[] = "250 AUTH PL\0AIN LOGIN";
	static struct smtp_ehlo e;

	smtp_ehlo_init(&e);
	smtp_ehlo_line(&e, NULL, 0); /* the greeting, even empty */
	smtp_ehlo_line(&e, NULL, 0);
	smtp_ehlo_line(&e, nul_kw, sizeof(nul_kw) - 1);
	smtp_ehlo_line(&e, nul_mech, sizeof(nul_mech) - 1);
	CHECK(e.starttls == 0 && e.auth_plain == 0 && e.auth_login == 1);
	/* only len bytes count */
	smtp_ehlo_line(&e, "250-STARTTLSX", 12);
	smtp_ehlo_line(&e, "250 SIZE 123", 11);
	CHECK(e.starttls == 1 && e.has_size == 1 && e.size == 12);
	smtp_ehlo_line(&e, "250-PIPELINING", 3);
	CHECK(e.pipelining == 0);
	/* init starts over */
	smtp_ehlo_init(&e);
	smtp_ehlo_line(&e, "250-8BITMIME", 12);
	CHECK(e.eightbitmime == 0 && e.starttls == 0 && e.has_size == 0);
}

static int command(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int command(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = smtp_command_vformat(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

TEST(smtp_command_line_ends_in_crlf_or_does_not_fit)
{
	char out[16];

	CHECK(command(out, sizeof(out), "RCPT TO:<%s>", "x") == 13);
	CHECK(memcmp(out, "RCPT TO:<x>\r\n", 13) == 0);
	CHECK(command(out, sizeof(out), "%s", "0123456789abc") == 15); /* 13 + CRLF in 16 bytes */
	CHECK_STR(out, "0123456789abc\r\n");
	CHECK(command(out, sizeof(out), "%s", "0123456789abcd") == -1); /* no room for the CRLF */
	CHECK(command(out, 2, "%s", "") == -1);
	CHECK(command(out, 3, "%s", "") == 2 && memcmp(out, "\r\n", 2) == 0);
}

/* Refusals of a password login: Microsoft's basic authentication switch-off, and what is not it. */
static const struct {
	const char *line;
	long disabled;
} srt_basic[] = {
	{ "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN0PR04CA0.PROD]", 1 },
	{ "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated "
	  "successfully. Contact your administrator.",
	  1 },
	{ "535 5.7.3 Authentication unsuccessful, basic authentication is disabled", 1 },
	{ "550 5.7.30 Basic authentication is not supported for Client Submission.", 1 },
	{ "550 5.7.30", 1 },
	{ "554 Basic Authentication Is Disabled", 1 },
	{ "535 5.7.3 Authentication unsuccessful [BN0PR04CA0.PROD]", 0 },
	{ "535 5.7.8 Username and Password not accepted", 0 },
	{ "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", 0 },
	{ "454 4.7.0 basic authentication is disabled", 0 },
	{ "550 5.7.1 relay denied", 0 },
	{ "235 2.7.0 basic authentication is disabled", 0 },
};

TEST(smtp_reply_basic_auth)
{
	for (size_t i = 0; i < NELEM(srt_basic); i++) {
		struct smtp_reply r;

		smtp_reply_init(&r);
		CHECK(smtp_reply_line(&r, srt_basic[i].line, strlen(srt_basic[i].line)) == SMTP_REPLY_DONE);
		if (smtp_reply_basic_auth_disabled(&r) != srt_basic[i].disabled) {
			printf("  case %zu: %s\n", i, srt_basic[i].line);
			CHECK(0);
		}
	}
}
