/*
 * smtp_parse_test.c - the SMTP command parser: every verb, every status,
 * MAIL/RCPT paths and parameters, AUTH arguments, bad bytes and fields that
 * do not fit. Table-driven.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "smtp_parse.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct smtp_cmd sp_cmd;

static enum smtp_parse_status sp_parse(const char *line)
{
	return smtp_parse_line(line, strlen(line), &sp_cmd);
}

struct sp_status_case {
	const char *line;
	enum smtp_parse_status status;
	enum smtp_verb verb;
};

static const struct sp_status_case sp_status_cases[] = {
	/* every verb, accepted */
	{ "EHLO client.example", SMTP_PARSE_OK, SMTP_VERB_EHLO },
	{ "HELO client.example", SMTP_PARSE_OK, SMTP_VERB_HELO },
	{ "EHLO [192.0.2.1]", SMTP_PARSE_OK, SMTP_VERB_EHLO },
	{ "STARTTLS", SMTP_PARSE_OK, SMTP_VERB_STARTTLS },
	{ "AUTH PLAIN", SMTP_PARSE_OK, SMTP_VERB_AUTH },
	{ "MAIL FROM:<a@example.com>", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	{ "RCPT TO:<b@example.com>", SMTP_PARSE_OK, SMTP_VERB_RCPT },
	{ "DATA", SMTP_PARSE_OK, SMTP_VERB_DATA },
	{ "RSET", SMTP_PARSE_OK, SMTP_VERB_RSET },
	{ "NOOP", SMTP_PARSE_OK, SMTP_VERB_NOOP },
	{ "NOOP anything at all", SMTP_PARSE_OK, SMTP_VERB_NOOP },
	{ "QUIT", SMTP_PARSE_OK, SMTP_VERB_QUIT },
	{ "HELP", SMTP_PARSE_OK, SMTP_VERB_HELP },
	{ "HELP MAIL", SMTP_PARSE_OK, SMTP_VERB_HELP },
	{ "VRFY alice", SMTP_PARSE_OK, SMTP_VERB_VRFY },
	{ "EXPN staff", SMTP_PARSE_OK, SMTP_VERB_EXPN },
	{ "BDAT 100 LAST", SMTP_PARSE_OK, SMTP_VERB_BDAT },
	/* case and trailing blanks */
	{ "ehlo client.example", SMTP_PARSE_OK, SMTP_VERB_EHLO },
	{ "StartTls", SMTP_PARSE_OK, SMTP_VERB_STARTTLS },
	{ "mail from:<a@example.com>", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	{ "rcpt to:<b@example.com>", SMTP_PARSE_OK, SMTP_VERB_RCPT },
	{ "quit", SMTP_PARSE_OK, SMTP_VERB_QUIT },
	{ "DATA ", SMTP_PARSE_OK, SMTP_VERB_DATA },
	{ "QUIT   ", SMTP_PARSE_OK, SMTP_VERB_QUIT },
	{ "MAIL FROM:<a@example.com>  ", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	/* unknown verbs */
	{ "", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "   ", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "XYZZY", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "EHL", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "EHLOO x", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "STARTTLSX", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ " QUIT", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "MAIL:FROM:<a@example.com>", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	/* HTTP requests and headers (Postfix smtpd_forbidden_commands) */
	{ "GET / HTTP/1.0", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "get /index.html HTTP/1.1", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "POST /cgi-bin/x HTTP/1.1", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "CONNECT mx.example.com:25 HTTP/1.1", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "Host: gw.example.test", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "host:gw.example.test", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "User-Agent: curl/8.0", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "User-Agent: \x01", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "GET", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "GET   ", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "Host:  ", SMTP_PARSE_FORBIDDEN, SMTP_VERB_UNKNOWN },
	{ "GETX / HTTP/1.0", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "HOST gw.example.test", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	{ "SEND FROM:<a@example.com>", SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN },
	/* argument rules */
	{ "EHLO", SMTP_PARSE_SYNTAX, SMTP_VERB_EHLO },
	{ "HELO", SMTP_PARSE_SYNTAX, SMTP_VERB_HELO },
	{ "EHLO  client.example", SMTP_PARSE_SYNTAX, SMTP_VERB_EHLO },
	{ "STARTTLS now", SMTP_PARSE_SYNTAX, SMTP_VERB_STARTTLS },
	{ "DATA x", SMTP_PARSE_SYNTAX, SMTP_VERB_DATA },
	{ "RSET x", SMTP_PARSE_SYNTAX, SMTP_VERB_RSET },
	{ "QUIT now", SMTP_PARSE_SYNTAX, SMTP_VERB_QUIT },
	{ "VRFY", SMTP_PARSE_SYNTAX, SMTP_VERB_VRFY },
	{ "EXPN", SMTP_PARSE_SYNTAX, SMTP_VERB_EXPN },
	{ "AUTH", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "MAIL", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "RCPT", SMTP_PARSE_SYNTAX, SMTP_VERB_RCPT },
	/* MAIL and RCPT syntax */
	{ "MAIL FROM<a@example.com>", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL TO:<a@example.com>", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL  FROM:<a@example.com>", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "RCPT FROM:<a@example.com>", SMTP_PARSE_SYNTAX, SMTP_VERB_RCPT },
	{ "MAIL FROM:<a@example.com>SIZE=1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM: <a@example.com>", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	{ "RCPT TO: <b@example.com>", SMTP_PARSE_OK, SMTP_VERB_RCPT },
	{ "MAIL FROM:  <a@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "MAIL FROM:a@example.com", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "MAIL FROM:", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "MAIL FROM:<alice>", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	{ "MAIL FROM:<postmaster>", SMTP_PARSE_OK, SMTP_VERB_MAIL }, /* bare name: the local socket's own-name sender */
	{ "MAIL FROM:<bad name>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "MAIL FROM:<@relay.example:a@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "RCPT TO:<@relay.example,@b.example:b@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "MAIL FROM:<\"a b\"@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_MAIL },
	{ "RCPT TO:<\"a>b\"@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:<>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:b@example.com", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:<b@example..com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:<b@>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:<.b>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:<b c@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	{ "RCPT TO:<<b@example.com>>", SMTP_PARSE_SYNTAX, SMTP_VERB_RCPT }, /* text after the first > */
	{ "RCPT TO:<<b@example.com>", SMTP_PARSE_BAD_ADDRESS, SMTP_VERB_RCPT },
	/* MAIL parameters */
	{ "MAIL FROM:<a@example.com> SIZE=0", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> size=1000 body=8bitmime auth=<>", SMTP_PARSE_OK, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=12k", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=-1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=1e99", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=99999999999999999999999x", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=1 SIZE=1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> BODY=BINARYMIME", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> BODY", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> BODY=7BIT BODY=8BITMIME", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> AUTH", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> AUTH=a+2", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> AUTH=a+2b", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> AUTH=<> AUTH=<>", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com>  SIZE=1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=1  BODY=7BIT", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> =1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> -X=1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> X_Y=1", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> X=a=b", SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SMTPUTF8", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> RET=HDRS", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> SIZE=1 ENVID=x", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_MAIL },
	{ "MAIL FROM:<a@example.com> X-FOO", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_MAIL },
	/* RCPT parameters: none supported */
	{ "RCPT TO:<b@example.com> NOTIFY=NEVER", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_RCPT },
	{ "RCPT TO:<b@example.com> ORCPT=rfc822;b@example.com", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_RCPT },
	{ "RCPT TO:<b@example.com> SIZE=1", SMTP_PARSE_UNKNOWN_PARAM, SMTP_VERB_RCPT },
	{ "RCPT TO:<b@example.com> X=", SMTP_PARSE_SYNTAX, SMTP_VERB_RCPT },
	/* AUTH */
	{ "AUTH LOGIN", SMTP_PARSE_OK, SMTP_VERB_AUTH },
	{ "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=", SMTP_PARSE_OK, SMTP_VERB_AUTH },
	{ "AUTH PLAIN =", SMTP_PARSE_OK, SMTP_VERB_AUTH },
	{ "AUTH X_MECH-1", SMTP_PARSE_OK, SMTP_VERB_AUTH },
	{ "AUTH  PLAIN", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH PLAIN  AGFsaWNl", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH PLAIN AGFs aWNl", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH PLAIN AGFs*WNl", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH PLAIN AG=Fs", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH PLAIN AGFsaW===", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH PL.AIN", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	{ "AUTH ABCDEFGHIJKLMNOPQRST", SMTP_PARSE_OK, SMTP_VERB_AUTH },
	{ "AUTH ABCDEFGHIJKLMNOPQRSTU", SMTP_PARSE_SYNTAX, SMTP_VERB_AUTH },
	/* bytes that never belong in a command */
	{ "NOOP \x01", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_NOOP },
	{ "NOOP\tx", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_UNKNOWN },
	{ "EHLO a\tb", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_EHLO },
	{ "EHLO a\x7f", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_EHLO },
	{ "EHLO caf\xc3\xa9.example", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_EHLO },
	{ "MAIL FROM:<j\xc3\xb6rg@example.com>", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_MAIL },
	{ "RCPT TO:<b@example.com>\r", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_RCPT },
	{ "QUIT\n", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_UNKNOWN },
	{ "\x1b[2J", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_UNKNOWN },
	{ "XYZZY \x80", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_UNKNOWN },
	{ "\xff\xfe", SMTP_PARSE_BAD_CHARACTER, SMTP_VERB_UNKNOWN },
};

TEST(smtp_parse_status_table)
{
	for (size_t i = 0; i < NELEM(sp_status_cases); i++) {
		const struct sp_status_case *t = &sp_status_cases[i];
		enum smtp_parse_status st = sp_parse(t->line);

		if (st != t->status || sp_cmd.verb != t->verb) {
			printf("  case %zu '%s': status %d verb %d, wanted %d %d\n", i, t->line, (int)st,
			       (int)sp_cmd.verb, (int)t->status, (int)t->verb);
			harness_fail(__FILE__, __LINE__, "status table");
		}
	}
}

TEST(smtp_parse_nul_is_bad_character)
{
	static const char line[] = "MAIL FROM:<a@example.com>\0 SIZE=1";

	CHECK(smtp_parse_line(line, sizeof(line) - 1, &sp_cmd) == SMTP_PARSE_BAD_CHARACTER);
	CHECK(smtp_parse_line("NOOP\0", 5, &sp_cmd) == SMTP_PARSE_BAD_CHARACTER);
	CHECK(smtp_parse_line("\0", 1, &sp_cmd) == SMTP_PARSE_BAD_CHARACTER);
	/* only len bytes count: a NUL after them is not part of the line */
	CHECK(smtp_parse_line("QUIT\0junk", 4, &sp_cmd) == SMTP_PARSE_OK && sp_cmd.verb == SMTP_VERB_QUIT);
	CHECK(smtp_parse_line("QUITX", 4, &sp_cmd) == SMTP_PARSE_OK);
}

struct sp_path_case {
	const char *line;
	enum smtp_parse_status status;
	const char *path;
	const char *arg;
};

static const struct sp_path_case sp_path_cases[] = {
	{ "MAIL FROM:<>", SMTP_PARSE_OK, "", "FROM:<>" },
	{ "MAIL FROM:<> BODY=8BITMIME", SMTP_PARSE_OK, "", "FROM:<> BODY=8BITMIME" },
	{ "MAIL FROM:<Alice.B+tag@Sub.Example.COM>", SMTP_PARSE_OK, "Alice.B+tag@Sub.Example.COM", NULL },
	{ "MAIL FROM: <a@example.com>", SMTP_PARSE_OK, "a@example.com", "FROM: <a@example.com>" },
	{ "RCPT TO:<postmaster>", SMTP_PARSE_OK, "postmaster", "TO:<postmaster>" },
	{ "RCPT TO:<PostMaster>", SMTP_PARSE_OK, "PostMaster", NULL },
	{ "RCPT TO:<root>", SMTP_PARSE_OK, "root", NULL },
	{ "RCPT TO:<postmaster@gw.example.net>", SMTP_PARSE_OK, "postmaster@gw.example.net", NULL },
	{ "rcpt to:<b@localhost>", SMTP_PARSE_OK, "b@localhost", "to:<b@localhost>" },
	{ "RCPT TO:<b@example.com>   ", SMTP_PARSE_OK, "b@example.com", "TO:<b@example.com>" },
};

TEST(smtp_parse_paths)
{
	for (size_t i = 0; i < NELEM(sp_path_cases); i++) {
		const struct sp_path_case *t = &sp_path_cases[i];
		enum smtp_parse_status st = sp_parse(t->line);

		if (st != t->status || strcmp(sp_cmd.path, t->path) != 0 ||
		    (t->arg != NULL && strcmp(sp_cmd.arg, t->arg) != 0)) {
			printf("  case %zu '%s': status %d path '%s' arg '%s'\n", i, t->line, (int)st, sp_cmd.path,
			       sp_cmd.arg);
			harness_fail(__FILE__, __LINE__, "path table");
		}
	}
}

struct sp_mail_case {
	const char *line;
	int has_size;
	uint64_t size;
	int body_8bitmime;
	int has_auth_param;
};

static const struct sp_mail_case sp_mail_cases[] = {
	{ "MAIL FROM:<a@example.com>", 0, 0, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=0", 1, 0, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=10485760", 1, 10485760, 0, 0 },
	{ "MAIL FROM:<a@example.com> Size=007", 1, 7, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=18446744073709551615", 1, UINT64_MAX, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=00000000000000000001", 1, 1, 0, 0 },
	/* beyond 64 bits: too large (552 in the session), not malformed (501) */
	{ "MAIL FROM:<a@example.com> SIZE=18446744073709551616", 1, UINT64_MAX, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=99999999999999999999", 1, UINT64_MAX, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=1000000000000000000000000000000", 1, UINT64_MAX, 0, 0 },
	{ "MAIL FROM:<a@example.com> SIZE=000000000000000000001", 1, 1, 0, 0 },
	{ "MAIL FROM:<a@example.com> BODY=8BITMIME", 0, 0, 1, 0 },
	{ "MAIL FROM:<a@example.com> body=8bitMIME", 0, 0, 1, 0 },
	{ "MAIL FROM:<a@example.com> BODY=7BIT", 0, 0, 0, 0 },
	{ "MAIL FROM:<a@example.com> AUTH=<>", 0, 0, 0, 1 },
	{ "MAIL FROM:<a@example.com> AUTH=a+2Bb@example.com", 0, 0, 0, 1 },
	{ "MAIL FROM:<> SIZE=42 BODY=8BITMIME AUTH=<>", 1, 42, 1, 1 },
	{ "MAIL FROM:<a@example.com> AUTH=<> BODY=7BIT SIZE=1", 1, 1, 0, 1 },
};

TEST(smtp_parse_mail_params)
{
	for (size_t i = 0; i < NELEM(sp_mail_cases); i++) {
		const struct sp_mail_case *t = &sp_mail_cases[i];
		enum smtp_parse_status st = sp_parse(t->line);

		if (st != SMTP_PARSE_OK || sp_cmd.verb != SMTP_VERB_MAIL || sp_cmd.has_size != t->has_size ||
		    sp_cmd.size != t->size || sp_cmd.body_8bitmime != t->body_8bitmime ||
		    sp_cmd.has_auth_param != t->has_auth_param) {
			printf("  case %zu '%s': status %d size %d/%llu body %d auth %d\n", i, t->line, (int)st,
			       sp_cmd.has_size, (unsigned long long)sp_cmd.size, sp_cmd.body_8bitmime,
			       sp_cmd.has_auth_param);
			harness_fail(__FILE__, __LINE__, "mail parameter table");
		}
	}
}

struct sp_auth_case {
	const char *line;
	const char *mech;
	const char *initial;
};

static const struct sp_auth_case sp_auth_cases[] = {
	{ "AUTH PLAIN", "PLAIN", "" },          { "auth plain", "PLAIN", "" },
	{ "AUTH login", "LOGIN", "" },          { "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "PLAIN", "AGFsaWNlAHNlY3JldA==" },
	{ "AUTH PLAIN =", "PLAIN", "=" },       { "AUTH scram-sha-256 biws", "SCRAM-SHA-256", "biws" },
	{ "AUTH x_y-9 a+/=", "X_Y-9", "a+/=" }, { "AUTH PLAIN AGFsaWNl   ", "PLAIN", "AGFsaWNl" },
};

TEST(smtp_parse_auth_fields)
{
	for (size_t i = 0; i < NELEM(sp_auth_cases); i++) {
		const struct sp_auth_case *t = &sp_auth_cases[i];
		enum smtp_parse_status st = sp_parse(t->line);

		if (st != SMTP_PARSE_OK || sp_cmd.verb != SMTP_VERB_AUTH || strcmp(sp_cmd.auth_mech, t->mech) != 0 ||
		    strcmp(sp_cmd.auth_initial, t->initial) != 0) {
			printf("  case %zu '%s': status %d mech '%s' initial '%s'\n", i, t->line, (int)st,
			       sp_cmd.auth_mech, sp_cmd.auth_initial);
			harness_fail(__FILE__, __LINE__, "auth table");
		}
	}
}

TEST(smtp_parse_arg_and_fields_reset)
{
	CHECK(sp_parse("EHLO client.example  ") == SMTP_PARSE_OK);
	CHECK_STR(sp_cmd.arg, "client.example");
	CHECK(sp_parse("NOOP  two spaces") == SMTP_PARSE_OK);
	CHECK_STR(sp_cmd.arg, " two spaces");
	CHECK(sp_parse("BDAT 0 LAST") == SMTP_PARSE_OK);
	CHECK_STR(sp_cmd.arg, "0 LAST");
	/* nothing survives from the previous line */
	CHECK(sp_parse("MAIL FROM:<a@example.com> SIZE=5 BODY=8BITMIME AUTH=<>") == SMTP_PARSE_OK);
	CHECK(sp_parse("AUTH PLAIN AAAA") == SMTP_PARSE_OK);
	CHECK(sp_cmd.path[0] == '\0' && !sp_cmd.has_size && sp_cmd.size == 0);
	CHECK(!sp_cmd.body_8bitmime && !sp_cmd.has_auth_param);
	CHECK(sp_parse("QUIT") == SMTP_PARSE_OK);
	CHECK(sp_cmd.auth_mech[0] == '\0' && sp_cmd.auth_initial[0] == '\0' && sp_cmd.arg[0] == '\0');
}

/* Builds "prefix" + n copies of c + "suffix" into buf. */
static size_t sp_build(char *buf, size_t cap, const char *prefix, char c, size_t n, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (p + n + s + 1 > cap) {
		return 0;
	}
	memcpy(buf, prefix, p + 1);
	memset(buf + p, c, n);
	memcpy(buf + p + n, suffix, s + 1);
	return p + n + s;
}

/* "RCPT TO:<" + a valid-looking mailbox of n octets (n >= 200) + ">" into buf. */
static size_t sp_path_of(char *buf, size_t cap, size_t n)
{
	size_t len = sp_build(buf, cap, "RCPT TO:<", 'a', 64, "@");

	for (size_t label = 0; len > 0 && len < 9 + n; label++) {
		size_t room = 9 + n - len;
		size_t l = room > 63 ? 63 : room;

		if (label > 0) {
			buf[len++] = '.';
			l = room - 1 > 63 ? 63 : room - 1;
		}
		memset(buf + len, (char)('b' + label), l);
		len += l;
	}
	buf[len++] = '>';
	buf[len] = '\0';
	return len;
}

TEST(smtp_parse_overlong_fields)
{
	static char line[2048];
	size_t len;

	/* arg: SMTP_ARG_MAX - 1 characters fit, SMTP_ARG_MAX do not */
	len = sp_build(line, sizeof(line), "NOOP ", 'x', SMTP_ARG_MAX - 1, "");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_OK && strlen(sp_cmd.arg) == SMTP_ARG_MAX - 1);
	len = sp_build(line, sizeof(line), "NOOP ", 'x', SMTP_ARG_MAX, "");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_SYNTAX);
	len = sp_build(line, sizeof(line), "EHLO ", 'h', 1500, "");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_SYNTAX);
	/* path: ADDR_MAX fits (local part 64, domain 63.63.61), one more octet does not */
	len = sp_path_of(line, sizeof(line), ADDR_MAX);
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_OK && strlen(sp_cmd.path) == ADDR_MAX);
	len = sp_path_of(line, sizeof(line), ADDR_MAX + 1);
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_BAD_ADDRESS);
	len = sp_build(line, sizeof(line), "MAIL FROM:<", 'a', 400, "@example.com>");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_BAD_ADDRESS);
	len = sp_build(line, sizeof(line), "RCPT TO:<", 'a', 65, ">");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_BAD_ADDRESS); /* local part > 64 */
	/* AUTH initial response as long as the line allows */
	len = sp_build(line, sizeof(line), "AUTH PLAIN ", 'A', SMTP_ARG_MAX - 7, "");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_OK && strlen(sp_cmd.auth_initial) == SMTP_ARG_MAX - 7);
	len = sp_build(line, sizeof(line), "AUTH PLAIN ", 'A', SMTP_ARG_MAX, "");
	CHECK(smtp_parse_line(line, len, &sp_cmd) == SMTP_PARSE_SYNTAX);
}

TEST(smtp_parse_verb_names)
{
	CHECK_STR(smtp_verb_name(SMTP_VERB_MAIL), "MAIL");
	CHECK_STR(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	CHECK_STR(smtp_verb_name(SMTP_VERB_BDAT), "BDAT");
	CHECK_STR(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	CHECK_STR(smtp_verb_name(SMTP_VERB_COUNT), "UNKNOWN");
	/* every name parses back to its verb */
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		const char *name = smtp_verb_name((enum smtp_verb)v);

		smtp_parse_line(name, strlen(name), &sp_cmd);
		CHECK(sp_cmd.verb == (enum smtp_verb)v);
	}
}
