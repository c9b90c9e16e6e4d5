/*
 * smtp_data.h - the DATA stream filter (RFC 5321 section 4.1.1.4 and 4.5.2):
 * finds the end of data (only <CRLF>.<CRLF>), removes dot-stuffing, checks
 * every line (bare CR, bare LF, NUL, length), and watches the header block
 * for Message-ID: and Date: so that the session can add them when missing
 * (RFC 6409 section 8.3), at the end of the header block, as Postfix's
 * cleanup does. Pure state machine: bytes in, bytes out, no I/O; it never
 * ends the message on <LF>.<LF>, <CR>.<CR> or any other look-alike
 * (SMTP smuggling, CVE-2023-51764). Fuzzed by tests/fuzz/smtp_data_fuzz.c.
 */
#ifndef SUBGATE_SMTP_DATA_H
#define SUBGATE_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

enum smtp_data_event {
	SMTP_DATA_MORE = 0,    /* all input consumed (or output full), need more */
	SMTP_DATA_HEADERS_END, /* the header block just ended: caller may insert headers now */
	SMTP_DATA_END,         /* <CRLF>.<CRLF> consumed; the message is complete */
	SMTP_DATA_BARE_LF,     /* protocol violation: LF without CR; caller replies 521 and closes */
	SMTP_DATA_BARE_CR,     /* protocol violation: CR not followed by LF; same */
};

/* Problems that do not break framing: the message is refused after its end. */
#define SMTP_DATA_ERR_NUL       0x1 /* a NUL byte was seen (554 5.6.0) */
#define SMTP_DATA_ERR_LONG_LINE 0x2 /* a line exceeded the limit (554 5.6.0) */

/* A header line's field name (and blanks before ':') is held back until its ':' is seen. */
#define SMTP_DATA_NAME_MAX 128

struct smtp_data {
	/* private state */
	int state;
	size_t line_len; /* octets of the current line so far, after unstuffing, CRLF included */
	size_t max_line; /* octets including CRLF (CONFIG_MAX_TEXT_LINE) */
	int in_headers;
	int headers_end_reported;
	int have_header;                /* a header field was seen: a line starting with a blank continues it */
	char hname[SMTP_DATA_NAME_MAX]; /* start of the current header line, held back */
	size_t hname_len;
	size_t name_len;  /* field name length within hname (without the blanks) */
	size_t flush_pos; /* hname[flush_pos..flush_len) is still to be produced */
	size_t flush_len;
	/* results */
	unsigned errors; /* SMTP_DATA_ERR_* */
	int has_message_id;
	int has_date;
	uint64_t bytes_out; /* message bytes produced so far (after unstuffing) */
	uint64_t lines;     /* lines produced so far */
};

/* Starts a message. max_line counts the CRLF (e.g. 1000). */
void smtp_data_init(struct smtp_data *d, size_t max_line);

/*
 * Consumes up to in_len bytes of DATA input and appends the message bytes
 * (CRLF line ends kept, dot-stuffing removed, the final ".CRLF" not included)
 * to out, at most out_cap bytes. *consumed and *produced report progress.
 * Returns the event that stopped it. After SMTP_DATA_HEADERS_END the caller
 * may write its own header lines into the output and call again; the blank
 * line that ends the header block (if any) is produced after that event, so
 * inserted headers land before it. A message without a blank line reports
 * HEADERS_END just before END. After END, unconsumed input belongs to the
 * next command (pipelining).
 *
 * Details:
 * - SMTP_DATA_MORE with *consumed == in_len: all input used, nothing is
 *   pending, feed more input. With *consumed < in_len: out is full; call
 *   again with the rest (and an emptied out buffer). No byte is lost or
 *   repeated however input and output are split.
 * - SMTP_DATA_HEADERS_END is reported exactly once per message (unless a
 *   framing violation comes first), at the first line of the message that
 *   is not a header field or a continuation of one: an empty line (reported
 *   before its CRLF is produced), a line without "name:" (reported before
 *   any byte of that line is produced; "name" is printable characters
 *   other than ':', optionally followed by blanks, SMTP_DATA_NAME_MAX octets
 *   at most), a line starting with a blank before any header, or the
 *   terminator (then END follows). The byte that revealed it is not consumed.
 * - Dot-unstuffing removes the first '.' of every line but the terminator.
 * - SMTP_DATA_BARE_LF / SMTP_DATA_BARE_CR: *consumed includes the offending
 *   byte (the LF, or the byte after the CR). END, BARE_LF and BARE_CR are
 *   final: later calls return them again and consume nothing.
 * - Line length (SMTP_DATA_ERR_LONG_LINE) counts the octets after unstuffing,
 *   CRLF included; a line of exactly max_line octets is fine.
 */
enum smtp_data_event smtp_data_feed(struct smtp_data *d, const char *in, size_t in_len, size_t *consumed, char *out,
				    size_t out_cap, size_t *produced);

#endif
