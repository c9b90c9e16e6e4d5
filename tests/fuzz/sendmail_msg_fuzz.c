/*
 * sendmail_msg_fuzz.c - libFuzzer target for the sendmail front end's header
 * block and address extractor: the input is split into lines with
 * sendmail_line_next() (as standard input would be), fed to
 * sendmail_head_line() until the block ends, then the recipients of To:,
 * Cc: and Bcc: are extracted, and the whole input is also parsed as one
 * command-line argument. Besides the sanitizers it checks the promises: no
 * line over SENDMAIL_LINE_MAX and no CR inside one, the block within
 * SENDMAIL_HEAD_MAX and made of its fields exactly (every field's span is
 * contiguous, starts with its name and a ':' and ends in "\n"), every
 * recipient non-empty, at most ADDR_MAX octets, free of control characters,
 * and of blanks, "<" and ">" outside quoted strings, distinct, at most
 * SENDMAIL_RCPT_MAX of them, and an error always explained. Built by
 * tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sendmail_head smf_head;
static struct sendmail_rcpts smf_rcpts;

static void smf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static void smf_check_rcpts(const struct sendmail_rcpts *r)
{
	size_t pos = 0, total = 0;
	unsigned n = 0;
	const char *a;

	while ((a = sendmail_rcpts_next(r, &pos)) != NULL) {
		size_t len = strlen(a);
		int quoted = 0;

		smf_assert(len > 0 && len <= ADDR_MAX);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)a[i];

			smf_assert(c >= 0x20 && c != 0x7f);
			smf_assert(quoted || (c != ' ' && c != '<' && c != '>'));
			if (quoted && c == '\\' && i + 1 < len) {
				i++;
			} else if (c == '"') {
				quoted = !quoted;
			}
		}
		for (size_t p2 = 0; p2 < total;) {
			const char *b = r->buf + p2;

			smf_assert(strcmp(a, b) != 0);
			p2 += strlen(b) + 1;
		}
		total = pos;
		n++;
	}
	smf_assert(n == r->n && n <= SENDMAIL_RCPT_MAX && pos == r->len);
}

static void smf_check_head(const struct sendmail_head *h)
{
	struct sendmail_field f;
	size_t pos = 0, next = 0;

	smf_assert(h->len <= SENDMAIL_HEAD_MAX);
	while (sendmail_head_field(h, &pos, &f)) {
		smf_assert(f.start == h->text + next && f.len > 0 && f.start[f.len - 1] == '\n');
		smf_assert(f.name == f.start && f.name_len > 0 && f.value > f.name + f.name_len);
		smf_assert(f.value[-1] == ':' && f.value + f.value_len <= f.start + f.len);
		next = pos;
	}
	smf_assert(next == h->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0, len, used;
	const char *bad = NULL;
	int n;

	sendmail_head_init(&smf_head);
	for (;;) {
		enum sendmail_line st = sendmail_line_next(buf + off, size - off, 1, &len, &used);

		if (st != SENDMAIL_LINE_OK) {
			break;
		}
		smf_assert(len <= SENDMAIL_LINE_MAX && used > 0 && off + used <= size);
		smf_assert(memchr(buf + off, '\r', len) == NULL);
		if (sendmail_head_line(&smf_head, buf + off, len) != SENDMAIL_HEAD_MORE) {
			break;
		}
		off += used;
	}
	smf_check_head(&smf_head);
	sendmail_rcpts_init(&smf_rcpts);
	n = sendmail_rcpts_from_head(&smf_rcpts, &smf_head, &bad);
	smf_assert(n >= 0 ? smf_rcpts.error == NULL : smf_rcpts.error != NULL && bad != NULL);
	smf_check_rcpts(&smf_rcpts);
	sendmail_rcpts_init(&smf_rcpts);
	n = sendmail_rcpts_parse(&smf_rcpts, buf, size);
	smf_assert(n >= 0 ? smf_rcpts.error == NULL && (unsigned)n == smf_rcpts.n : smf_rcpts.error != NULL);
	smf_check_rcpts(&smf_rcpts);
	return 0;
}
