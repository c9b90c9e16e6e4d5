/*
 * bounce_test.c - the delivery status notification composer: message
 * structure, the delivery-status fields, the copied original headers, the
 * date format, the limits on lines and bytes, and refused arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bounce.h"
#include "harness.h"

#define BOUNDARY "B0UND.4711/x=y"
#define CAP_SIZE (160 * 1024)

/* What the sink received. */
struct capture {
	char buf[CAP_SIZE];
	size_t len;
	unsigned calls;
	unsigned fail_at; /* 0: never fail; n: the n-th call fails */
};

static struct capture cap;

static ssize_t capture_sink(void *ctx, const char *data, size_t len)
{
	struct capture *c = ctx;

	c->calls++;
	if (c->fail_at != 0 && c->calls >= c->fail_at) {
		errno = ENOSPC;
		return -1;
	}
	if (len > sizeof(c->buf) - 1 - c->len) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return (ssize_t)len;
}

/* The writer the queue gives the composer: 512 octets, flushed to the capture. */
static struct wbuf *capture_out(void)
{
	static char store[512];
	static struct wbuf out;

	wbuf_init(&out, store, sizeof(store), capture_sink, &cap);
	return &out;
}

static const struct bounce_rcpt two_rcpts[] = {
	{ "bob@example.org", "5.1.1", "550 5.1.1 <bob@example.org>: user unknown" },
	{ "carol@example.org", "5.7.1", NULL },
};

static const char orig_headers[] = "Received: from lan\r\n\tby gw\r\n"
				   "Subject: hello\r\n"
				   "From: alice@example.com\r\n";

static struct bounce_info base_info(void)
{
	struct bounce_info info = {
		.hostname = "gw.example.net",
		.queue_id = "A1B2C3D4E5",
		.sender = "alice@example.com",
		.smarthost = "smtp.example.com",
		.arrival = 1795472000,
		.now = 1795472577,
		.expired = 0,
		.nrcpt = 2,
		.rcpts = two_rcpts,
		.boundary = BOUNDARY,
		.message_id = "<A1B2C3D4E5.bounce@gw.example.net>",
	};

	return info;
}

static int compose(const struct bounce_info *info, const char *headers, size_t len)
{
	memset(&cap, 0, sizeof(cap));
	return bounce_compose(info, headers, len, capture_out());
}

/* Times a whole line (CRLF excluded) occurs in text. */
static unsigned count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	unsigned count = 0;
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\r' && p[n + 1] == '\n') {
			count++;
		}
		p += n;
	}
	return count;
}

static unsigned count_substr(const char *text, const char *part)
{
	unsigned count = 0;
	const char *p = text;

	while ((p = strstr(p, part)) != NULL) {
		count++;
		p += strlen(part);
	}
	return count;
}

/* Every line ends with CRLF, none is over 998 octets, all bytes are 7-bit and not NUL. */
static int well_formed(const char *text, size_t len)
{
	size_t i;
	size_t col = 0;

	if (len < 2 || text[len - 2] != '\r' || text[len - 1] != '\n') {
		return 0;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == 0 || c >= 0x80 || (c == '\r' && (i + 1 == len || text[i + 1] != '\n')) ||
		    (c == '\n' && (i == 0 || text[i - 1] != '\r'))) {
			return 0;
		}
		if (c == '\n') {
			col = 0;
		} else if (c != '\r' && ++col > 998) {
			return 0;
		}
	}
	return 1;
}

/* The length of the line that starts with prefix, or 0. */
static size_t line_length(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);
	const char *end;

	if (p == NULL || (end = strstr(p, "\r\n")) == NULL) {
		return 0;
	}
	return (size_t)(end - p);
}

