/*
 * oauth_token.h - the JSON replies of an OAuth2 token endpoint (RFC 6749
 * section 5) and of a device authorization endpoint (RFC 8628 section 3.2),
 * read with jsmn into fixed structs. Strict: the top level is one object,
 * the whole text is RFC 8259 JSON (separators, literals, numbers, escapes
 * and UTF-8 checked, \uXXXX and surrogate pairs decoded), a key given
 * twice is refused, every field has a length limit and a set of allowed
 * bytes; unknown members (Microsoft's error_codes, trace_id, ...) are
 * checked and skipped. Runs in the relay and `subgate oauth login`.
 *
 * Tokens and device codes are secrets: oauth_token_wipe and
 * oauth_token_device_wipe when done; a failed parse wipes them itself.
 */
#ifndef SUBGATE_OAUTH_TOKEN_H
#define SUBGATE_OAUTH_TOKEN_H

#include <stddef.h>

#include "config.h"

#define OAUTH_TOKEN_TYPE_MAX      16
#define OAUTH_TOKEN_SCOPE_MAX     512
#define OAUTH_TOKEN_ERROR_MAX     64
#define OAUTH_TOKEN_DESC_MAX      512
#define OAUTH_TOKEN_CODE_MAX      512
#define OAUTH_TOKEN_USER_CODE_MAX 64
#define OAUTH_TOKEN_URI_MAX       512
#define OAUTH_TOKEN_JSON_TOKENS   128        /* jsmn tokens in one reply */
#define OAUTH_TOKEN_DEPTH         8          /* nesting of unknown members */
#define OAUTH_TOKEN_EXPIRES_MAX   315360000L /* ten years */
#define OAUTH_TOKEN_INTERVAL_MAX  3600L

enum oauth_token_result {
	OAUTH_TOKEN_OK = 0,
	OAUTH_TOKEN_ERROR_REPLY = 1, /* the reply is an error: err.error (and err.description) are set */
	OAUTH_TOKEN_EJSON = -1,      /* not JSON, not an object, too deep or too many tokens */
	OAUTH_TOKEN_EDUP = -2,       /* a member given twice */
	OAUTH_TOKEN_ETYPE = -3,      /* a known member of the wrong JSON type, or a number out of range */
	OAUTH_TOKEN_ELONG = -4,      /* a known member longer than its limit */
	OAUTH_TOKEN_ECHARS = -5,     /* a known member with bytes its syntax does not allow, or empty */
	OAUTH_TOKEN_EMISSING = -6,   /* a required member is missing */
	OAUTH_TOKEN_EBEARER = -7,    /* token_type is not Bearer */
};

struct oauth_token_error {
	char error[OAUTH_TOKEN_ERROR_MAX + 1];      /* "" unless an error reply: invalid_grant, ... */
	char description[OAUTH_TOKEN_DESC_MAX + 1]; /* error_description, control bytes made spaces */
};

struct oauth_token {
	char access_token[CONFIG_OAUTH_TOKEN_MAX + 1];
	char refresh_token[CONFIG_OAUTH_TOKEN_MAX + 1]; /* "" when the reply has none */
	char token_type[OAUTH_TOKEN_TYPE_MAX + 1];
	char scope[OAUTH_TOKEN_SCOPE_MAX + 1]; /* "" when the reply has none */
	long expires_in;                       /* seconds; -1 when the reply does not say */
	struct oauth_token_error err;
};

struct oauth_token_device {
	char device_code[OAUTH_TOKEN_CODE_MAX + 1];
	char user_code[OAUTH_TOKEN_USER_CODE_MAX + 1];
	char verification_uri[OAUTH_TOKEN_URI_MAX + 1];          /* Google calls it verification_url */
	char verification_uri_complete[OAUTH_TOKEN_URI_MAX + 1]; /* "" when the reply has none */
	long expires_in;
	long interval; /* seconds between polls; 5 when the reply does not say */
	struct oauth_token_error err;
};

/* A token reply (len bytes of JSON): an enum oauth_token_result. */
int oauth_token_parse(const char *json, size_t len, struct oauth_token *t);

/* A device authorization reply: an enum oauth_token_result. */
int oauth_token_parse_device(const char *json, size_t len, struct oauth_token_device *d);

/* A short text for an enum oauth_token_result (names no secret). */
const char *oauth_token_strerror(int result);

void oauth_token_wipe(struct oauth_token *t);
void oauth_token_device_wipe(struct oauth_token_device *d);

#endif
