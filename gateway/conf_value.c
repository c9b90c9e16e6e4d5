/*
 * conf_value.c - typed parsing of one configuration value each. No I/O.
 */
#include "conf_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "base64.h"

static int conf_fail(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int conf_fail(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	return -1;
}

static int conf_copy(const char *v, char *out, size_t cap)
{
	size_t len = strlen(v);

	if (len >= cap) {
		return -1;
	}
	memcpy(out, v, len + 1);
	return 0;
}

/* Parses a decimal number with an optional k/m/g (binary) suffix. */
int conf_value_size(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errcap)
{
	char *end;
	uint64_t mult = 1;

	if (!isdigit((unsigned char)v[0])) {
		return conf_fail(err, errcap, "'%s' is not a number", v);
	}
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end != '\0') {
		char suffix = (char)tolower((unsigned char)end[0]);

		mult = suffix == 'k'   ? 1024ULL
		       : suffix == 'm' ? 1024ULL * 1024
		       : suffix == 'g' ? 1024ULL * 1024 * 1024
				       : 0;
		if (mult == 0 || end[1] != '\0') {
			return conf_fail(err, errcap, "'%s' is not a number (suffixes: k, m, g)", v);
		}
	}
	if (errno == ERANGE || n > UINT64_MAX / mult || n * mult < min || n * mult > max) {
		return conf_fail(err, errcap, "%s is out of range %llu..%llu", v, (unsigned long long)min,
				 (unsigned long long)max);
	}
	*out = n * mult;
	return 0;
}

int conf_value_duration(const char *v, uint64_t default_unit, uint64_t min_s, uint64_t max_s, uint64_t *out, char *err,
			size_t errcap)
{
	char *end;
	uint64_t unit = default_unit;

	if (!isdigit((unsigned char)v[0])) {
		return conf_fail(err, errcap, "'%s' is not a duration (e.g. 30s, 5m, 2h, 5d)", v);
	}
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end != '\0') {
		char u = (char)tolower((unsigned char)end[0]);

		unit = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 0;
		if (unit == 0 || end[1] != '\0') {
			return conf_fail(err, errcap, "'%s' is not a duration (units: s, m, h, d)", v);
		}
	}
	if (errno == ERANGE || n > UINT64_MAX / unit || n * unit < min_s || n * unit > max_s) {
		return conf_fail(err, errcap, "%s is out of range %llus..%llus", v, (unsigned long long)min_s,
				 (unsigned long long)max_s);
	}
	*out = n * unit;
	return 0;
}

int conf_value_hostname(const char *v, char *out, size_t cap, char *err, size_t errcap)
{
	if (!addr_valid_domain(v, strlen(v)) || conf_copy(v, out, cap) < 0) {
		return conf_fail(err, errcap, "'%s' is not a valid host name", v);
	}
	return 0;
}

/* Absolute paths as given; relative ones are taken from base_dir (the config file's directory). */
int conf_value_path(const char *v, const char *base_dir, char *out, size_t cap, char *err, size_t errcap)
{
	int n;

	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			return conf_fail(err, errcap, "path contains a control character");
		}
	}
	if (v[0] == '/') {
		n = snprintf(out, cap, "%s", v);
	} else {
		n = snprintf(out, cap, "%s/%s", strcmp(base_dir, "/") == 0 ? "" : base_dir, v);
	}
	if (n < 0 || (size_t)n >= cap) {
		return conf_fail(err, errcap, "path is longer than %zu bytes", cap - 1);
	}
	return 0;
}

int conf_value_account(const char *v, char *out, size_t cap, char *err, size_t errcap)
{
	size_t len = strlen(v);

	if (len == 0 || len >= cap || !(islower((unsigned char)v[0]) || v[0] == '_')) {
		return conf_fail(err, errcap, "'%s' is not a valid account name", v);
	}
	for (size_t i = 0; i < len; i++) {
		if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) && v[i] != '_' && v[i] != '-') {
			return conf_fail(err, errcap, "'%s' is not a valid account name", v);
		}
	}
	memcpy(out, v, len + 1);
	return 0;
}

static int conf_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)s[0])) {
		return -1;
	}
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n == 0 || n > 65535) {
		return -1;
	}
	*port = (uint16_t)n;
	return 0;
}

