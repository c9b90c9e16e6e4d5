/*
 * smtp_received.h - the Received: trace header a submission adds (RFC 5321
 * 4.4, RFC 5322 3.6.7): the client's EHLO name made safe to quote, and a
 * header that is well formed whatever the length of its fields. Pure: no
 * I/O, no allocation. Used by the session process (session_data.c).
 */
#ifndef SUBGATE_SMTP_RECEIVED_H
#define SUBGATE_SMTP_RECEIVED_H

#include <stddef.h>

struct smtp_received {
	const char *helo;   /* the EHLO/HELO argument as the client sent it */
	const char *client; /* the client's address in text */
	const char *tls;    /* "TLSv1.2 with cipher ..." */
	const char *user;   /* the authenticated user */
	const char *by;     /* our host name */
	const char *id;     /* the queue id */
	const char *rcpt;   /* the only recipient, or NULL when there are several */
	const char *date;   /* RFC 5322 date-time */
};

/*
 * Copies an EHLO argument to out (cap > 0), replacing each byte outside the
 * RFC 5321 Domain / address-literal alphabet (letters, digits, '-', '.',
 * '_', '[', ']', ':') with '?': no parentheses, spaces, semicolons or angle
 * brackets reach the header, so the client cannot forge a comment or a
 * clause. Truncates to cap - 1 bytes.
 */
void smtp_received_helo(char *out, size_t cap, const char *helo);

/*
 * Writes the whole header, CRLF-terminated and folded into lines of at most
 * 998 characters, into out. When it does not fit in cap, the "for" clause is
 * left out first, then the free-form fields (EHLO name, user, TLS, host name)
 * are shortened; the result is always a complete header. Returns its length,
 * or 0 (out = "") when cap cannot hold even the shortest form.
 */
size_t smtp_received_format(char *out, size_t cap, const struct smtp_received *r);

#endif