TEST(bounce_top_headers_once)
{
	struct bounce_info info = base_info();
	static const char *const lines[] = {
		"From: MAILER-DAEMON@gw.example.net (Mail Delivery System)",
		"To: alice@example.com",
		"Subject: Undelivered Mail Returned to Sender",
		"Date: Mon, 23 Nov 2026 22:22:57 +0000",
		"Message-ID: <A1B2C3D4E5.bounce@gw.example.net>",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
	};
	const char *body;
	size_t i;

	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	body = strstr(cap.buf, "\r\n\r\n");
	CHECK(body != NULL);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *at = strstr(cap.buf, lines[i]);

		CHECK(count_lines(cap.buf, lines[i]) == 1);
		CHECK(at != NULL && at < body);
	}
	CHECK(count_lines(cap.buf, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"" BOUNDARY
				   "\"") == 1);
	CHECK(strstr(cap.buf, "boundary=") < body);
	CHECK(strncmp(cap.buf, "From: ", 6) == 0);
}

TEST(bounce_mime_structure)
{
	struct bounce_info info = base_info();
	static const char tail[] = "\r\n\r\n--" BOUNDARY "--\r\n";

	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(count_substr(cap.buf, BOUNDARY) == 5); /* Content-Type, 3 delimiters, the close */
	CHECK(count_lines(cap.buf, "--" BOUNDARY) == 3);
	CHECK(count_lines(cap.buf, "--" BOUNDARY "--") == 1);
	CHECK(cap.len > strlen(tail) && memcmp(cap.buf + cap.len - strlen(tail), tail, strlen(tail)) == 0);
	CHECK(strstr(cap.buf, "\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n--" BOUNDARY "\r\n"
			      "Content-Description: Notification\r\n"
			      "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
			      "This is the mail system at host gw.example.net.\r\n") != NULL);
	CHECK(strstr(cap.buf, "\r\n\r\n--" BOUNDARY "\r\nContent-Description: Delivery report\r\n"
			      "Content-Type: message/delivery-status\r\n\r\n") != NULL);
	CHECK(strstr(cap.buf, "\r\n\r\n--" BOUNDARY "\r\nContent-Description: Undelivered Message Headers\r\n"
			      "Content-Type: text/rfc822-headers\r\n\r\n") != NULL);
	CHECK(cap.calls >= 2); /* buffered, but more than one buffer's worth */
}

TEST(bounce_recipient_blocks)
{
	struct bounce_info info = base_info();

	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(strstr(cap.buf, "Content-Type: message/delivery-status\r\n\r\n"
			      "Reporting-MTA: dns; gw.example.net\r\n"
			      "X-Subgate-Queue-ID: A1B2C3D4E5\r\n"
			      "Arrival-Date: Mon, 23 Nov 2026 22:13:20 +0000\r\n"
			      "\r\n"
			      "Final-Recipient: rfc822; bob@example.org\r\n"
			      "Action: failed\r\n"
			      "Status: 5.1.1\r\n"
			      "Remote-MTA: dns; smtp.example.com\r\n"
			      "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: user unknown\r\n"
			      "\r\n"
			      "Final-Recipient: rfc822; carol@example.org\r\n"
			      "Action: failed\r\n"
			      "Status: 5.7.1\r\n"
			      "Remote-MTA: dns; smtp.example.com\r\n"
			      "\r\n--" BOUNDARY "\r\n") != NULL);
	CHECK(count_substr(cap.buf, "Diagnostic-Code:") == 1);
	CHECK(strstr(cap.buf, "\r\n\r\n<bob@example.org>: host smtp.example.com said: 550 5.1.1 <bob@example.org>:\r\n"
			      "    user unknown\r\n") != NULL);
	CHECK(strstr(cap.buf, "\r\n\r\n<carol@example.org>: delivery failed with status 5.7.1\r\n\r\n--") != NULL);
	CHECK(strstr(cap.buf, "I'm sorry to have to inform you that your message could not\r\n"
			      "be delivered to one or more recipients.") != NULL);
}

TEST(bounce_no_smarthost)
{
	struct bounce_info info = base_info();

	info.smarthost = NULL;
	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	CHECK(strstr(cap.buf, "Remote-MTA") == NULL);
	CHECK(strstr(cap.buf, " said:") == NULL);
	CHECK(strstr(cap.buf, "<bob@example.org>: 550 5.1.1 <bob@example.org>: user unknown\r\n") != NULL);
	CHECK(strstr(cap.buf, "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1") != NULL);
	info.smarthost = "";
	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(strstr(cap.buf, "Remote-MTA") == NULL);
}

