/*
 * bounce.c - composes the delivery status notification for a message the
 * relay could not deliver: RFC 6522 multipart/report with a Postfix-like
 * human text, an RFC 3464 message/delivery-status part and the original
 * header block as text/rfc822-headers. Runs in the queue process. Pure: no
 * I/O but the caller's writer (wbuf.h), no allocation, no global state, no
 * locale; it owns no buffer. The result is 7-bit ASCII with
 * CRLF line ends and no line over 998 octets, whatever the inputs hold.
 */
#include "bounce.h"

#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BOUNCE_FIELD_MAX    512   /* hostname, ids, addresses: far below 998 with any prefix */
#define BOUNCE_BOUNDARY_MAX 70    /* RFC 2046 5.1.1 */
#define BOUNCE_WRAP         78    /* human text width */
#define BOUNCE_INDENT       4     /* continuation lines of the human text */
#define BOUNCE_DIAG_MAX     900   /* Diagnostic-Code text kept on its one line */
#define BOUNCE_LINE_MAX     998   /* RFC 5322 2.1.1, without CRLF */
#define BOUNCE_HEADERS_MAX  65536 /* original header bytes copied, CRLFs included */
#define BOUNCE_DATE_CAP     40

/* Word-wrapping state for the human-readable part. */
struct bounce_wrap {
	size_t col;
	int need_space;
};

/* One byte to the writer; after a failure of its sink nothing more is sent (the error is sticky). */
static void bounce_byte(struct wbuf *o, char c)
{
	(void)wbuf_put(o, &c, 1);
}

/*
 * The byte as it may appear in the bounce: printable ASCII and TAB pass,
 * anything else (8-bit, controls) becomes '?'. With blank set, CR, LF and
 * TAB become a space (a multi-line SMTP reply joined into one line).
 */
static char bounce_map(unsigned char c, int blank)
{
	if (blank && (c == '\r' || c == '\n' || c == '\t')) {
		return ' ';
	}
	if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
		return (char)c;
	}
	return '?';
}

static void bounce_text(struct wbuf *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		bounce_byte(o, bounce_map((unsigned char)s[i], 0));
	}
}

static void bounce_str(struct wbuf *o, const char *s)
{
	bounce_text(o, s, strlen(s));
}

static void bounce_crlf(struct wbuf *o)
{
	bounce_byte(o, '\r');
	bounce_byte(o, '\n');
}

/* One line: a fixed head, a value (may be NULL), CRLF. */
static void bounce_line(struct wbuf *o, const char *head, const char *value)
{
	bounce_str(o, head);
	if (value != NULL) {
		bounce_str(o, value);
	}
	bounce_crlf(o);
}

/* A field for a header line: present, non-empty, short, and no CR or LF. */
static int bounce_field_ok(const char *s)
{
	size_t n;

	if (s == NULL) {
		return 0;
	}
	n = strnlen(s, BOUNCE_FIELD_MAX + 1);
	return n > 0 && n <= BOUNCE_FIELD_MAX && strpbrk(s, "\r\n") == NULL;
}

/* 1 to 3 digits at *p, which is moved past them. */
static int bounce_digits(const char **p)
{
	size_t n = 0;

	while (**p >= '0' && **p <= '9') {
		(*p)++;
		n++;
	}
	return n >= 1 && n <= 3;
}

/* RFC 3463 status of a failure: class "." subject "." detail, class 4 or 5. */
static int bounce_status_ok(const char *s)
{
	if (s == NULL || (s[0] != '4' && s[0] != '5') || s[1] != '.') {
		return 0;
	}
	s += 2;
	if (!bounce_digits(&s) || *s != '.') {
		return 0;
	}
	s++;
	return bounce_digits(&s) && *s == '\0';
}