/* Splits "[host]:port", "[host]", "host:port" or "host"; port stays 0 when absent. */
static int conf_split_hostport(const char *v, char *host, size_t cap, uint16_t *port, int *bracketed)
{
	const char *end, *colon;
	size_t len;

	*port = 0;
	*bracketed = v[0] == '[';
	if (*bracketed) {
		end = strchr(v, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
			return -1;
		}
		len = (size_t)(end - v - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		v++;
	} else {
		colon = strrchr(v, ':');
		len = colon ? (size_t)(colon - v) : strlen(v);
	}
	if (len == 0 || len >= cap || (colon && conf_port(colon + 1, port) < 0)) {
		return -1;
	}
	memcpy(host, v, len);
	host[len] = '\0';
	return 0;
}

static int conf_listen_address(struct conf_listen *out, const char *host, int bracketed)
{
	unsigned char buf[16];

	out->ipv6 = bracketed;
	if (inet_pton(bracketed ? AF_INET6 : AF_INET, host, buf) != 1) {
		return -1;
	}
	return conf_copy(host, out->addr, sizeof(out->addr));
}

int conf_value_listen(const char *v, struct conf_listen *out, char *err, size_t errcap)
{
	char addr[64], host[48];
	const char *space = strchr(v, ' ');
	const char *mode = space ? space + 1 : "";
	int bracketed;

	if (space == NULL || (size_t)(space - v) >= sizeof(addr) || strchr(mode, ' ') != NULL || *mode == '\0') {
		return conf_fail(err, errcap, "expected ADDR:PORT starttls|tls, got '%s'", v);
	}
	memcpy(addr, v, (size_t)(space - v));
	addr[space - v] = '\0';
	if (conf_split_hostport(addr, host, sizeof(host), &out->port, &bracketed) < 0 || out->port == 0 ||
	    conf_listen_address(out, host, bracketed) < 0) {
		return conf_fail(err, errcap, "'%s' is not a numeric ADDR:PORT ([ADDR]:PORT for IPv6)", addr);
	}
	if (out->ipv6 && !CONFIG_LISTEN_IPV6) {
		return conf_fail(err, errcap, "IPv6 listeners are not compiled in (CONFIG_LISTEN_IPV6)");
	}
	if (strcmp(mode, "starttls") == 0) {
		out->mode = CONF_LISTEN_STARTTLS;
	} else if (strcmp(mode, "tls") == 0 && CONFIG_LISTEN_SMTPS) {
		out->mode = CONF_LISTEN_TLS;
	} else if (strcmp(mode, "tls") == 0) {
		return conf_fail(err, errcap, "implicit TLS listeners are not compiled in (CONFIG_LISTEN_SMTPS)");
	} else {
		return conf_fail(err, errcap, "listener mode '%s' is not starttls or tls", mode);
	}
	return 0;
}

static int conf_valid_smarthost_name(const char *host, int bracketed)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, host, buf) == 1) {
		return 1;
	}
	if (inet_pton(AF_INET6, host, buf) == 1) {
		return bracketed;
	}
	return addr_valid_domain(host, strlen(host));
}

int conf_value_smarthost(const char *v, char *host, size_t cap, uint16_t *port, int *bracketed, char *err,
			 size_t errcap)
{
	if (strchr(v, ' ') != NULL || conf_split_hostport(v, host, cap, port, bracketed) < 0 ||
	    !conf_valid_smarthost_name(host, *bracketed)) {
		return conf_fail(err, errcap, "expected [HOST]:PORT or HOST:PORT, got '%s'", v);
	}
	if (*port == 0) {
		*port = 587;
	}
	return 0;
}

int conf_value_smarthost_tls(const char *v, enum conf_smarthost_tls *out, char *err, size_t errcap)
{
	if (strcmp(v, "starttls") == 0) {
		*out = CONF_SMARTHOST_STARTTLS;
	} else if (strcmp(v, "tls") == 0) {
		*out = CONF_SMARTHOST_TLS;
	} else if (strcmp(v, "none") == 0 && CONFIG_RELAY_PLAINTEXT_LOOPBACK) {
		*out = CONF_SMARTHOST_NONE;
	} else if (strcmp(v, "none") == 0) {
		return conf_fail(err, errcap, "plaintext relay is not compiled in (CONFIG_RELAY_PLAINTEXT_LOOPBACK)");
	} else {
		return conf_fail(err, errcap, "'%s' is not starttls, tls or none", v);
	}
	return 0;
}

