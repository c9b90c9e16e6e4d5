/*
 * oauth_token_fuzz.c - libFuzzer target for the token endpoint's JSON
 * replies (oauth_token.c, oauth_json.c, jsmn). The input is read as a token
 * reply and as a device authorization reply. Whatever parses keeps its
 * promises: every field NUL-terminated within its room and of the bytes its
 * syntax allows, token_type Bearer, numbers in range; a failed parse leaves
 * no token behind. A token reply that parses is written again with the
 * project's JSON writer (lib/json.c) and must parse to the same fields.
 * Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "oauth_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void otf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

/* Visible ASCII (space too when spaces), NUL-terminated within cap. */
static void otf_field(const char *s, size_t cap, int spaces, int may_be_empty)
{
	size_t n = strnlen(s, cap);

	otf_assert(n < cap && (may_be_empty || n > 0));
	for (size_t i = 0; i < n; i++) {
		otf_assert((unsigned char)s[i] <= 0x7e && (unsigned char)s[i] >= (spaces ? 0x20 : 0x21));
	}
}

struct otf_buf {
	char data[2 * (2 * CONFIG_OAUTH_TOKEN_MAX + 1024)];
	size_t len;
};

static int otf_sink(void *ctx, const char *data, size_t len)
{
	struct otf_buf *b = ctx;

	if (len > sizeof(b->data) - b->len) {
		return -1;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* The parsed reply written again: it must read back the same. */
static void otf_roundtrip(const struct oauth_token *t)
{
	static struct otf_buf b;
	static struct oauth_token u;
	struct json j;

	b.len = 0;
	json_init(&j, otf_sink, &b);
	json_object_begin(&j);
	json_key(&j, "access_token");
	json_string(&j, t->access_token);
	json_key(&j, "token_type");
	json_string(&j, t->token_type);
	if (t->refresh_token[0] != '\0') {
		json_key(&j, "refresh_token");
		json_string(&j, t->refresh_token);
	}
	if (t->expires_in >= 0) {
		json_key(&j, "expires_in");
		json_uint(&j, (uint64_t)t->expires_in);
	}
	json_key(&j, "scope");
	json_string(&j, t->scope);
	json_object_end(&j);
	otf_assert(json_finish(&j) == 0);
	otf_assert(oauth_token_parse(b.data, b.len, &u) == OAUTH_TOKEN_OK);
	otf_assert(strcmp(u.access_token, t->access_token) == 0 && strcmp(u.refresh_token, t->refresh_token) == 0 &&
		   strcmp(u.scope, t->scope) == 0 && u.expires_in == t->expires_in);
	oauth_token_wipe(&u);
}

static void otf_token(const char *in, size_t len)
{
	static struct oauth_token t;
	int res = oauth_token_parse(in, len, &t);

	otf_assert(oauth_token_strerror(res) != NULL);
	if (res == OAUTH_TOKEN_OK) {
		otf_field(t.access_token, sizeof(t.access_token), 0, 0);
		otf_field(t.refresh_token, sizeof(t.refresh_token), 0, 1);
		otf_field(t.scope, sizeof(t.scope), 1, 1);
		otf_assert(strcasecmp(t.token_type, "Bearer") == 0);
		otf_assert(t.expires_in >= -1 && t.expires_in <= OAUTH_TOKEN_EXPIRES_MAX);
		otf_roundtrip(&t);
	} else {
		otf_assert(t.access_token[0] == '\0' && t.refresh_token[0] == '\0');
	}
	if (res == OAUTH_TOKEN_ERROR_REPLY) {
		otf_field(t.err.error, sizeof(t.err.error), 1, 0);
		otf_assert(strnlen(t.err.description, sizeof(t.err.description)) < sizeof(t.err.description));
		for (const char *p = t.err.description; *p; p++) {
			otf_assert((unsigned char)*p >= 0x20 && *p != 0x7f);
		}
	}
	oauth_token_wipe(&t);
}

static void otf_device(const char *in, size_t len)
{
	static struct oauth_token_device d;
	int res = oauth_token_parse_device(in, len, &d);

	if (res == OAUTH_TOKEN_OK) {
		otf_field(d.device_code, sizeof(d.device_code), 0, 0);
		otf_field(d.user_code, sizeof(d.user_code), 0, 0);
		otf_field(d.verification_uri, sizeof(d.verification_uri), 0, 0);
		otf_field(d.verification_uri_complete, sizeof(d.verification_uri_complete), 0, 1);
		otf_assert(d.expires_in >= 0 && d.interval >= 0 && d.interval <= OAUTH_TOKEN_INTERVAL_MAX);
	} else {
		otf_assert(d.device_code[0] == '\0');
	}
	oauth_token_device_wipe(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	otf_token((const char *)data, size);
	otf_device((const char *)data, size);
	return 0;
}
