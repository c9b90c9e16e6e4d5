/*
 * userdb_record.c - encodes and decodes user records (format in the header).
 * Used by `subgate user` and, in the daemon, by the `auth` process.
 */
#include "userdb_record.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

#define USERDB_SCHEME "scram-sha-256"

int userdb_valid_username(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONFIG_USERNAME_MAX || !isalnum((unsigned char)name[0])) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && strchr("._@+-", c) == NULL) {
			return 0;
		}
	}
	return 1;
}

long userdb_record_encode(const struct userdb_entry *e, char *out, size_t cap)
{
	char salt[BASE64_ENCODED_SIZE(SCRAM_SALT_MAX)];
	char stored[BASE64_ENCODED_SIZE(SCRAM_KEY_LEN)];
	char server[BASE64_ENCODED_SIZE(SCRAM_KEY_LEN)];
	int n;

	base64_encode(e->cred.salt, e->cred.salt_len, salt, sizeof(salt));
	base64_encode(e->cred.stored_key, SCRAM_KEY_LEN, stored, sizeof(stored));
	base64_encode(e->cred.server_key, SCRAM_KEY_LEN, server, sizeof(server));
	n = snprintf(out, cap, "%s %u %s %s %s", USERDB_SCHEME, (unsigned)e->cred.iterations, salt, stored, server);
	if (n < 0 || (size_t)n >= cap) {
		return -1;
	}
	size_t len = (size_t)n;
	for (unsigned i = 0; i < e->nsenders; i++) {
		n = snprintf(out + len, cap - len, " %s", e->senders[i]);
		if (n < 0 || (size_t)n >= cap - len) {
			return -1;
		}
		len += (size_t)n;
	}
	return (long)len;
}

/* Returns the next space-separated field of [*p, end) and advances *p. */
static size_t userdb_next_field(const char **p, const char *end, const char **field)
{
	const char *s = *p;
	const char *sp = memchr(s, ' ', (size_t)(end - s));
	const char *stop = sp ? sp : end;

	*field = s;
	*p = sp ? sp + 1 : end;
	return (size_t)(stop - s);
}

static int userdb_decode_iterations(const char *f, size_t len, struct userdb_entry *e)
{
	char num[12];
	char *endp;

	if (len == 0 || len >= sizeof(num)) {
		return -1;
	}
	memcpy(num, f, len);
	num[len] = '\0';
	unsigned long v = strtoul(num, &endp, 10);
	if (*endp != '\0' || v == 0 || v > 100000000UL || !isdigit((unsigned char)num[0])) {
		return -1;
	}
	e->cred.iterations = (uint32_t)v;
	return 0;
}

static int userdb_decode_credential(const char **p, const char *end, struct userdb_entry *e)
{
	const char *f;
	size_t len = userdb_next_field(p, end, &f);
	long n;

	if (len != strlen(USERDB_SCHEME) || memcmp(f, USERDB_SCHEME, len) != 0) {
		return -1;
	}
	len = userdb_next_field(p, end, &f);
	if (userdb_decode_iterations(f, len, e) < 0) {
		return -1;
	}
	len = userdb_next_field(p, end, &f);
	n = base64_decode(f, len, e->cred.salt, sizeof(e->cred.salt));
	if (n < 1) {
		return -1;
	}
	e->cred.salt_len = (size_t)n;
	len = userdb_next_field(p, end, &f);
	if (base64_decode(f, len, e->cred.stored_key, SCRAM_KEY_LEN) != SCRAM_KEY_LEN) {
		return -1;
	}
	len = userdb_next_field(p, end, &f);
	if (base64_decode(f, len, e->cred.server_key, SCRAM_KEY_LEN) != SCRAM_KEY_LEN) {
		return -1;
	}
	return 0;
}

int userdb_record_decode(const char *rec, size_t len, struct userdb_entry *e)
{
	const char *p = rec, *end = rec + len;

	memset(e, 0, sizeof(*e));
	if (userdb_decode_credential(&p, end, e) < 0) {
		return -1;
	}
	while (p < end) {
		const char *f;
		size_t flen = userdb_next_field(&p, end, &f);

		if (e->nsenders >= CONFIG_USER_MAX_SENDERS || flen > ADDR_MAX || !addr_valid_sender_spec(f, flen)) {
			return -1;
		}
		memcpy(e->senders[e->nsenders], f, flen);
		e->senders[e->nsenders++][flen] = '\0';
	}
	return 0;
}

int userdb_entry_add_sender(struct userdb_entry *e, const char *spec)
{
	size_t len = strlen(spec);
	char *at;

	if (e->nsenders >= CONFIG_USER_MAX_SENDERS || !addr_valid_sender_spec(spec, len)) {
		return -1;
	}
	char *dst = e->senders[e->nsenders];
	memcpy(dst, spec, len + 1);
	for (at = strrchr(dst, '@'); at && *at; at++) {
		*at = (char)tolower((unsigned char)*at);
	}
	for (unsigned i = 0; i < e->nsenders; i++) {
		if (strcmp(e->senders[i], dst) == 0) {
			return 0; /* already present */
		}
	}
	e->nsenders++;
	return 0;
}

int userdb_sender_allowed(const struct userdb_entry *e, const char *address)
{
	for (unsigned i = 0; i < e->nsenders; i++) {
		if (addr_matches_spec(address, e->senders[i])) {
			return 1;
		}
	}
	return 0;
}
