/*
 * smtp_reply.c - parses what the smarthost says: reply lines (RFC 5321
 * 4.2.1) into a struct smtp_reply (code, RFC 3463 enhanced status code,
 * text of all lines joined with "; " and made printable for logs and
 * bounces), and EHLO reply lines into a struct smtp_ehlo (STARTTLS,
 * PIPELINING, 8BITMIME, SIZE, AUTH PLAIN/LOGIN). Pure: no I/O, no
 * allocation, no global state, no locale. Runs in the relay process and owns
 * nothing but the caller's structs.
 */
#include "smtp_reply.h"

#include <stdio.h>
#include <string.h>

#define SR_SIZE_DIGITS_MAX 20 /* UINT64_MAX has 20 digits */

static int sr_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char sr_upper(char c)
{
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (c >= 'a' && c <= 'z') {
		return upper[c - 'a'];
	}
	return c;
}

/* 1 if s (len bytes) equals the upper-case word w, ignoring ASCII case. */
static int sr_word_eq(const char *s, size_t len, const char *w)
{
	size_t i;

	for (i = 0; i < len && w[i] != '\0'; i++) {
		if (sr_upper(s[i]) != w[i]) {
			return 0;
		}
	}
	return i == len && w[i] == '\0';
}

/* Length of the word at s: the bytes before the first SP. */
static size_t sr_word_len(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] != ' ') {
		i++;
	}
	return i;
}

/* The reply code of a line: 3 digits (first 2-5) and then SP, '-' or the end; -1 if malformed. */
static int sr_code(const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || !sr_is_digit(line[1]) || !sr_is_digit(line[2])) {
		return -1;
	}
	if (len > 3 && line[3] != ' ' && line[3] != '-') {
		return -1;
	}
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* Number of digits at s, at most 3 (a fourth digit then fails the caller's next check). */
static size_t sr_digits3(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && i < 3 && sr_is_digit(s[i])) {
		i++;
	}
	return i;
}

/*
 * Length of the RFC 3463 enhanced status code at the start of s ("5.1.1":
 * class 2, 4 or 5, '.', 1-3 digits, '.', 1-3 digits, then SP or the end),
 * whose class must be cls; 0 if there is none.
 */
static size_t sr_enhanced_len(const char *s, size_t len, char cls)
{
	size_t i, n;

	if ((cls != '2' && cls != '4' && cls != '5') || len < 5 || s[0] != cls || s[1] != '.') {
		return 0;
	}
	i = 2;
	n = sr_digits3(s + i, len - i);
	if (n == 0) {
		return 0;
	}
	i += n;
	if (i >= len || s[i] != '.') {
		return 0;
	}
	i++;
	n = sr_digits3(s + i, len - i);
	if (n == 0) {
		return 0;
	}
	i += n;
	if (i < len && s[i] != ' ') {
		return 0;
	}
	return i;
}

/* Appends len bytes at *used, bytes outside printable ASCII as '?', truncating silently. */
static void sr_put(char *text, size_t *used, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *used < SMTP_REPLY_TEXT_MAX - 1; i++) {
		char c = s[i];

		if (c < 0x20 || c > 0x7e) {
			c = '?';
		}
		text[(*used)++] = c;
	}
	text[*used] = '\0';
}

/* Adds one line's text to the reply's text, after "; " unless it is the first non-empty one. */
static void sr_append(struct smtp_reply *r, const char *s, size_t len)
{
	size_t used = strnlen(r->text, sizeof(r->text) - 1);

	if (len == 0) {
		return;
	}
	if (used > 0) {
		if (used + 2 >= SMTP_REPLY_TEXT_MAX - 1) {
			return; /* no room for a byte after the separator */
		}
		sr_put(r->text, &used, "; ", 2);
	}
	sr_put(r->text, &used, s, len);
}

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

enum smtp_reply_status smtp_reply_line(struct smtp_reply *r, const char *line, size_t len)
{
	const char *text;
	size_t tlen, elen;
	int code, last;