/* RFC 2046 5.1.1: 1 to 70 bchars, not ending with a space. */
static int bounce_boundary_ok(const char *s)
{
	size_t i;

	if (s == NULL) {
		return 0;
	}
	for (i = 0; s[i] != '\0'; i++) {
		int alnum =
		    (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z');

		if (i == BOUNCE_BOUNDARY_MAX || (!alnum && strchr("'()+_,-./:=? ", s[i]) == NULL)) {
			return 0;
		}
	}
	return i > 0 && s[i - 1] != ' ';
}

static int bounce_valid(const struct bounce_info *info, const char *headers, size_t len)
{
	unsigned i;

	if (!bounce_field_ok(info->hostname) || !bounce_field_ok(info->queue_id) || !bounce_field_ok(info->sender) ||
	    !bounce_field_ok(info->message_id) || !bounce_boundary_ok(info->boundary)) {
		return 0;
	}
	if (info->smarthost != NULL && info->smarthost[0] != '\0' && !bounce_field_ok(info->smarthost)) {
		return 0;
	}
	if (info->nrcpt == 0 || info->rcpts == NULL || (headers == NULL && len > 0)) {
		return 0;
	}
	for (i = 0; i < info->nrcpt; i++) {
		if (!bounce_field_ok(info->rcpts[i].addr) || !bounce_status_ok(info->rcpts[i].status)) {
			return 0;
		}
	}
	return 1;
}

/* The Remote-MTA name, or NULL when there is none. */
static const char *bounce_mta(const struct bounce_info *info)
{
	if (info->smarthost == NULL || info->smarthost[0] == '\0') {
		return NULL;
	}
	return info->smarthost;
}

/* The smarthost's reply, or NULL when there is none. */
static const char *bounce_diag(const struct bounce_rcpt *r)
{
	if (r->diagnostic == NULL || r->diagnostic[0] == '\0') {
		return NULL;
	}
	return r->diagnostic;
}

static void bounce_headers(struct wbuf *o, const struct bounce_info *info)
{
	char date[BOUNCE_DATE_CAP];

	timefmt_rfc5322(info->now, date, sizeof(date));
	bounce_str(o, "From: MAILER-DAEMON@");
	bounce_str(o, info->hostname);
	bounce_line(o, " (Mail Delivery System)", NULL);
	bounce_line(o, "To: ", info->sender);
	bounce_line(o, "Subject: Undelivered Mail Returned to Sender", NULL);
	bounce_line(o, "Date: ", date);
	bounce_line(o, "Message-ID: ", info->message_id);
	bounce_line(o, "Auto-Submitted: auto-replied", NULL); /* RFC 3834 5 */
	bounce_line(o, "MIME-Version: 1.0", NULL);
	bounce_str(o, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"");
	bounce_str(o, info->boundary);
	bounce_line(o, "\"", NULL);
	bounce_crlf(o);
	bounce_line(o, "This is a MIME-encapsulated message.", NULL);
}

/* A delimiter (its leading CRLF ends the previous body) and the part's header. */
static void bounce_part(struct wbuf *o, const char *boundary, const char *description, const char *type)
{
	bounce_crlf(o);
	bounce_line(o, "--", boundary);
	bounce_line(o, "Content-Description: ", description);
	bounce_line(o, "Content-Type: ", type);
	bounce_crlf(o);
}

/* Ends the current line of the human text and indents the next one. */
static void bounce_wrap_break(struct wbuf *o, struct bounce_wrap *w)
{
	size_t i;

	bounce_crlf(o);
	for (i = 0; i < BOUNCE_INDENT; i++) {
		bounce_byte(o, ' ');
	}
	w->col = BOUNCE_INDENT;
	w->need_space = 0;
}

/* One word: on this line if it fits, else on the next; cut if no line holds it. */
static void bounce_wrap_word(struct wbuf *o, struct bounce_wrap *w, const char *word, size_t n)
{
	size_t i;

	if (w->need_space && w->col + 1 + n > BOUNCE_WRAP) {
		bounce_wrap_break(o, w);
	}
	if (w->need_space) {
		bounce_byte(o, ' ');
		w->col++;
	}
	for (i = 0; i < n; i++) {
		if (w->col >= BOUNCE_WRAP) {
			bounce_wrap_break(o, w);
		}
		bounce_byte(o, bounce_map((unsigned char)word[i], 1));
		w->col++;
	}
	w->need_space = 1;
}

/* Appends the words of s (split at blanks, CR and LF included) to the human text. */
static void bounce_wrap_text(struct wbuf *o, struct bounce_wrap *w, const char *s)
{
	size_t n = strlen(s);
	size_t i = 0;

	while (i < n) {
		size_t start;

		if (bounce_map((unsigned char)s[i], 1) == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < n && bounce_map((unsigned char)s[i], 1) != ' ') {
			i++;
		}
		bounce_wrap_word(o, w, s + start, i - start);
	}
}

/* "<addr>: why", wrapped as Postfix does. */
static void bounce_reason(struct wbuf *o, const struct bounce_info *info, const struct bounce_rcpt *r)
{
	struct bounce_wrap w = { strlen(r->addr) + 3, 1 };
	const char *diag = bounce_diag(r);
	const char *mta = bounce_mta(info);

	bounce_str(o, "<");
	bounce_str(o, r->addr);
	bounce_str(o, ">:");
	if (info->expired) {
		bounce_wrap_text(o, &w,
				 diag != NULL ? "message could not be delivered within the queue lifetime; last error:"
					      : "message could not be delivered within the queue lifetime");
	} else if (diag != NULL && mta != NULL) {
		bounce_wrap_text(o, &w, "host");
		bounce_wrap_text(o, &w, mta);
		bounce_wrap_text(o, &w, "said:");
	} else if (diag == NULL) {
		bounce_wrap_text(o, &w, "delivery failed with status");
		bounce_wrap_text(o, &w, r->status);
	}
	if (diag != NULL) {
		bounce_wrap_text(o, &w, diag);
	}
	bounce_crlf(o);
}

static void bounce_human(struct wbuf *o, const struct bounce_info *info)
{
	static const char *const text[] = {
		"",
		"I'm sorry to have to inform you that your message could not",
		"be delivered to one or more recipients. The headers of your",
		"message are attached below.",
		"",
		"For further assistance, please send mail to postmaster.",
		"",
		"If you do so, please include this problem report.",
		"",
		"                   The mail system",
	};
	size_t i;

	bounce_str(o, "This is the mail system at host ");
	bounce_str(o, info->hostname);
	bounce_line(o, ".", NULL);
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		bounce_line(o, text[i], NULL);
	}
	for (i = 0; i < info->nrcpt; i++) {
		bounce_crlf(o);
		bounce_reason(o, info, &info->rcpts[i]);
	}
}

