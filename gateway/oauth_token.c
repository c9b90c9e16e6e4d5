/*
 * oauth_token.c - reads token and device authorization replies into their
 * structs (oauth_token.h) by a table of members per reply; the JSON itself
 * is checked by oauth_json.c. Pure; the relay and `subgate oauth login`.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "oauth_json.h"
#include "oauth_token.h"
#include "secret.h"

enum ot_kind {
	OT_VSCHAR, /* a token, code or URI: visible ASCII, no space, not empty */
	OT_TEXT,   /* scope: printable ASCII and spaces */
	OT_NQ,     /* error (RFC 6749 NQSCHAR): printable ASCII but '"' and '\\', not empty */
	OT_DESC,   /* error_description: any UTF-8, control bytes made spaces */
	OT_UINT,   /* a non-negative integer up to max (a JSON number, or a string of digits) */
};

struct ot_field {
	const char *name;
	size_t off;
	size_t cap; /* strings: the field's size; numbers: 0 */
	long max;
	enum ot_kind kind;
};

#define OT_STR(name, type, field, kind)                                          \
	{                                                                        \
		name, offsetof(type, field), sizeof(((type *)0)->field), 0, kind \
	}
#define OT_NUM(name, type, field, max)                       \
	{                                                    \
		name, offsetof(type, field), 0, max, OT_UINT \
	}

static const struct ot_field ot_token_fields[] = {
	OT_STR("access_token", struct oauth_token, access_token, OT_VSCHAR),
	OT_STR("refresh_token", struct oauth_token, refresh_token, OT_VSCHAR),
	OT_STR("token_type", struct oauth_token, token_type, OT_VSCHAR),
	OT_STR("scope", struct oauth_token, scope, OT_TEXT),
	OT_NUM("expires_in", struct oauth_token, expires_in, OAUTH_TOKEN_EXPIRES_MAX),
	OT_STR("error", struct oauth_token, err.error, OT_NQ),
	OT_STR("error_description", struct oauth_token, err.description, OT_DESC),
};

static const struct ot_field ot_device_fields[] = {
	OT_STR("device_code", struct oauth_token_device, device_code, OT_VSCHAR),
	OT_STR("user_code", struct oauth_token_device, user_code, OT_VSCHAR),
	OT_STR("verification_uri", struct oauth_token_device, verification_uri, OT_VSCHAR),
	OT_STR("verification_url", struct oauth_token_device, verification_uri, OT_VSCHAR),
	OT_STR("verification_uri_complete", struct oauth_token_device, verification_uri_complete, OT_VSCHAR),
	OT_NUM("expires_in", struct oauth_token_device, expires_in, OAUTH_TOKEN_EXPIRES_MAX),
	OT_NUM("interval", struct oauth_token_device, interval, OAUTH_TOKEN_INTERVAL_MAX),
	OT_STR("error", struct oauth_token_device, err.error, OT_NQ),
	OT_STR("error_description", struct oauth_token_device, err.description, OT_DESC),
};

#define OT_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The decoded text's bytes against the field's syntax; OT_DESC's control bytes become spaces. */
static int ot_chars(char *s, long n, enum ot_kind kind)
{
	if (n == 0 && (kind == OT_VSCHAR || kind == OT_NQ)) {
		return OAUTH_TOKEN_ECHARS;
	}
	for (long k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];

		if (kind == OT_DESC) {
			if (c < 0x20 || c == 0x7f) {
				s[k] = ' ';
			}
		} else if (c > 0x7e || c < (kind == OT_VSCHAR ? 0x21 : 0x20) ||
			   (kind == OT_NQ && (c == '"' || c == '\\'))) {
			return OAUTH_TOKEN_ECHARS;
		}
	}
	return OAUTH_TOKEN_OK;
}

/* The value at token v into the field f of the struct at base. */
static int ot_store(const struct oauth_json *j, int v, const struct ot_field *f, void *base)
{
	const jsmntok_t *t = &j->tok[v];
	char *dst = (char *)base + f->off;

	if (f->kind == OT_UINT) {
		long n;

		if ((t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING) || oauth_json_uint(j, v, f->max, &n) < 0) {
			return OAUTH_TOKEN_ETYPE;
		}
		memcpy(dst, &n, sizeof(n));
		return OAUTH_TOKEN_OK;
	}
	if (t->type != JSMN_STRING) {
		return OAUTH_TOKEN_ETYPE;
	}
	long n = oauth_json_string(j, v, dst, f->cap);
	if (n < 0) {
		return n == -2 ? OAUTH_TOKEN_ELONG : OAUTH_TOKEN_EJSON;
	}
	if (memchr(dst, '\0', (size_t)n) != NULL) {
		return OAUTH_TOKEN_ECHARS;
	}
	return ot_chars(dst, n, f->kind);
}

