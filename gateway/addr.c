/*
 * addr.c - validates and compares mail addresses. No allocation, no I/O.
 */
#include "addr.h"

#include <string.h>
#include <strings.h>

static int addr_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static int addr_is_atext(char c)
{
	return addr_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int addr_valid_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-') {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!addr_is_alnum(s[i]) && s[i] != '-') {
			return 0;
		}
	}
	return 1;
}

int addr_valid_domain(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > ADDR_DOMAIN_MAX) {
		return 0;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (!addr_valid_label(s + start, i - start)) {
				return 0;
			}
			start = i + 1;
		}
	}
	return 1;
}

int addr_valid_local(const char *s, size_t len)
{
	if (len == 0 || len > ADDR_LOCAL_MAX || s[0] == '.' || s[len - 1] == '.') {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.') {
				return 0;
			}
		} else if (!addr_is_atext(s[i])) {
			return 0;
		}
	}
	return 1;
}

int addr_valid_mailbox(const char *s, size_t len)
{
	const char *at;

	if (len == 0 || len > ADDR_MAX || memchr(s, '\0', len) != NULL) {
		return 0;
	}
	at = memchr(s, '@', len);
	if (at == NULL) {
		return 0;
	}
	size_t local_len = (size_t)(at - s);
	return addr_valid_local(s, local_len) && addr_valid_domain(at + 1, len - local_len - 1);
}

int addr_valid_sender_spec(const char *s, size_t len)
{
	if (len > 0 && s[0] == '@') {
		return memchr(s, '\0', len) == NULL && addr_valid_domain(s + 1, len - 1);
	}
	return addr_valid_mailbox(s, len);
}

int addr_matches_spec(const char *address, const char *spec)
{
	const char *at = strrchr(address, '@');

	if (at == NULL) {
		return 0;
	}
	if (spec[0] == '@') {
		return strcasecmp(at + 1, spec + 1) == 0;
	}
	const char *spec_at = strrchr(spec, '@');
	size_t local_len = (size_t)(at - address);
	if (spec_at == NULL || (size_t)(spec_at - spec) != local_len) {
		return 0;
	}
	return memcmp(address, spec, local_len) == 0 && strcasecmp(at + 1, spec_at + 1) == 0;
}