TEST(bounce_expired_wording)
{
	static const struct bounce_rcpt rcpts[] = {
		{ "bob@example.org", "4.4.7", NULL },
		{ "dave@example.org", "4.4.7", "451 4.3.0 try later" },
	};
	struct bounce_info info = base_info();

	info.expired = 1;
	info.rcpts = rcpts;
	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	CHECK(count_lines(cap.buf, "<bob@example.org>: message could not be delivered within the queue lifetime") == 1);
	CHECK(strstr(cap.buf, "<dave@example.org>: message could not be delivered within the queue lifetime;\r\n"
			      "    last error: 451 4.3.0 try later\r\n") != NULL);
	CHECK(count_lines(cap.buf, "Status: 4.4.7") == 2);
	CHECK(count_lines(cap.buf, "Action: failed") == 2);
	CHECK(count_lines(cap.buf, "Diagnostic-Code: smtp; 451 4.3.0 try later") == 1);
	CHECK(strstr(cap.buf, "delivery failed") == NULL);
}

TEST(bounce_original_headers_normalised)
{
	struct bounce_info info = base_info();
	static const char in[] = "Subject: bare lf\nFrom: crlf@example.com\r\nX-Bare-CR: yes\rTo: last@example.com";
	static const char want[] = "Content-Type: text/rfc822-headers\r\n\r\n"
				   "Subject: bare lf\r\nFrom: crlf@example.com\r\nX-Bare-CR: yes\r\n"
				   "To: last@example.com\r\n\r\n--" BOUNDARY "--\r\n";
	static const char with_body[] = "Subject: x\r\n\r\nbody line\r\n";

	CHECK(compose(&info, in, strlen(in)) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	CHECK(cap.len > strlen(want) && strcmp(cap.buf + cap.len - strlen(want), want) == 0);
	/* a header block given with its blank line: the copy stops there */
	CHECK(compose(&info, with_body, strlen(with_body)) == 0);
	CHECK(strstr(cap.buf, "Subject: x\r\n\r\n--" BOUNDARY "--\r\n") != NULL);
	CHECK(strstr(cap.buf, "body line") == NULL);
	/* no header block at all */
	CHECK(compose(&info, NULL, 0) == 0);
	CHECK(strstr(cap.buf, "text/rfc822-headers\r\n\r\n\r\n--" BOUNDARY "--\r\n") != NULL);
}

TEST(bounce_original_headers_limits)
{
	static char in[200 * 1024];
	struct bounce_info info = base_info();
	const char *part;
	size_t i;

	/* one 3000-octet line, cut to 998; the next line survives */
	memset(in, 'x', 3000);
	memcpy(in, "X-Long: ", 8);
	memcpy(in + 3000, "\r\nSubject: after\r\n", 18);
	CHECK(compose(&info, in, 3018) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	CHECK(line_length(cap.buf, "X-Long: ") == 998);
	CHECK(count_lines(cap.buf, "Subject: after") == 1);
	/* 2000 lines of 100 octets: at most 64 KiB copied, and the message still closes */
	for (i = 0; i < 2000; i++) {
		(void)snprintf(in + i * 100, 101, "X-Filler-%04zu: %s\n", i,
			       "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdef");
	}
	CHECK(compose(&info, in, (size_t)2000 * 100) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	part = strstr(cap.buf, "text/rfc822-headers\r\n\r\n");
	CHECK(part != NULL);
	if (part != NULL) {
		size_t copied = cap.len - (size_t)(part + 23 - cap.buf) - strlen("\r\n--" BOUNDARY "--\r\n");

		CHECK(copied <= 65536 && copied > 65536 - 102);
	}
	CHECK(count_lines(cap.buf,
			  "X-Filler-0000: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstu"
			  "vwxyzabcdef") == 1);
	CHECK(strstr(cap.buf, "X-Filler-1999") == NULL);
	CHECK(count_lines(cap.buf, "--" BOUNDARY "--") == 1);
}

TEST(bounce_boundary_in_original_headers)
{
	struct bounce_info info = base_info();
	static const char in[] = "Subject: x\r\n--" BOUNDARY "--\r\n--" BOUNDARY "\r\nTo: y@example.com\r\n";

	CHECK(compose(&info, in, strlen(in)) == 0);
	CHECK(count_lines(cap.buf, "--" BOUNDARY) == 3);
	CHECK(count_lines(cap.buf, "--" BOUNDARY "--") == 1);
	CHECK(count_lines(cap.buf, "?-" BOUNDARY) == 1);
	CHECK(count_lines(cap.buf, "To: y@example.com") == 1);
}

TEST(bounce_long_diagnostic)
{
	static char diag[3001];
	struct bounce_rcpt rcpt = { "bob@example.org", "5.0.0", diag };
	struct bounce_info info = base_info();
	size_t i;
	size_t len;

	for (i = 0; i < 2800; i++) {
		static const char word[] = "abcdefghi "; /* words of 9 letters */

		diag[i] = word[i % 10];
	}
	memset(diag + 2800, 'z', 200); /* one word longer than any line */
	diag[3000] = '\0';
	memcpy(diag, "554", 3);
	info.nrcpt = 1;
	info.rcpts = &rcpt;
	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	len = line_length(cap.buf, "Diagnostic-Code: smtp; 554defghi abcdefghi");
	CHECK(len == strlen("Diagnostic-Code: smtp; ") + 900 + 3);
	CHECK(strstr(cap.buf, "abcdefghi ...\r\n") != NULL);
	/* the human text keeps every word, wrapped at 78 */
	CHECK(count_substr(cap.buf, "abcdefghi") == 279 + 89);
	CHECK(line_length(cap.buf, "    zzzz") == 78);
	CHECK(strstr(cap.buf, "zz\r\n    zz") != NULL);
}

TEST(bounce_eight_bit_replaced)
{
	static const struct bounce_rcpt rcpts[] = {
		{ "b\xc3\xa9"
		  "b@example.org",
		  "5.1.1", "550 unknown \xff user\r\n550 second\tline\x01" },
	};
	struct bounce_info info = base_info();
	static const char in[] = "Subject: caf\xc3\xa9\r\nX-Ctl: a\x7f"
				 "b\x00"
				 "c\r\n";

	info.nrcpt = 1;
	info.rcpts = rcpts;
	info.hostname = "gw\x80.example.net";
	CHECK(compose(&info, in, sizeof(in) - 1) == 0);
	CHECK(well_formed(cap.buf, cap.len));
	CHECK(count_lines(cap.buf, "Final-Recipient: rfc822; b??b@example.org") == 1);
	CHECK(count_lines(cap.buf, "Reporting-MTA: dns; gw?.example.net") == 1);
	CHECK(count_lines(cap.buf, "Diagnostic-Code: smtp; 550 unknown ? user  550 second line?") == 1);
	CHECK(count_lines(cap.buf, "Subject: caf??") == 1);
	CHECK(count_lines(cap.buf, "X-Ctl: a?b?c") == 1);
}

static const struct bounce_rcpt cr_addr[] = { { "bob@example.org\r", "5.1.1", NULL } };
static char long_field[600];

/* The base arguments with one thing wrong; NULL past the last case. */
static int bad_info(size_t i, struct bounce_info *info)
{
	*info = base_info();
	memset(long_field, 'a', sizeof(long_field) - 1);
	switch (i) {
	case 0:
		info->sender = "alice@example.com\r\nBcc: x@example.net";
		break;
	case 1:
		info->sender = "";
		break;
	case 2:
		info->sender = NULL;
		break;
	case 3:
		info->hostname = "gw\n.example.net";
		break;
	case 4:
		info->queue_id = "A1\r";
		break;
	case 5:
		info->boundary = "abc\r\n";
		break;
	case 6:
		info->boundary = "with\"quote";
		break;
	case 7:
		info->boundary = "ends in space ";
		break;
	case 8:
		info->boundary = long_field + sizeof(long_field) - 72;
		break; /* 71 */
	case 9:
		info->message_id = "<a@b>\n";
		break;
	case 10:
		info->smarthost = "smtp.example.com\r";
		break;
	case 11:
		info->rcpts = cr_addr;
		info->nrcpt = 1;
		break;
	case 12:
		info->nrcpt = 0;
		break;
	case 13:
		info->sender = long_field;
		break;
	case 14:
		info->rcpts = NULL;
		break;
	default:
		return 0;
	}
	return 1;
}

TEST(bounce_invalid_fields)
{
	struct bounce_info info;
	size_t i;

	for (i = 0; bad_info(i, &info); i++) {
		CHECK(compose(&info, orig_headers, strlen(orig_headers)) == -1);
		CHECK(cap.calls == 0);
	}
	CHECK(i == 15);
	info = base_info();
	CHECK(compose(&info, NULL, 5) == -1 && cap.calls == 0);
	CHECK(compose(NULL, NULL, 0) == -1 && cap.calls == 0);
	CHECK(bounce_compose(&info, NULL, 0, NULL) == -1);
}

TEST(bounce_status_syntax)
{
	static const char *const bad[] = { "6.1.1", "2.0.0", "5.1",   "5.1.1x", "5.1234.1", "5..1",
					   "5.1.",  "",      "5-1-1", "x.1.1",  " 5.1.1",   "5.1.1 " };
	static const char *const good[] = { "5.1.1", "4.4.7", "5.123.456", "5.0.0" };
	struct bounce_rcpt rcpt = { "bob@example.org", "5.1.1", NULL };
	struct bounce_info info = base_info();
	size_t i;

	info.nrcpt = 1;
	info.rcpts = &rcpt;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rcpt.status = bad[i];
		CHECK(compose(&info, orig_headers, strlen(orig_headers)) == -1);
		CHECK(cap.calls == 0);
	}
	rcpt.status = NULL;
	CHECK(compose(&info, orig_headers, strlen(orig_headers)) == -1 && cap.calls == 0);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		rcpt.status = good[i];
		CHECK(compose(&info, orig_headers, strlen(orig_headers)) == 0);
		CHECK(well_formed(cap.buf, cap.len));
	}
}

TEST(bounce_sink_failure)
{
	struct bounce_info info = base_info();

	memset(&cap, 0, sizeof(cap));
	cap.fail_at = 1;
	errno = 0;
	CHECK(bounce_compose(&info, orig_headers, strlen(orig_headers), capture_out()) == -1);
	CHECK(cap.calls == 1);
	CHECK(errno == ENOSPC); /* the sink's error, for the caller's log */
	memset(&cap, 0, sizeof(cap));
	cap.fail_at = 3;
	CHECK(bounce_compose(&info, orig_headers, strlen(orig_headers), capture_out()) == -1);
	CHECK(cap.calls == 3); /* nothing more once the sink failed */
}

TEST(bounce_date_format)
{
	static const struct {
		time_t t;
		const char *want;
	} cases[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 +0000" },          { 1795472577, "Mon, 23 Nov 2026 22:22:57 +0000" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },  { 1709208000, "Thu, 29 Feb 2024 12:00:00 +0000" },
		{ 2147483647, "Tue, 19 Jan 2038 03:14:07 +0000" }, { -1, "Wed, 31 Dec 1969 23:59:59 +0000" },
	};
	struct bounce_info info = base_info();
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		info.now = cases[i].t;
		info.arrival = cases[i].t;
		CHECK(compose(&info, NULL, 0) == 0);
		(void)snprintf(line, sizeof(line), "Date: %s", cases[i].want);
		CHECK(count_lines(cap.buf, line) == 1);
		(void)snprintf(line, sizeof(line), "Arrival-Date: %s", cases[i].want);
		CHECK(count_lines(cap.buf, line) == 1);
	}
}