	if (r->done != 0) {
		return (enum smtp_reply_status)r->done;
	}
	code = sr_code(line, len);
	if (code < 0 || (r->nlines > 0 && code != r->code) || r->nlines >= SMTP_REPLY_LINES_MAX) {
		r->done = SMTP_REPLY_BAD;
		return SMTP_REPLY_BAD;
	}
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : line + len;
	tlen = len > 4 ? len - 4 : 0;
	elen = sr_enhanced_len(text, tlen, line[0]);
	if (elen > 0) {
		if (r->nlines == 0) {
			memcpy(r->enhanced, text, elen); /* elen <= 9 < sizeof(r->enhanced) */
			r->enhanced[elen] = '\0';
		}
		elen += elen < tlen; /* and the SP after it */
		text += elen;
		tlen -= elen;
	}
	r->code = code;
	r->nlines++;
	sr_append(r, text, tlen);
	if (last) {
		r->done = SMTP_REPLY_DONE;
		return SMTP_REPLY_DONE;
	}
	return SMTP_REPLY_MORE;
}

void smtp_ehlo_init(struct smtp_ehlo *e)
{
	memset(e, 0, sizeof(*e));
}

/* The mechanisms after "AUTH" or "AUTH=": SP-separated words. */
static void sr_ehlo_auth(struct smtp_ehlo *e, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t w = sr_word_len(s + i, len - i);

		if (sr_word_eq(s + i, w, "PLAIN")) {
			e->auth_plain = 1;
		} else if (sr_word_eq(s + i, w, "LOGIN")) {
			e->auth_login = 1;
		} else if (sr_word_eq(s + i, w, "XOAUTH2")) {
			e->auth_xoauth2 = 1;
		} else if (sr_word_eq(s + i, w, "OAUTHBEARER")) {
			e->auth_oauthbearer = 1;
		}
		i += w + (w < len - i);
	}
}

/* What follows "SIZE": nothing or a decimal of at most 20 digits (trailing SPs allowed). */
static void sr_ehlo_size(struct smtp_ehlo *e, const char *s, size_t len)
{
	uint64_t n = 0;
	size_t i = 0, digits = 0;

	e->has_size = 0;
	e->size = 0;
	while (i < len && s[i] == ' ') {
		i++;
	}
	for (; i < len && sr_is_digit(s[i]); i++, digits++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (digits >= SR_SIZE_DIGITS_MAX || n > (UINT64_MAX - d) / 10) {
			return; /* too long, or beyond UINT64_MAX */
		}
		n = n * 10 + d;
	}
	while (i < len && s[i] == ' ') {
		i++;
	}
	if (i < len) {
		return; /* garbage */
	}
	e->has_size = 1;
	e->size = n;
}

void smtp_ehlo_line(struct smtp_ehlo *e, const char *line, size_t len)
{
	const char *s;
	size_t n, w;

	if (!e->seen_first) {
		e->seen_first = 1;
		return;
	}
	if (len < 4 || memcmp(line, "250", 3) != 0 || (line[3] != '-' && line[3] != ' ')) {
		return;
	}
	s = line + 4;
	n = len - 4;
	w = sr_word_len(s, n);
	if (sr_word_eq(s, w, "STARTTLS")) {
		e->starttls = 1;
	} else if (sr_word_eq(s, w, "PIPELINING")) {
		e->pipelining = 1;
	} else if (sr_word_eq(s, w, "8BITMIME")) {
		e->eightbitmime = 1;
	} else if (sr_word_eq(s, w, "SIZE")) {
		sr_ehlo_size(e, s + w, n - w);
	} else if (sr_word_eq(s, w, "AUTH")) {
		sr_ehlo_auth(e, s + w, n - w);
	} else if (w >= 5 && sr_word_eq(s, 5, "AUTH=")) {
		sr_ehlo_auth(e, s + 5, n - 5);
	}
}

int smtp_command_vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
	int n = cap > 2 ? vsnprintf(out, cap - 2, fmt, ap) : -1;

	if (n < 0 || (size_t)n >= cap - 2) {
		return -1;
	}
	out[n] = '\r';
	out[n + 1] = '\n';
	out[n + 2] = '\0'; /* n + 2 < cap: a C string too */
	return n + 2;
}

int smtp_reply_basic_auth_disabled(const struct smtp_reply *r)
{
	if (SMTP_REPLY_CLASS(r->code) != 5 || strcasestr(r->text, "SmtpClientAuthentication is disabled") != NULL) {
		return 0;
	}
	return (r->code == 535 && strcmp(r->enhanced, "5.7.139") == 0) ||
	       (r->code == 550 && strcmp(r->enhanced, "5.7.30") == 0) ||
	       strcasestr(r->text, "basic authentication is disabled") != NULL ||
	       strcasestr(r->text, "basic authentication is not supported") != NULL;
}
