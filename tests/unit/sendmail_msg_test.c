/*
 * sendmail_msg_test.c - the pure half of sendmail: line splitting (LF, CRLF,
 * the 998-octet limit, bare CR), the SMTP form of a line (CRLF, dot-stuffing),
 * the header block (fields, folding, the end, a body without an empty line,
 * the size bound), recipient extraction (display names, comments, quoted
 * strings, groups, routes, folding, duplicates, errors) from arguments and
 * from To:/Cc:/Bcc:, the sender in a 250 reply, and the added From: line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"

#if CONFIG_TOOL_SENDMAIL
#include "sendmail_msg.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct sendmail_rcpts smt_r;
static struct sendmail_head smt_h;

/* The recipients as one string "a|b|c". */
static const char *smt_joined(const struct sendmail_rcpts *r)
{
	static char out[4096];
	size_t pos = 0, n = 0;
	const char *a;

	out[0] = '\0';
	while ((a = sendmail_rcpts_next(r, &pos)) != NULL && n + strlen(a) + 2 < sizeof(out)) {
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", n > 0 ? "|" : "", a);
	}
	return out;
}

/* Writes the characters of s at `at`, without a NUL. */
static void smt_place(char *at, const char *s)
{
	while (*s != '\0') {
		*at++ = *s++;
	}
}

/* --- lines ------------------------------------------------------------------ */