int conf_value_pin(const char *v, unsigned char out[32], char *err, size_t errcap)
{
	static const char prefix[] = "sha256/";

	if (!CONFIG_RELAY_PIN) {
		return conf_fail(err, errcap, "key pinning is not compiled in (CONFIG_RELAY_PIN)");
	}
	if (strncmp(v, prefix, sizeof(prefix) - 1) != 0 ||
	    base64_decode(v + sizeof(prefix) - 1, strlen(v) - (sizeof(prefix) - 1), out, 32) != 32) {
		return conf_fail(err, errcap, "expected sha256/ and the base64 of a 32-byte SPKI hash");
	}
	return 0;
}

/* Appends one validated target address to the alias. */
static int conf_alias_target(struct conf_alias *out, const char *t, size_t len)
{
	size_t used = strlen(out->targets);
	size_t need = len + (used ? 2 : 0);

	if (!addr_valid_mailbox(t, len) || used + need >= sizeof(out->targets)) {
		return -1;
	}
	if (used) {
		memcpy(out->targets + used, ", ", 2);
		used += 2;
	}
	memcpy(out->targets + used, t, len);
	out->targets[used + len] = '\0';
	return 0;
}

/* "PATTERN: ADDRESS": a sender (or @domain) and the address it is rewritten to. */
int conf_value_masquerade(const char *v, struct conf_masquerade *out, char *err, size_t errcap)
{
	const char *colon = strchr(v, ':');
	size_t plen = colon ? (size_t)(colon - v) : 0;
	const char *target = colon ? colon + 1 + strspn(colon + 1, " \t") : "";

	if (!CONFIG_RELAY_MASQUERADE) {
		return conf_fail(err, errcap, "sender masquerading is not compiled in (CONFIG_RELAY_MASQUERADE)");
	}
	if (colon == NULL || plen > ADDR_MAX || !addr_valid_sender_spec(v, plen) ||
	    !addr_valid_mailbox(target, strlen(target))) {
		return conf_fail(err, errcap, "expected ADDRESS|@DOMAIN: ADDRESS, got '%s'", v);
	}
	memcpy(out->pattern, v, plen);
	out->pattern[plen] = '\0';
	snprintf(out->target, sizeof(out->target), "%s", target);
	return 0;
}

int conf_value_local_sender(const char *v, struct conf_local_sender *out, char *err, size_t errcap)
{
	const char *colon = strchr(v, ':');
	const char *addr = colon ? colon + 1 + strspn(colon + 1, " \t") : "";
	char name[CONF_USER_MAX + 1];
	char ignored[8];

	memset(out, 0, sizeof(*out));
	if (colon == NULL || (size_t)(colon - v) >= sizeof(name)) {
		return conf_fail(err, errcap, "expected USER: ADDRESS, got '%s'", v);
	}
	memcpy(name, v, (size_t)(colon - v));
	name[colon - v] = '\0';
	if (conf_value_account(name, out->name, sizeof(out->name), ignored, sizeof(ignored)) < 0) {
		return conf_fail(err, errcap, "local_sender: '%s' is not a valid account name", name);
	}
	if (!addr_valid_mailbox(addr, strlen(addr)) || strlen(addr) >= sizeof(out->addr)) {
		return conf_fail(err, errcap, "local_sender '%s': '%s' is not a full address (user@domain)", out->name,
				 addr);
	}
	memcpy(out->addr, addr, strlen(addr) + 1);
	return 0;
}

int conf_value_alias(const char *v, struct conf_alias *out, char *err, size_t errcap)
{
	const char *colon = strchr(v, ':');
	const char *p;

	memset(out, 0, sizeof(*out));
	if (colon == NULL || !addr_valid_local(v, (size_t)(colon - v))) {
		return conf_fail(err, errcap, "expected NAME: ADDRESS[, ADDRESS...], got '%s'", v);
	}
	for (size_t i = 0; i < (size_t)(colon - v); i++) {
		out->name[i] = (char)tolower((unsigned char)v[i]);
	}
	for (p = colon + 1;;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, ", \t");
		if (len == 0 || conf_alias_target(out, p, len) < 0) {
			return conf_fail(err, errcap, "alias '%s': '%.*s' is not a full address (user@domain)",
					 out->name, (int)len, p);
		}
		p += len;
		p += strspn(p, " \t");
		if (*p == '\0') {
			return 0;
		}
		if (*p++ != ',') {
			return conf_fail(err, errcap, "alias '%s': separate addresses with commas", out->name);
		}
	}
}

int conf_host_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int conf_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0) {
		return 1;
	}
	if (inet_pton(AF_INET, host, &a4) == 1) {
		return (ntohl(a4.s_addr) >> 24) == 127;
	}
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}
