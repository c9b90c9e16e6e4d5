/*
 * smtp_sasl.h - the client's SASL messages for an OAuth2 login to a
 * smarthost, and what its refusals say. Pure: caller buffers, no allocation.
 *   XOAUTH2 (Google, Microsoft): "user=" USER ^A "auth=Bearer " TOKEN ^A ^A
 *   OAUTHBEARER (RFC 7628 3.1): "n,a=" SASLNAME "," ^A "host=" HOST ^A
 *     "port=" PORT ^A "auth=Bearer " TOKEN ^A ^A (the user escaped: "=" as
 *     "=3D", "," as "=2C"). host and port are optional in the RFC; they are
 *     sent, as msmtp, mutt and curl do and as the RFC's own examples show:
 *     they let the server check that the token was meant for it.
 * A refused token is answered (RFC 7628 3.2.2, Google's XOAUTH2) with a
 * 334 challenge carrying base64 JSON: {"status":"401","schemes":"Bearer",
 * "scope":"..."} or {"status":"invalid_token",...}; smtp_sasl_challenge()
 * pulls status, schemes and scope out for the log. Runs in the relay;
 * fuzzed by tests/fuzz/smtp_sasl_fuzz.c.
 */
#ifndef SUBGATE_SMTP_SASL_H
#define SUBGATE_SMTP_SASL_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.4: a command line, CRLF included; an initial response must fit in it (RFC 4954 4). */
#define SMTP_SASL_COMMAND_MAX 512
/* RFC 4954 4: a response line (base64, CRLF included) servers are expected to take: 12288 octets. */
#define SMTP_SASL_LINE_MAX 12288
/* The longest message whose base64 fits in a response line: 9213 bytes. */
#define SMTP_SASL_MESSAGE_MAX ((SMTP_SASL_LINE_MAX - 2) / 4 * 3)

enum smtp_sasl_mech {
	SMTP_SASL_XOAUTH2,
	SMTP_SASL_OAUTHBEARER,
};

/* "XOAUTH2" or "OAUTHBEARER". */
const char *smtp_sasl_mech_name(enum smtp_sasl_mech mech);

/*
 * The client's message (not yet base64) into out. The token must be an RFC
 * 6750 b64token (letters, digits, "-._~+/", then "="s); the user and host
 * must not hold control characters, the host no space. Returns the length
 * (no NUL is written), SMTP_SASL_UNFIT when an argument is unfit, or
 * SMTP_SASL_TOO_LONG when out (cap bytes) is too short.
 */
#define SMTP_SASL_UNFIT    (-1)
#define SMTP_SASL_TOO_LONG (-2)
long smtp_sasl_xoauth2(char *out, size_t cap, const char *user, const char *token);
long smtp_sasl_oauthbearer(char *out, size_t cap, const char *user, const char *host, unsigned port, const char *token);

/* The dummy response that ends a failed exchange: "" for XOAUTH2, base64 of ^A ("AQ==") for OAUTHBEARER. */
const char *smtp_sasl_failure_ack(enum smtp_sasl_mech mech);

/* What a 334 error challenge said; each field printable ASCII, cut to fit, "" when absent. */
struct smtp_sasl_error {
	char status[32];
	char schemes[32];
	char scope[160];
};

/*
 * Decodes a 334 challenge's text (base64 of a JSON object) and fills e.
 * Returns 0, or -1 when the text is not base64 of a JSON object (e then
 * holds what was found before the damage, possibly nothing).
 */
int smtp_sasl_challenge(const char *text, size_t len, struct smtp_sasl_error *e);

/*
 * The string value of a top-level key of the JSON object in json (a number
 * or literal is copied as written), printable ASCII, cut to cap - 1 bytes.
 * Returns 1 when found, 0 when not, -1 when json is not an object (bounded
 * scan: nesting deeper than 16 counts as damage).
 */
int smtp_sasl_json_string(const char *json, size_t len, const char *key, char *out, size_t cap);

#endif
