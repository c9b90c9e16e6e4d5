/*
 * smtp_parse.h - the SMTP command parser (RFC 5321 section 4.1, with the
 * ESMTP parameters of RFC 1870 SIZE, RFC 6152 BODY, RFC 4954 AUTH=).
 * Pure: one command line in (without its CRLF), one struct out. No I/O, no
 * allocation. Runs in the session process; fuzzed by tests/fuzz/smtp_parse_fuzz.c.
 */
#ifndef SUBGATE_SMTP_PARSE_H
#define SUBGATE_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_HELP,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_BDAT,
	SMTP_VERB_COUNT,
};

/* Why a line did not parse; each maps to one reply in the session. */
enum smtp_parse_status {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_UNKNOWN_VERB,  /* 500 5.5.1 */
	SMTP_PARSE_SYNTAX,        /* 501 5.5.4 (argument syntax) */
	SMTP_PARSE_BAD_ADDRESS,   /* 501 5.1.3 (MAIL FROM / RCPT TO path) */
	SMTP_PARSE_UNKNOWN_PARAM, /* 555 5.5.4 (unsupported ESMTP parameter) */
	SMTP_PARSE_BAD_CHARACTER, /* 500 5.5.2 (NUL, control or non-ASCII byte in a command) */
	SMTP_PARSE_FORBIDDEN,     /* an HTTP request or header line: 521, close (Postfix smtpd_forbidden_commands) */
};

#define SMTP_ARG_MAX       512
#define SMTP_AUTH_MECH_MAX 20

struct smtp_cmd {
	enum smtp_verb verb;
	/* Text after the verb and one space, trailing blanks removed (EHLO name, AUTH args, ...). */
	char arg[SMTP_ARG_MAX];
	/* MAIL and RCPT: the path without angle brackets; "" is the null sender <>. */
	char path[ADDR_MAX + 1];
	/* MAIL parameters. */
	int has_size;
	uint64_t size;      /* SIZE=n (RFC 1870) */
	int body_8bitmime;  /* BODY=8BITMIME (1), BODY=7BIT (0) */
	int has_auth_param; /* AUTH=<...> given (RFC 4954 section 5); value ignored */
	/* AUTH: mechanism (upper-cased) and optional initial response ("" if none, "=" if empty). */
	char auth_mech[SMTP_AUTH_MECH_MAX + 1];
	char auth_initial[SMTP_ARG_MAX];
};

/*
 * Parses one command line (len bytes, CRLF already removed; the line reader
 * has rejected bare CR/LF and over-long lines). Verbs are case-insensitive.
 * "MAIL FROM:<a@b> SIZE=10" and "RCPT TO:<a@b>" need the colon; a space
 * after the colon is tolerated (common client bug). Addresses are validated
 * with addr_valid_mailbox(); RCPT TO:<postmaster> (no domain) is accepted
 * (RFC 5321 4.5.1) and also bare local names (e.g. <root>) are returned with
 * an empty domain so the session can map aliases. Source routes (<@a:b@c>)
 * are rejected. Returns SMTP_PARSE_OK with *cmd filled, or a status.
 *
 * Details: trailing SPs are ignored; then a line that starts like HTTP
 * ("GET ", "POST ", "CONNECT ", "Host:", "User-Agent:", any case) is
 * SMTP_PARSE_FORBIDDEN before anything else is looked at; the verb is followed by the end or
 * exactly one SP. Any byte below 0x20 (TAB included), 0x7f or above is
 * SMTP_PARSE_BAD_CHARACTER (checked first). cmd->verb is set whenever the
 * verb was recognised, also when the status is not OK. EHLO/HELO/VRFY/EXPN
 * need an argument; STARTTLS/DATA/RSET/QUIT take none; NOOP/HELP/BDAT take
 * anything. MAIL knows SIZE, BODY (7BIT/8BITMIME) and AUTH (xtext); any other
 * MAIL parameter and every RCPT parameter is SMTP_PARSE_UNKNOWN_PARAM; a
 * malformed or repeated parameter is SMTP_PARSE_SYNTAX; a SIZE= of digits
 * beyond 2^64-1 is UINT64_MAX (too large, not malformed: RFC 1870 552). A field that does not
 * fit its array is SMTP_PARSE_SYNTAX (a path longer than ADDR_MAX:
 * SMTP_PARSE_BAD_ADDRESS). Every string in *cmd is always NUL-terminated.
 */
enum smtp_parse_status smtp_parse_line(const char *line, size_t len, struct smtp_cmd *cmd);

/* The verb's name in upper case, for logs ("MAIL"); "UNKNOWN" for SMTP_VERB_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb verb);

#endif
