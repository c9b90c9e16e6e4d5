/*
 * smtp_reply.h - parsing what a smarthost says (RFC 5321 section 4.2):
 * multi-line replies ("250-..." continued by "250 ..."), their code, the
 * RFC 3463 enhanced status code when present, and the EHLO capabilities
 * (RFC 5321 4.1.1.1, RFC 4954 AUTH, RFC 1870 SIZE, RFC 3207 STARTTLS,
 * RFC 2920 PIPELINING, RFC 6152 8BITMIME; AUTH XOAUTH2 and RFC 7628
 * OAUTHBEARER as well). Pure: bytes in, struct out.
 * Also the client's side of a command: one formatted line ending in CRLF,
 * and which refusals of a password login mean "no more passwords here".
 * Runs in the relay process; fuzzed by tests/fuzz/smtp_reply_fuzz.c.
 */
#ifndef SUBGATE_SMTP_REPLY_H
#define SUBGATE_SMTP_REPLY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_TEXT_MAX  512 /* kept text of a reply (lines joined with "; "), truncated beyond */
#define SMTP_REPLY_LINES_MAX 64  /* a reply with more lines is an error */

struct smtp_reply {
	/* private state while lines arrive */
	unsigned nlines;
	int done;
	/* result */
	int code;                       /* 3-digit reply code, e.g. 250 */
	char enhanced[16];              /* "2.0.0" when the first line has one, else "" */
	char text[SMTP_REPLY_TEXT_MAX]; /* the text after the code (and enhanced code) */
};

enum smtp_reply_status {
	SMTP_REPLY_MORE = 0, /* a continuation line ("250-"); feed the next one */
	SMTP_REPLY_DONE,     /* the last line ("250 " or "250" alone): the reply is complete */
	SMTP_REPLY_BAD,      /* malformed: not 3 digits + SP/-/end, code changed between lines, too many lines */
};

void smtp_reply_init(struct smtp_reply *r);

/*
 * Formats a command (without line end) into out and appends CRLF (and a
 * NUL). Returns the length including the CRLF, or -1 when it does not fit
 * in cap bytes.
 */
int smtp_command_vformat(char *out, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Feeds one line (without CRLF). */
enum smtp_reply_status smtp_reply_line(struct smtp_reply *r, const char *line, size_t len);

/* What an EHLO reply says the server supports. */
struct smtp_ehlo {
	int starttls;
	int pipelining;
	int eightbitmime;
	int auth_plain;
	int auth_login;
	int auth_xoauth2;     /* Google's and Microsoft's OAuth2 mechanism */
	int auth_oauthbearer; /* RFC 7628 */
	int has_size;
	uint64_t size; /* SIZE n; 0 with has_size = no fixed limit */
	/* private state while lines arrive */
	int seen_first; /* the greeting line (ignored) has gone by */
};

void smtp_ehlo_init(struct smtp_ehlo *e);

/*
 * Feeds one EHLO reply line (with its "250-" / "250 " prefix, without CRLF);
 * the first line (the greeting name) is ignored. Keywords are
 * case-insensitive; "AUTH=PLAIN LOGIN" (the old form) counts too.
 */
void smtp_ehlo_line(struct smtp_ehlo *e, const char *line, size_t len);

/*
 * 1 when r, a refusal of a password login (AUTH PLAIN or LOGIN), says the
 * server no longer takes passwords at all: Microsoft's 535 5.7.139, 550
 * 5.7.30, or a 5xx whose text says basic authentication is disabled or not
 * supported. Not Microsoft's "SmtpClientAuthentication is disabled" (SMTP
 * AUTH itself is off for the mailbox or tenant: OAuth2 would be refused too).
 */
int smtp_reply_basic_auth_disabled(const struct smtp_reply *r);

/* 1 if code is 2xx, etc. */
#define SMTP_REPLY_CLASS(code) ((code) / 100)

#endif
