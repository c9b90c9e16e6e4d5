/*
 * smtp_reply_fuzz.c - libFuzzer target for smtp_reply_line() and
 * smtp_ehlo_line(): the input is split into lines at '\n' (a trailing '\r'
 * removed), which are fed to the reply parser until it is DONE or BAD, and
 * all of them to the EHLO parser. Besides the sanitizers it checks the
 * parser's promises: text and enhanced code NUL-terminated within their
 * arrays, text only printable ASCII, a code in 200..599 when DONE, an
 * enhanced code that is empty or has the RFC 3463 form with the reply's
 * class, at most SMTP_REPLY_LINES_MAX lines, a final status that sticks and
 * a result that no later line changes, and a basic-authentication refusal
 * (smtp_reply_basic_auth_disabled) only in a 5xx. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void srf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* NUL-terminated within cap, only bytes 0x20..0x7e before the NUL; returns the length. */
static size_t srf_string(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	srf_assert(nul != NULL);
	size_t len = (size_t)(nul - s);
	for (size_t i = 0; i < len; i++) {
		srf_assert(s[i] >= 0x20 && s[i] < 0x7f);
	}
	return len;
}

/* i advanced over 1-3 digits of s (len bytes), or 0 if there are none or more than 3. */
static size_t srf_digits(const char *s, size_t len, size_t i)
{
	size_t start = i;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
	}
	return (i == start || i - start > 3) ? 0 : i;
}

/* "" or class '.' 1-3 digits '.' 1-3 digits, with class the first digit of code. */
static void srf_check_enhanced(const char *e, size_t len, int code)
{
	size_t i;

	if (len == 0) {
		return;
	}
	srf_assert(len >= 5 && e[1] == '.' && e[0] - '0' == code / 100);
	srf_assert(e[0] == '2' || e[0] == '4' || e[0] == '5');
	i = srf_digits(e, len, 2);
	srf_assert(i > 0 && i < len && e[i] == '.');
	i = srf_digits(e, len, i + 1);
	srf_assert(i == len);
}

static void srf_check_reply(const struct smtp_reply *r, enum smtp_reply_status st)
{
	size_t elen = srf_string(r->enhanced, sizeof(r->enhanced));

	srf_string(r->text, sizeof(r->text));
	srf_assert(st == SMTP_REPLY_MORE || st == SMTP_REPLY_DONE || st == SMTP_REPLY_BAD);
	srf_assert(r->nlines <= SMTP_REPLY_LINES_MAX);
	if (st == SMTP_REPLY_DONE) {
		srf_assert(r->code >= 200 && r->code <= 599 && r->nlines >= 1);
	}
	if (r->nlines > 0) {
		srf_assert(r->code >= 200 && r->code <= 599);
	}
	srf_check_enhanced(r->enhanced, elen, r->code);
}

/* Once DONE or BAD, another line changes neither the status nor the result. */
static void srf_check_sticky(struct smtp_reply *r, enum smtp_reply_status st, const char *line, size_t len)
{
	static struct smtp_reply before;

	memcpy(&before, r, sizeof(before));
	srf_assert(smtp_reply_line(r, line, len) == st);
	srf_assert(memcmp(&before, r, sizeof(before)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_reply r;
	static struct smtp_ehlo e;
	enum smtp_reply_status st = SMTP_REPLY_MORE;
	const char *in = (const char *)data;
	size_t pos = 0;

	smtp_reply_init(&r);
	smtp_ehlo_init(&e);
	while (pos < size) {
		const char *nl = memchr(in + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - in) : size;
		size_t len = end - pos;

		if (len > 0 && in[pos + len - 1] == '\r') {
			len--;
		}
		if (st == SMTP_REPLY_MORE) {
			st = smtp_reply_line(&r, in + pos, len);
			srf_check_reply(&r, st);
		} else {
			srf_check_sticky(&r, st, in + pos, len);
		}
		smtp_ehlo_line(&e, in + pos, len);
		srf_assert(e.has_size || e.size == 0);
		pos = end + 1;
	}
	if (st == SMTP_REPLY_DONE) {
		int basic = smtp_reply_basic_auth_disabled(&r);

		srf_assert(basic == 0 || (basic == 1 && SMTP_REPLY_CLASS(r.code) == 5));
	}
	if (st != SMTP_REPLY_MORE) {
		srf_check_sticky(&r, st, "250 x", 5);
		srf_check_sticky(&r, st, NULL, 0);
	}
	return 0;
}