TEST(sendmail_line_splits_lf_and_crlf)
{
	size_t len = 0, used = 0;

	CHECK(sendmail_line_next("abc\ndef", 7, 0, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 3 && used == 4);
	CHECK(sendmail_line_next("abc\r\ndef", 8, 0, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 3 && used == 5);
	CHECK(sendmail_line_next("\n", 1, 0, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 0 && used == 1);
	CHECK(sendmail_line_next("\r\n", 2, 0, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 0 && used == 2);
	CHECK(sendmail_line_next("def", 3, 0, &len, &used) == SENDMAIL_LINE_NEED);
	CHECK(sendmail_line_next("def", 3, 1, &len, &used) == SENDMAIL_LINE_OK); /* last line, no LF */
	CHECK(len == 3 && used == 3);
	CHECK(sendmail_line_next("def\r", 4, 1, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 3 && used == 4);
	CHECK(sendmail_line_next("", 0, 1, &len, &used) == SENDMAIL_LINE_NEED); /* the end */
	CHECK(sendmail_line_next("a\rb\n", 4, 0, &len, &used) == SENDMAIL_LINE_BARE_CR);
	CHECK(sendmail_line_next("\r\r\n", 3, 0, &len, &used) == SENDMAIL_LINE_BARE_CR);
}

TEST(sendmail_line_limit_is_998_octets)
{
	static char buf[2048];
	size_t len = 0, used = 0;

	memset(buf, 'x', sizeof(buf));
	smt_place(buf + 998, "\r\n");
	CHECK(sendmail_line_next(buf, sizeof(buf), 0, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 998 && used == 1000);
	smt_place(buf + 998, "\n");
	CHECK(sendmail_line_next(buf, sizeof(buf), 0, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(len == 998 && used == 999);
	memset(buf, 'x', sizeof(buf));
	smt_place(buf + 999, "\r\n");
	CHECK(sendmail_line_next(buf, sizeof(buf), 0, &len, &used) == SENDMAIL_LINE_LONG);
	smt_place(buf + 999, "\n");
	CHECK(sendmail_line_next(buf, sizeof(buf), 0, &len, &used) == SENDMAIL_LINE_LONG);
	memset(buf, 'x', sizeof(buf));
	CHECK(sendmail_line_next(buf, 999, 0, &len, &used) == SENDMAIL_LINE_NEED); /* may still end */
	CHECK(sendmail_line_next(buf, 999, 1, &len, &used) == SENDMAIL_LINE_LONG); /* last line, 999 */
	CHECK(sendmail_line_next(buf, 998, 1, &len, &used) == SENDMAIL_LINE_OK);
	CHECK(sendmail_line_next(buf, 1000, 0, &len, &used) == SENDMAIL_LINE_LONG); /* known without LF */
	CHECK(sendmail_line_next(buf, sizeof(buf), 0, &len, &used) == SENDMAIL_LINE_LONG);
}

TEST(sendmail_line_smtp_form)
{
	char out[SENDMAIL_LINE_MAX + 3];
	size_t n;

	n = sendmail_line_smtp("hello", 5, out);
	CHECK(n == 7 && memcmp(out, "hello\r\n", 7) == 0);
	n = sendmail_line_smtp(".", 1, out);
	CHECK(n == 4 && memcmp(out, "..\r\n", 4) == 0);
	n = sendmail_line_smtp(".hidden", 7, out);
	CHECK(n == 10 && memcmp(out, "..hidden\r\n", 10) == 0);
	n = sendmail_line_smtp("..", 2, out);
	CHECK(n == 5 && memcmp(out, "...\r\n", 5) == 0);
	n = sendmail_line_smtp("a.b", 3, out);
	CHECK(n == 5 && memcmp(out, "a.b\r\n", 5) == 0);
	n = sendmail_line_smtp("", 0, out);
	CHECK(n == 2 && memcmp(out, "\r\n", 2) == 0);
}

/* --- the header block -------------------------------------------------------- */

static enum sendmail_head_status smt_feed(const char *line)
{
	return sendmail_head_line(&smt_h, line, strlen(line));
}

TEST(sendmail_head_fields_and_folding)
{
	struct sendmail_field f;
	size_t pos = 0;

	sendmail_head_init(&smt_h);
	CHECK(smt_feed("Subject: hello") == SENDMAIL_HEAD_MORE);
	CHECK(smt_feed("To: a@example.org,") == SENDMAIL_HEAD_MORE);
	CHECK(smt_feed("\tb@example.org") == SENDMAIL_HEAD_MORE);
	CHECK(smt_feed("bcc : hidden@example.org") == SENDMAIL_HEAD_MORE);
	CHECK(smt_feed("X-Empty:") == SENDMAIL_HEAD_MORE);
	CHECK(smt_feed("") == SENDMAIL_HEAD_END);
	CHECK(sendmail_head_field(&smt_h, &pos, &f) == 1);
	CHECK(f.name_len == 7 && memcmp(f.name, "Subject", 7) == 0);
	CHECK(f.value_len == 6 && memcmp(f.value, " hello", 6) == 0);
	CHECK(f.len == 15);
	CHECK(sendmail_head_field(&smt_h, &pos, &f) == 1);
	CHECK(sendmail_field_is(&f, "to") && sendmail_field_is(&f, "TO") && !sendmail_field_is(&f, "T"));
	CHECK(f.value_len == strlen(" a@example.org,\n\tb@example.org"));
	CHECK(memcmp(f.value, " a@example.org,\n\tb@example.org", f.value_len) == 0);
	CHECK(f.len == strlen("To: a@example.org,\n\tb@example.org\n"));
	CHECK(sendmail_head_field(&smt_h, &pos, &f) == 1);
	CHECK(sendmail_field_is(&f, "Bcc")); /* blanks before ':' (obsolete syntax) */
	CHECK(sendmail_head_field(&smt_h, &pos, &f) == 1);
	CHECK(sendmail_field_is(&f, "X-Empty") && f.value_len == 0);
	CHECK(sendmail_head_field(&smt_h, &pos, &f) == 0);
	CHECK(sendmail_head_has(&smt_h, "subject") && sendmail_head_has(&smt_h, "BCC"));
	CHECK(!sendmail_head_has(&smt_h, "From"));
}

TEST(sendmail_head_body_without_empty_line)
{
	sendmail_head_init(&smt_h);
	CHECK(smt_feed("just text, no header") == SENDMAIL_HEAD_BODY);
	CHECK(smt_h.len == 0);
	CHECK(smt_feed(" indented first line") == SENDMAIL_HEAD_BODY); /* nothing to continue */
	CHECK(smt_feed("From me to you") == SENDMAIL_HEAD_BODY);       /* mbox "From " line: no colon */
	CHECK(smt_feed(": no name") == SENDMAIL_HEAD_BODY);
	CHECK(smt_feed("Subject: x") == SENDMAIL_HEAD_MORE);
	CHECK(smt_feed("a line in the body") == SENDMAIL_HEAD_BODY);
	CHECK(smt_feed("Na me: x") == SENDMAIL_HEAD_BODY); /* a blank inside a name */
	CHECK(smt_feed("Subject\t: y") == SENDMAIL_HEAD_MORE);
	CHECK(smt_h.len == strlen("Subject: x\nSubject\t: y\n"));
}

TEST(sendmail_head_is_bounded)
{
	static char line[SENDMAIL_LINE_MAX + 1];
	unsigned kept = 0;
	enum sendmail_head_status st;

	sendmail_head_init(&smt_h);
	memset(line, 'v', sizeof(line) - 1);
	smt_place(line, "X-Big: ");
	while ((st = smt_feed(line)) == SENDMAIL_HEAD_MORE) {
		kept++;
	}
	CHECK(st == SENDMAIL_HEAD_FULL);
	CHECK(kept == SENDMAIL_HEAD_MAX / (SENDMAIL_LINE_MAX + 1));
	CHECK(smt_h.len <= SENDMAIL_HEAD_MAX);
}

/* --- recipients --------------------------------------------------------------- */

struct smt_case {
	const char *in;
	int n;            /* added, or -1 */
	const char *want; /* "a|b" after the call (also after an error) */
};

static const struct smt_case smt_cases[] = {
	{ "a@example.org", 1, "a@example.org" },
	{ "root", 1, "root" },
	{ "root,bob", 2, "root|bob" },
	{ "a@example.org, b@example.org", 2, "a@example.org|b@example.org" },
	{ "a@example.org,,  ,b@example.org,", 2, "a@example.org|b@example.org" },
	{ "Alice Smith <alice@example.org>", 1, "alice@example.org" },
	{ "\"Smith, Alice\" <alice@example.org>, bob@example.org", 2, "alice@example.org|bob@example.org" },
	{ "\"A \\\"quoted\\\" name\" <q@example.org>", 1, "q@example.org" },
	{ "alice@example.org (Alice Smith)", 1, "alice@example.org" },
	{ "(Alice) alice@example.org", 1, "alice@example.org" },
	{ "alice@example.org (nested (comment) here), b@x", 2, "alice@example.org|b@x" },
	{ "alice@example.org (a comment, with a comma)", 1, "alice@example.org" },
	{ "(a \\) escaped paren) c@example.org", 1, "c@example.org" },
	{ "Alice <alice(inner comment)@example.org>", 1, "alice@example.org" },
	{ "< alice@example.org >", 1, "alice@example.org" },
	{ "<alice@example.org>", 1, "alice@example.org" },
	{ "john . smith @ example . org", 1, "john.smith@example.org" },
	{ "\"john doe\"@example.org", 1, "\"john doe\"@example.org" },
	{ "user@[192.0.2.1]", 1, "user@[192.0.2.1]" },
	{ "<@relay.example,@other.example:user@example.org>", 1, "user@example.org" },
	{ "friends: a@example.org, b@example.org;, c@example.org", 3, "a@example.org|b@example.org|c@example.org" },
	{ "undisclosed-recipients:;", 0, "" },
	{ "\"A group\": Al <al@x>, bo@x;", 2, "al@x|bo@x" },
	{ "group: a@x", 1, "a@x" }, /* unterminated group: lenient */
	{ "<>", 0, "" },
	{ "", 0, "" },
	{ "  (only a comment)  ", 0, "" },
	{ "a@x, a@x, A@x", 2, "a@x|A@x" }, /* duplicates once, case kept */
	{ "a@x,\n b@x", 2, "a@x|b@x" },    /* folded */
	{ "\"folded\n quoted\" <f@x>", 1, "f@x" },
	{ "a@x,\r\n\tb@x", 2, "a@x|b@x" },
	{ "Mr. Smith <smith@x>", 1, "smith@x" },
	{ "ok@x, \"unterminated <u@x>", -1, "ok@x" },
	{ "a@x (unbalanced", -1, "" },
	{ "a@x)", -1, "" },
	{ "a@x]", -1, "" },
	{ "a\\b@x", 1, "a\\b@x" },
	{ "Alice <alice@x", -1, "" },
	{ "alice@x>", -1, "" },
	{ "Alice Smith", -1, "" },
	{ "Alice <a@x> <b@x>", -1, "" },
	{ "<a@x> trailing", -1, "" },
	{ "<a<b@x>", -1, "" },
	{ "a@x: b@x", -1, "" },
	{ "g1: g2: a@x;;", -1, "" },
	{ "<@route.only>", -1, "" },
	{ "user@[192.0.2.1", -1, "" },
	{ "user@[192.0.2.1 ]", -1, "" },
	{ "user@[[x]", -1, "" },
	{ "<a b@x>", -1, "" },
	{ "<\"a b\"@x>", 1, "\"a b\"@x" },
	{ "<\"a<b\"@x>", 1, "\"a<b\"@x" },
	{ "a\x01@x", -1, "" },
	{ "<a\x7f@x>", -1, "" },
	{ "\"a\\\x01\"@x", -1, "" }, /* an escaped control character is one too */
};

TEST(sendmail_rcpts_address_lists)
{
	for (size_t i = 0; i < NELEM(smt_cases); i++) {
		const struct smt_case *c = &smt_cases[i];
		int n;

		sendmail_rcpts_init(&smt_r);
		n = sendmail_rcpts_parse(&smt_r, c->in, strlen(c->in));
		if (n != c->n || strcmp(smt_joined(&smt_r), c->want) != 0) {
			fprintf(stderr, "case %zu '%s': got %d '%s'\n", i, c->in, n, smt_joined(&smt_r));
		}
		CHECK(n == c->n);
		CHECK_STR(smt_joined(&smt_r), c->want);
		CHECK((n < 0) == (smt_r.error != NULL));
	}
}

TEST(sendmail_rcpts_length_and_count_limits)
{
	static char big[1200];
	char addr[32];
	int n;

	memset(big, 'a', sizeof(big));
	smt_place(big + 250, "@x"); /* 252 octets: fits */
	sendmail_rcpts_init(&smt_r);
	CHECK(sendmail_rcpts_parse(&smt_r, big, 252) == 1);
	smt_place(big + 252, "@x"); /* 254 is ADDR_MAX */
	CHECK(sendmail_rcpts_parse(&smt_r, big, 254) == 1);
	smt_place(big + 253, "@x"); /* 255: too long */
	CHECK(sendmail_rcpts_parse(&smt_r, big, 255) == -1);
	CHECK(smt_r.n == 2);
	memset(big, 'a', sizeof(big));
	smt_place(big, "\"");
	smt_place(big + 600, "\" <n@x>"); /* a long display name is fine */
	CHECK(sendmail_rcpts_parse(&smt_r, big, 607) == 1);
	sendmail_rcpts_init(&smt_r);
	for (unsigned i = 0; i < SENDMAIL_RCPT_MAX; i++) {
		snprintf(addr, sizeof(addr), "u%u@x", i);
		CHECK(sendmail_rcpts_parse(&smt_r, addr, strlen(addr)) == 1);
	}
	n = sendmail_rcpts_parse(&smt_r, "u0@x, one-more@x", 16); /* a duplicate is not one more */
	CHECK(n == -1 && smt_r.n == SENDMAIL_RCPT_MAX);
	CHECK_STR(smt_r.error, "too many recipients");
}

static void smt_head(const char *text)
{
	const char *p = text;

	sendmail_head_init(&smt_h);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (sendmail_head_line(&smt_h, p, len) != SENDMAIL_HEAD_MORE) {
			break;
		}
		p += len + (nl != NULL);
	}
}

TEST(sendmail_rcpts_from_to_cc_bcc)
{
	const char *bad = NULL;

	smt_head("From: me@example.org\n"
		 "To: Alice <alice@example.org>,\n"
		 "  \"Bob, Jr.\" <bob@example.org>\n"
		 "Subject: To: not@example.org\n"
		 "cc: carol@example.org (Carol)\n"
		 "Reply-To: reply@example.org\n"
		 "BCC: hidden@example.org,\n"
		 "\tsecret: s1@example.org, s2@example.org;\n"
		 "Resent-To: resent@example.org\n"
		 "X-To: x@example.org\n");
	sendmail_rcpts_init(&smt_r);
	CHECK(sendmail_rcpts_parse(&smt_r, "argv@example.org", 16) == 1);
	CHECK(sendmail_rcpts_from_head(&smt_r, &smt_h, &bad) == 6);
	CHECK_STR(smt_joined(&smt_r), "argv@example.org|alice@example.org|bob@example.org|carol@example.org|"
				      "hidden@example.org|s1@example.org|s2@example.org");
	smt_head("To: ok@example.org\nCc: Broken <broken@example.org\n");
	sendmail_rcpts_init(&smt_r);
	CHECK(sendmail_rcpts_from_head(&smt_r, &smt_h, &bad) == -1);
	CHECK_STR(bad, "Cc");
	CHECK(smt_r.error != NULL);
	smt_head("Subject: none\n");
	sendmail_rcpts_init(&smt_r);
	CHECK(sendmail_rcpts_from_head(&smt_r, &smt_h, &bad) == 0 && smt_r.n == 0);
}

/* --- the sender ------------------------------------------------------------------ */

TEST(sendmail_sender_from_the_mail_reply)
{
	char out[ADDR_MAX + 1];

	CHECK(sendmail_reply_sender("<bob@gw.example.net>: Sender ok", out, sizeof(out)) == 0);
	CHECK_STR(out, "bob@gw.example.net");
	CHECK(sendmail_reply_sender("<root@gw>", out, sizeof(out)) == 0);
	CHECK_STR(out, "root@gw");
	CHECK(sendmail_reply_sender("Ok", out, sizeof(out)) == -1);
	CHECK(sendmail_reply_sender("<>: Sender ok", out, sizeof(out)) == -1);
	CHECK(sendmail_reply_sender("<unterminated", out, sizeof(out)) == -1);
	CHECK(sendmail_reply_sender("<a b@x>: x", out, sizeof(out)) == -1);
	CHECK(sendmail_reply_sender("<a@x>: x", out, 3) == -1); /* does not fit */
}

/* Each argument in a heap block of its own size, so that ASan sees a read past its end. */
static int arg_sender(const char *arg, char *out, size_t cap)
{
	size_t n = strlen(arg) + 1;
	char *copy = malloc(n);
	int rc;

	if (copy == NULL) {
		harness_fail(__FILE__, __LINE__, "malloc");
		return -2;
	}
	memcpy(copy, arg, n);
	rc = sendmail_arg_sender(copy, out, cap);
	free(copy);
	return rc;
}

TEST(sendmail_arg_sender_strips_brackets_and_refuses_blanks)
{
	char out[ADDR_MAX + 1];
	char longest[ADDR_MAX + 2];

	CHECK(arg_sender("bob@x", out, sizeof(out)) == 0);
	CHECK_STR(out, "bob@x");
	CHECK(arg_sender("<bob@x>", out, sizeof(out)) == 0);
	CHECK_STR(out, "bob@x");
	CHECK(arg_sender("<>", out, sizeof(out)) == 0);
	CHECK_STR(out, "");
	CHECK(arg_sender("root", out, sizeof(out)) == 0);
	CHECK_STR(out, "root");
	/* the bug: a blank made the scan run on past the end of the argument */
	CHECK(arg_sender("a b@x", out, sizeof(out)) == -1);
	CHECK(arg_sender("a\tb@x", out, sizeof(out)) == -1);
	CHECK(arg_sender("<a@x", out, sizeof(out)) == -1);
	CHECK(arg_sender("a@x>", out, sizeof(out)) == -1);
	CHECK(arg_sender("a\x7f@x", out, sizeof(out)) == -1);
	CHECK(arg_sender("a@x", out, 3) == -1); /* does not fit */
	memset(longest, 'a', ADDR_MAX);
	longest[ADDR_MAX] = '\0';
	CHECK(arg_sender(longest, out, sizeof(out)) == 0);
	longest[ADDR_MAX] = 'a';
	longest[ADDR_MAX + 1] = '\0';
	CHECK(arg_sender(longest, out, sizeof(out)) == -1);
}

TEST(sendmail_from_line_quotes_when_needed)
{
	char out[SENDMAIL_FROM_MAX];
	static char longname[400];

	CHECK(sendmail_from_line(NULL, "bob@x", out, sizeof(out)) == 11);
	CHECK_STR(out, "From: bob@x");
	sendmail_from_line("", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: bob@x");
	sendmail_from_line("  ", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: bob@x");
	sendmail_from_line("Bob Smith", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: Bob Smith <bob@x>");
	sendmail_from_line("  Bob  ", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: Bob <bob@x>");
	sendmail_from_line("Smith, Bob", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: \"Smith, Bob\" <bob@x>");
	sendmail_from_line("Bob \"the\" \\Builder", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: \"Bob \\\"the\\\" \\\\Builder\" <bob@x>");
	sendmail_from_line("Cron Daemon.", "root@x", out, sizeof(out));
	CHECK_STR(out, "From: \"Cron Daemon.\" <root@x>");
	sendmail_from_line("Evil\r\nBcc: victim@x", "bob@x", out, sizeof(out));
	CHECK_STR(out, "From: \"Evil  Bcc: victim@x\" <bob@x>"); /* no header injection */
	sendmail_from_line("J\xc3\xb6rg", "j@x", out, sizeof(out));
	CHECK_STR(out, "From: J\xc3\xb6rg <j@x>");
	memset(longname, '"', sizeof(longname) - 1);
	CHECK(sendmail_from_line(longname, "bob@x", out, sizeof(out)) < sizeof(out));
	CHECK(strlen(out) == 6 + 2 + 2 * SENDMAIL_NAME_MAX + 8);
	CHECK(sizeof(out) <= SENDMAIL_LINE_MAX);
}
#endif
