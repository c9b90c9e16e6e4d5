/*
 * smtp_parse_fuzz.c - libFuzzer target for smtp_parse_line(): the input is
 * one command line (CRLF removed). Besides the sanitizers it checks the
 * parser's promises: a status and verb in range, every string in struct
 * smtp_cmd NUL-terminated within its array, an accepted line holding only
 * printable fields and valid paths, and the same result with trailing blanks
 * added or the verb's case changed. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "smtp_parse.h"

#define SPF_LINE_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void spf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* NUL-terminated within cap, and (if printable) only bytes 0x20..0x7e before the NUL. */
static size_t spf_string(const char *s, size_t cap, int printable)
{
	const char *nul = memchr(s, '\0', cap);

	spf_assert(nul != NULL);
	size_t len = (size_t)(nul - s);
	for (size_t i = 0; printable && i < len; i++) {
		spf_assert(s[i] >= 0x20 && s[i] < 0x7f);
	}
	return len;
}

static void spf_check_ok(const struct smtp_cmd *cmd, size_t size)
{
	size_t path_len = spf_string(cmd->path, sizeof(cmd->path), 1);
	size_t mech_len = spf_string(cmd->auth_mech, sizeof(cmd->auth_mech), 1);

	spf_assert(cmd->verb != SMTP_VERB_UNKNOWN);
	spf_assert(spf_string(cmd->arg, sizeof(cmd->arg), 1) < size);
	spf_string(cmd->auth_initial, sizeof(cmd->auth_initial), 1);
	if (cmd->verb == SMTP_VERB_MAIL) {
		/* a bare local part is the local socket's own-name sender; the session decides */
		spf_assert(path_len == 0 || addr_valid_mailbox(cmd->path, path_len) ||
			   (memchr(cmd->path, '@', path_len) == NULL && addr_valid_local(cmd->path, path_len)));
	} else if (cmd->verb == SMTP_VERB_RCPT) {
		spf_assert(addr_valid_mailbox(cmd->path, path_len) || addr_valid_local(cmd->path, path_len));
	} else {
		spf_assert(path_len == 0 && !cmd->has_size && !cmd->body_8bitmime && !cmd->has_auth_param);
	}
	if (cmd->verb == SMTP_VERB_AUTH) {
		spf_assert(mech_len > 0);
		for (size_t i = 0; i < mech_len; i++) {
			spf_assert(cmd->auth_mech[i] < 'a' || cmd->auth_mech[i] > 'z');
		}
	} else {
		spf_assert(mech_len == 0 && cmd->auth_initial[0] == '\0');
	}
}

static int spf_same(const struct smtp_cmd *a, const struct smtp_cmd *b)
{
	return a->verb == b->verb && strcmp(a->arg, b->arg) == 0 && strcmp(a->path, b->path) == 0 &&
	       a->has_size == b->has_size && a->size == b->size && a->body_8bitmime == b->body_8bitmime &&
	       a->has_auth_param == b->has_auth_param && strcmp(a->auth_mech, b->auth_mech) == 0 &&
	       strcmp(a->auth_initial, b->auth_initial) == 0;
}

/* The same line with two trailing SPs, and with its first byte's case flipped, parses the same. */
static void spf_check_variants(const uint8_t *data, size_t size, enum smtp_parse_status st, const struct smtp_cmd *cmd)
{
	static char line[SPF_LINE_MAX + 2];
	static struct smtp_cmd again;

	if (size == 0 || size > SPF_LINE_MAX) {
		return;
	}
	memcpy(line, data, size);
	line[size] = ' ';
	line[size + 1] = ' ';
	spf_assert(smtp_parse_line(line, size + 2, &again) == st);
	spf_assert(spf_same(&again, cmd));
	if ((line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z')) {
		line[0] = (char)(line[0] ^ 0x20);
		spf_assert(smtp_parse_line(line, size, &again) == st);
		spf_assert(again.verb == cmd->verb);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_cmd cmd;
	enum smtp_parse_status st = smtp_parse_line((const char *)data, size, &cmd);

	spf_assert(st >= SMTP_PARSE_OK && st <= SMTP_PARSE_FORBIDDEN);
	spf_assert(cmd.verb >= SMTP_VERB_UNKNOWN && cmd.verb < SMTP_VERB_COUNT);
	spf_assert(smtp_verb_name(cmd.verb) != NULL);
	spf_string(cmd.arg, sizeof(cmd.arg), 0);
	spf_string(cmd.path, sizeof(cmd.path), 0);
	spf_string(cmd.auth_mech, sizeof(cmd.auth_mech), 0);
	spf_string(cmd.auth_initial, sizeof(cmd.auth_initial), 0);
	if (st == SMTP_PARSE_OK) {
		spf_check_ok(&cmd, size + 1);
	}
	spf_check_variants(data, size, st, &cmd);
	return 0;
}
