/*
 * oauth_json.h - strict JSON (RFC 8259) over jsmn's tokens, for the OAuth
 * replies (oauth_token.c): the whole text checked (separators, literals,
 * numbers, escapes, UTF-8) and string values decoded. Pure.
 */
#ifndef SUBGATE_OAUTH_JSON_H
#define SUBGATE_OAUTH_JSON_H

#include <stddef.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

struct oauth_json {
	const char *js;
	size_t len;
	jsmntok_t *tok;
	int ntok;
};

/*
 * Tokenizes and checks js (len bytes) with the caller's ntok tokens: one
 * object at the top, strict JSON throughout, nesting up to depth. Returns 0,
 * or -1 (not JSON, not an object, too many tokens or too deep).
 */
int oauth_json_parse(struct oauth_json *j, const char *js, size_t len, jsmntok_t *tok, int ntok, int depth);

/* The token after the value at i and everything inside it. */
int oauth_json_next(const struct oauth_json *j, int i);

/*
 * Decodes the string token at i into out (cap bytes, NUL-terminated):
 * returns its length, -1 if malformed (checked already by oauth_json_parse:
 * cannot happen then), -2 if it does not fit.
 */
long oauth_json_string(const struct oauth_json *j, int i, char *out, size_t cap);

/* The primitive at i as a non-negative integer up to max: 0, or -1. */
int oauth_json_uint(const struct oauth_json *j, int i, long max, long *out);

#endif