/* Diagnostic-Code on one line: the reply joined into one line, cut with "...". */
static void bounce_diag_line(struct wbuf *o, const char *diag)
{
	size_t n = strlen(diag);
	size_t i;

	bounce_str(o, "Diagnostic-Code: smtp; ");
	for (i = 0; i < n && i < BOUNCE_DIAG_MAX; i++) {
		bounce_byte(o, bounce_map((unsigned char)diag[i], 1));
	}
	if (n > BOUNCE_DIAG_MAX) {
		bounce_str(o, "...");
	}
	bounce_crlf(o);
}

/* RFC 3464 2.2-2.3: per-message fields, then one block per recipient. */
static void bounce_status(struct wbuf *o, const struct bounce_info *info)
{
	char date[BOUNCE_DATE_CAP];
	const char *mta = bounce_mta(info);
	unsigned i;

	timefmt_rfc5322(info->arrival, date, sizeof(date));
	bounce_line(o, "Reporting-MTA: dns; ", info->hostname);
	bounce_line(o, "X-Subgate-Queue-ID: ", info->queue_id);
	bounce_line(o, "Arrival-Date: ", date);
	for (i = 0; i < info->nrcpt; i++) {
		const struct bounce_rcpt *r = &info->rcpts[i];

		bounce_crlf(o);
		bounce_line(o, "Final-Recipient: rfc822; ", r->addr);
		bounce_line(o, "Action: failed", NULL);
		bounce_line(o, "Status: ", r->status);
		if (mta != NULL) {
			bounce_line(o, "Remote-MTA: dns; ", mta);
		}
		if (bounce_diag(r) != NULL) {
			bounce_diag_line(o, r->diagnostic);
		}
	}
}

/* One original header line, already cut to 998; "--" at its start could end the part. */
static void bounce_header_line(struct wbuf *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i == 0 && n >= 2 && s[0] == '-' && s[1] == '-') {
			bounce_byte(o, '?');
		} else {
			bounce_byte(o, bounce_map((unsigned char)s[i], 0));
		}
	}
	bounce_crlf(o);
}

/*
 * The original header block: CRLF, bare CR and bare LF all end a line; an
 * empty line ends the block; lines are cut to 998 and the copy to 64 KiB.
 */
static void bounce_copy_headers(struct wbuf *o, const char *h, size_t len)
{
	size_t pos = 0;
	size_t total = 0;

	while (pos < len) {
		size_t end = pos;
		size_t next;
		size_t n;

		while (end < len && h[end] != '\r' && h[end] != '\n') {
			end++;
		}
		next = end;
		if (next < len && h[next] == '\r') {
			next++;
			if (next < len && h[next] == '\n') {
				next++;
			}
		} else if (next < len) {
			next++;
		}
		n = end - pos;
		if (n == 0) {
			break;
		}
		if (n > BOUNCE_LINE_MAX) {
			n = BOUNCE_LINE_MAX;
		}
		if (total + n + 2 > BOUNCE_HEADERS_MAX) {
			break;
		}
		bounce_header_line(o, h + pos, n);
		total += n + 2;
		pos = next;
	}
}

int bounce_compose(const struct bounce_info *info, const char *original_headers, size_t len, struct wbuf *o)
{
	if (info == NULL || o == NULL || !bounce_valid(info, original_headers, len)) {
		errno = EINVAL;
		return -1;
	}
	bounce_headers(o, info);
	bounce_part(o, info->boundary, "Notification", "text/plain; charset=us-ascii");
	bounce_human(o, info);
	bounce_part(o, info->boundary, "Delivery report", "message/delivery-status");
	bounce_status(o, info);
	bounce_part(o, info->boundary, "Undelivered Message Headers", "text/rfc822-headers");
	bounce_copy_headers(o, original_headers, len);
	bounce_crlf(o);
	bounce_str(o, "--");
	bounce_str(o, info->boundary);
	bounce_line(o, "--", NULL);
	return wbuf_flush(o);
}
