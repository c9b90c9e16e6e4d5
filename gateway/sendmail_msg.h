/*
 * sendmail_msg.h - the message side of the sendmail front end, pure (bytes
 * in, bytes out, no I/O) so that it can be unit-tested and fuzzed: splitting
 * standard input into lines (LF or CRLF, at most 998 bytes), the header block
 * (kept in caller-owned memory up to SENDMAIL_HEAD_MAX, fields with their
 * folded lines), recipients from To:/Cc:/Bcc: and from the command line
 * (RFC 5322 address lists: display names, comments, quoted strings, groups,
 * routes), the From: line it adds, and the SMTP form of a line (CRLF,
 * dot-stuffing). Runs in the sendmail command only.
 */
#ifndef SUBGATE_SENDMAIL_MSG_H
#define SUBGATE_SENDMAIL_MSG_H

#include <stddef.h>

#include "addr.h"

#define SENDMAIL_LINE_MAX 998   /* octets of a line without CRLF (RFC 5322 2.1.1) */
#define SENDMAIL_HEAD_MAX 65536 /* the header block as kept (lines end in "\n") */
#define SENDMAIL_RCPT_MAX 1000  /* distinct recipients of one message */
#define SENDMAIL_RCPT_BUF 65536 /* their addresses, NUL-terminated one after the other */
#define SENDMAIL_NAME_MAX 200   /* octets of -F NAME that are used */
#define SENDMAIL_FROM_MAX (16 + 2 * SENDMAIL_NAME_MAX + ADDR_MAX)

/* --- lines ------------------------------------------------------------------ */

enum sendmail_line {
	SENDMAIL_LINE_OK,     /* a line: *line_len octets (no line end), *used octets consumed */
	SENDMAIL_LINE_NEED,   /* no complete line in the buffer: read more (at EOF: nothing left) */
	SENDMAIL_LINE_LONG,   /* longer than SENDMAIL_LINE_MAX */
	SENDMAIL_LINE_BARE_CR /* a CR that does not end the line (SMTP forbids it) */
};

/*
 * Finds the first line in buf[0..len): LF or CRLF ends it; at eof, the rest
 * (without a line end) is a last line. A line is known to be too long once
 * SENDMAIL_LINE_MAX + 2 octets have no LF, so a caller needs a buffer of at
 * least that size, and reads more while it gets SENDMAIL_LINE_NEED.
 */
enum sendmail_line sendmail_line_next(const char *buf, size_t len, int eof, size_t *line_len, size_t *used);

/*
 * The SMTP form of a line: a leading "." doubled (RFC 5321 4.5.2), CRLF
 * appended. out needs len + 3 octets. Returns the octets written.
 */
size_t sendmail_line_smtp(const char *line, size_t len, char *out);

/* --- the header block -------------------------------------------------------- */

struct sendmail_head {
	char text[SENDMAIL_HEAD_MAX]; /* the header lines, each ending in "\n" (no CR) */
	size_t len;
	int have_field; /* a field has begun: a line starting with a blank continues it */
};

enum sendmail_head_status {
	SENDMAIL_HEAD_MORE, /* kept: feed the next line */
	SENDMAIL_HEAD_END,  /* the empty line that ends the header block (not kept) */
	SENDMAIL_HEAD_BODY, /* neither a field nor a continuation: the block has ended and this
			       line is the first of the body (the caller adds the empty line) */
	SENDMAIL_HEAD_FULL  /* the block would exceed SENDMAIL_HEAD_MAX */
};

void sendmail_head_init(struct sendmail_head *h);

/* Feeds one line of the message (without its line end). */
enum sendmail_head_status sendmail_head_line(struct sendmail_head *h, const char *line, size_t len);

/* One header field: name (before ':') and value (after ':', folds kept as "\n" + blank). */
struct sendmail_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	const char *start; /* the whole field: its first line to its last "\n" */
	size_t len;
};

/* The field at *pos (start with 0); advances *pos. Returns 1, or 0 after the last. */
int sendmail_head_field(const struct sendmail_head *h, size_t *pos, struct sendmail_field *f);

/* 1 if the field's name is `name` (ASCII case-insensitive). */
int sendmail_field_is(const struct sendmail_field *f, const char *name);

/* 1 if the block has a field called `name`. */
int sendmail_head_has(const struct sendmail_head *h, const char *name);

/* --- recipients --------------------------------------------------------------- */

struct sendmail_rcpts {
	char buf[SENDMAIL_RCPT_BUF];
	size_t len;
	unsigned n;
	const char *error; /* why the last sendmail_rcpts_parse() failed */
};

void sendmail_rcpts_init(struct sendmail_rcpts *r);

/*
 * Adds the addresses of an RFC 5322 address list (a command-line argument
 * or a To:/Cc:/Bcc: value; "\n" and blanks are folding white space):
 * "a@b, c@d", "Name <a@b>", "\"Quoted, Name\" <a@b>", "a@b (comment)",
 * "group: a@b, c@d;", "<@route:a@b>", bare local names ("root"). Empty
 * members and "<>" are skipped; an address seen before is not added again.
 * Returns the number of addresses added, or -1 with r->error set
 * (unbalanced quote, comment or bracket; a display name without an
 * address; an address over ADDR_MAX octets or with control characters; more
 * than SENDMAIL_RCPT_MAX recipients). Addresses added before the error stay.
 */
int sendmail_rcpts_parse(struct sendmail_rcpts *r, const char *s, size_t len);

/* The recipients one after the other: start with *pos = 0; NULL after the last. */
const char *sendmail_rcpts_next(const struct sendmail_rcpts *r, size_t *pos);

/*
 * Adds every address of the To:, Cc: and Bcc: fields of h (sendmail -t).
 * Returns the number added, or -1 with r->error set; *bad receives the
 * name of the field that failed.
 */
int sendmail_rcpts_from_head(struct sendmail_rcpts *r, const struct sendmail_head *h, const char **bad);

/* --- the sender ------------------------------------------------------------------ */

/*
 * The effective sender from the reply text to MAIL ("<bob@gw.example.net>:
 * Sender ok", after the code and enhanced code) into out. Returns 0, or -1
 * if the text does not start with a usable "<address>".
 */
int sendmail_reply_sender(const char *text, char *out, size_t cap);

/*
 * The sender given with -f / -r (or the login name) into out, without
 * surrounding <>; "" (the null sender) is allowed. Returns 0, or -1 when it
 * holds blanks, control characters or <>, or does not fit (ADDR_MAX, cap).
 */
int sendmail_arg_sender(const char *arg, char *out, size_t cap);

/*
 * The From: line (no line end) for a message without one: "From: ADDR", or
 * "From: NAME <ADDR>" with a full name (quoted when it is not plain words;
 * control characters become blanks; at most SENDMAIL_NAME_MAX octets).
 * out needs SENDMAIL_FROM_MAX octets. Returns the length.
 */
size_t sendmail_from_line(const char *name, const char *addr, char *out, size_t cap);

#endif