/* A key seen before (the raw text compared: any spelling of a known key is caught by seen). */
static int ot_dup_key(const struct oauth_json *j, int key)
{
	const jsmntok_t *k = &j->tok[key];

	for (int i = 1; i < key; i = oauth_json_next(j, i + 1)) {
		const jsmntok_t *p = &j->tok[i];

		if (p->end - p->start == k->end - k->start &&
		    memcmp(j->js + p->start, j->js + k->start, (size_t)(k->end - k->start)) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Walks the top-level members into base by the table; *seen gets a bit per field found. */
static int ot_members(const struct oauth_json *j, const struct ot_field *fields, size_t nfields, void *base,
		      unsigned *seen)
{
	char key[32];

	*seen = 0;
	for (int i = 1; i < j->ntok; i = oauth_json_next(j, i + 1)) {
		if (ot_dup_key(j, i)) {
			return OAUTH_TOKEN_EDUP;
		}
		if (oauth_json_string(j, i, key, sizeof(key)) < 0) {
			continue; /* longer than any known key */
		}
		for (size_t f = 0; f < nfields; f++) {
			if (strcmp(key, fields[f].name) != 0) {
				continue;
			}
			for (size_t g = 0; g < nfields; g++) {
				if ((*seen & (1u << g)) && fields[g].off == fields[f].off) {
					return OAUTH_TOKEN_EDUP;
				}
			}
			int res = ot_store(j, i + 1, &fields[f], base);
			if (res != OAUTH_TOKEN_OK) {
				return res;
			}
			*seen |= 1u << f;
		}
	}
	return OAUTH_TOKEN_OK;
}

static int ot_parse(const char *json, size_t len, const struct ot_field *fields, size_t nfields, void *base,
		    unsigned *seen)
{
	jsmntok_t tok[OAUTH_TOKEN_JSON_TOKENS];
	struct oauth_json j;

	if (oauth_json_parse(&j, json, len, tok, OAUTH_TOKEN_JSON_TOKENS, OAUTH_TOKEN_DEPTH) < 0) {
		return OAUTH_TOKEN_EJSON;
	}
	return ot_members(&j, fields, nfields, base, seen);
}

#define OT_HAS(seen, fields, name) ot_has(seen, fields, OT_NELEM(fields), name)

static int ot_has(unsigned seen, const struct ot_field *fields, size_t nfields, const char *name)
{
	for (size_t f = 0; f < nfields; f++) {
		if ((seen & (1u << f)) && strcmp(fields[f].name, name) == 0) {
			return 1;
		}
	}
	return 0;
}

int oauth_token_parse(const char *json, size_t len, struct oauth_token *t)
{
	unsigned seen;
	int res;

	memset(t, 0, sizeof(*t));
	t->expires_in = -1;
	res = ot_parse(json, len, ot_token_fields, OT_NELEM(ot_token_fields), t, &seen);
	if (res == OAUTH_TOKEN_OK && t->err.error[0] != '\0') {
		res = OAUTH_TOKEN_ERROR_REPLY;
	} else if (res == OAUTH_TOKEN_OK &&
		   (!OT_HAS(seen, ot_token_fields, "access_token") || !OT_HAS(seen, ot_token_fields, "token_type"))) {
		res = OAUTH_TOKEN_EMISSING;
	} else if (res == OAUTH_TOKEN_OK && strcasecmp(t->token_type, "Bearer") != 0) {
		res = OAUTH_TOKEN_EBEARER;
	}
	if (res != OAUTH_TOKEN_OK) {
		struct oauth_token_error err = t->err;

		oauth_token_wipe(t);
		t->expires_in = -1;
		if (res == OAUTH_TOKEN_ERROR_REPLY) {
			t->err = err;
		}
	}
	return res;
}

int oauth_token_parse_device(const char *json, size_t len, struct oauth_token_device *d)
{
	unsigned seen;
	int res;

	memset(d, 0, sizeof(*d));
	d->interval = 5;
	res = ot_parse(json, len, ot_device_fields, OT_NELEM(ot_device_fields), d, &seen);
	if (res == OAUTH_TOKEN_OK && d->err.error[0] != '\0') {
		res = OAUTH_TOKEN_ERROR_REPLY;
	} else if (res == OAUTH_TOKEN_OK &&
		   (!OT_HAS(seen, ot_device_fields, "device_code") || !OT_HAS(seen, ot_device_fields, "user_code") ||
		    d->verification_uri[0] == '\0' || !OT_HAS(seen, ot_device_fields, "expires_in"))) {
		res = OAUTH_TOKEN_EMISSING;
	}
	if (res != OAUTH_TOKEN_OK) {
		struct oauth_token_error err = d->err;

		oauth_token_device_wipe(d);
		if (res == OAUTH_TOKEN_ERROR_REPLY) {
			d->err = err;
		}
	}
	return res;
}

const char *oauth_token_strerror(int result)
{
	static const char *const text[] = {
		"ok",
		"not a JSON object, or too large or deep",
		"a member given twice",
		"a member of the wrong type or out of range",
		"a member too long",
		"a member with characters it may not have",
		"a required member missing",
		"token_type is not Bearer",
	};

	if (result == OAUTH_TOKEN_ERROR_REPLY) {
		return "error reply";
	}
	if (result <= 0 && (size_t)-result < OT_NELEM(text)) {
		return text[-result];
	}
	return "unknown";
}

void oauth_token_wipe(struct oauth_token *t)
{
	secret_wipe(t, sizeof(*t));
}

void oauth_token_device_wipe(struct oauth_token_device *d)
{
	secret_wipe(d, sizeof(*d));
}
