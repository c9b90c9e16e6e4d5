/*
 * smtp_sasl.c - the OAuth2 SASL messages (XOAUTH2, OAUTHBEARER) and the
 * error challenge's JSON (relay, pure). See smtp_sasl.h.
 */
#include "smtp_sasl.h"

#include <stdio.h>
#include <string.h>

#include "base64.h"

#define SS_JSON_DEPTH_MAX 16
#define SS_KEY_MAX        64

/* An output that remembers whether anything did not fit. */
struct ss_out {
	char *buf;
	size_t cap;
	size_t len;
	int over;
};

static void ss_put(struct ss_out *o, const char *s, size_t len)
{
	if (o->over || len > o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->buf + o->len, s, len);
	o->len += len;
}

static void ss_puts(struct ss_out *o, const char *s)
{
	ss_put(o, s, strlen(s));
}

static long ss_done(const struct ss_out *o)
{
	return o->over ? SMTP_SASL_TOO_LONG : (long)o->len;
}

/* RFC 6750 2.1 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
static int ss_token_ok(const char *t)
{
	size_t i = 0;

	while (t[i] != '\0' && (strchr("-._~+/", t[i]) != NULL || (t[i] >= '0' && t[i] <= '9') ||
				((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z'))) {
		i++;
	}
	if (i == 0) {
		return 0;
	}
	while (t[i] == '=') {
		i++;
	}
	return t[i] == '\0';
}

/* No control characters (UTF-8 is fine); `no_space`: no space either. Not empty. */
static int ss_text_ok(const char *s, int no_space)
{
	if (s[0] == '\0') {
		return 0;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || (no_space && *p == ' ')) {
			return 0;
		}
	}
	return 1;
}

const char *smtp_sasl_mech_name(enum smtp_sasl_mech mech)
{
	return mech == SMTP_SASL_OAUTHBEARER ? "OAUTHBEARER" : "XOAUTH2";
}

const char *smtp_sasl_failure_ack(enum smtp_sasl_mech mech)
{
	return mech == SMTP_SASL_OAUTHBEARER ? "AQ==" : "";
}

long smtp_sasl_xoauth2(char *out, size_t cap, const char *user, const char *token)
{
	struct ss_out o = { out, cap, 0, 0 };

	if (!ss_text_ok(user, 0) || !ss_token_ok(token)) {
		return SMTP_SASL_UNFIT;
	}
	ss_puts(&o, "user=");
	ss_puts(&o, user);
	ss_puts(&o, "\001auth=Bearer ");
	ss_puts(&o, token);
	ss_put(&o, "\001\001", 2);
	return ss_done(&o);
}

long smtp_sasl_oauthbearer(char *out, size_t cap, const char *user, const char *host, unsigned port, const char *token)
{
	struct ss_out o = { out, cap, 0, 0 };
	char num[16];

	if (!ss_text_ok(user, 0) || !ss_text_ok(host, 1) || port == 0 || port > 65535 || !ss_token_ok(token)) {
		return SMTP_SASL_UNFIT;
	}
	ss_puts(&o, "n,a=");
	for (const char *p = user; *p != '\0'; p++) { /* RFC 5801 saslname */
		if (*p == '=' || *p == ',') {
			ss_puts(&o, *p == '=' ? "=3D" : "=2C");
		} else {
			ss_put(&o, p, 1);
		}
	}
	snprintf(num, sizeof(num), "%u", port);
	ss_puts(&o, ",\001host=");
	ss_puts(&o, host);
	ss_puts(&o, "\001port=");
	ss_puts(&o, num);
	ss_puts(&o, "\001auth=Bearer ");
	ss_puts(&o, token);
	ss_put(&o, "\001\001", 2);
	return ss_done(&o);
}

/* A bounded JSON scan. */
struct ss_json {
	const char *p;
	size_t len;
	size_t i;
};

static void ss_ws(struct ss_json *j)
{
	while (j->i < j->len && strchr(" \t\r\n", j->p[j->i]) != NULL && j->p[j->i] != '\0') {
		j->i++;
	}
}

static int ss_hex4(const struct ss_json *j)
{
	for (size_t k = 0; k < 4; k++) {
		char c = '\0';

		if (j->i + k < j->len) {
			c = j->p[j->i + k];
		}

		if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

/*
 * A string at j->i. Its characters (printable ASCII, others as '?') go to out
 * when out is not NULL, cut to cap - 1; *total counts them all. Returns 0 or -1.
 */
static int ss_string(struct ss_json *j, char *out, size_t cap, size_t *total)
{
	size_t n = 0;

	*total = 0;
	if (out != NULL && cap > 0) {
		out[0] = '\0';
	}
	if (j->i >= j->len || j->p[j->i] != '"') {
		return -1;
	}
	for (j->i++; j->i < j->len;) {
		unsigned char c = (unsigned char)j->p[j->i++];

		if (c == '"') {
			return 0;
		}
		if (c < 0x20) {
			return -1;
		}
		if (c == '\\') {
			c = j->i < j->len ? (unsigned char)j->p[j->i++] : 0;
			if (c == 'u' && ss_hex4(j)) {
				j->i += 4;
				c = '?';
			} else if (c == 0 || strchr("\"\\/bfnrt", c) == NULL) {
				return -1;
			}
			c = strchr("bfnrt", c) != NULL ? '?' : c;
		}
		if (out != NULL && n + 1 < cap) {
			out[n++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
			out[n] = '\0'; /* terminated at every step: damage further on leaves a string */
		}
		(*total)++;
	}
	return -1;
}

/* A number or literal (true, false, null): copied as written when out is not NULL. */
static int ss_bare(struct ss_json *j, char *out, size_t cap)
{
	size_t start = j->i;

	while (j->i < j->len && j->p[j->i] != '\0' && strchr("+-.0123456789abcdefghijklmnopqrstuvwxyzE", j->p[j->i])) {
		j->i++;
	}
	if (j->i == start) {
		return -1;
	}
	if (out != NULL && cap > 0) {
		size_t n = j->i - start < cap - 1 ? j->i - start : cap - 1;

		memcpy(out, j->p + start, n);
		out[n] = '\0';
	}
	return 0;
}

static int ss_value(struct ss_json *j, unsigned depth, char *out, size_t cap);

/* An object or array at j->i (its opening bracket). Returns 0 or -1. */
static int ss_container(struct ss_json *j, unsigned depth)
{
	char close = j->p[j->i] == '{' ? '}' : ']';
	size_t total;

	if (depth >= SS_JSON_DEPTH_MAX) {
		return -1;
	}
	j->i++;
	ss_ws(j);
	if (j->i < j->len && j->p[j->i] == close) {
		j->i++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (ss_string(j, NULL, 0, &total) < 0 || (ss_ws(j), j->i >= j->len || j->p[j->i] != ':')) {
				return -1;
			}
			j->i++;
		}
		if (ss_value(j, depth + 1, NULL, 0) < 0) {
			return -1;
		}
		ss_ws(j);
		if (j->i >= j->len || (j->p[j->i] != ',' && j->p[j->i] != close)) {
			return -1;
		}
		if (j->p[j->i++] == close) {
			return 0;
		}
		ss_ws(j);
	}
}

static int ss_value(struct ss_json *j, unsigned depth, char *out, size_t cap)
{
	size_t total;

	ss_ws(j);
	if (j->i >= j->len) {
		return -1;
	}
	if (j->p[j->i] == '"') {
		return ss_string(j, out, cap, &total);
	}
	if (j->p[j->i] == '{' || j->p[j->i] == '[') {
		return ss_container(j, depth);
	}
	return ss_bare(j, out, cap);
}

int smtp_sasl_json_string(const char *json, size_t len, const char *key, char *out, size_t cap)
{
	struct ss_json j = { json, len, 0 };
	char name[SS_KEY_MAX];
	size_t total;
	int found = 0;

	out[0] = '\0';
	ss_ws(&j);
	if (j.i >= j.len || json[j.i] != '{') {
		return -1;
	}
	j.i++;
	ss_ws(&j);
	if (j.i < j.len && json[j.i] == '}') {
		return 0;
	}
	for (;;) {
		if (ss_string(&j, name, sizeof(name), &total) < 0 || (ss_ws(&j), j.i >= j.len || json[j.i] != ':')) {
			return -1;
		}
		j.i++;
		int match = !found && total == strlen(key) && strcmp(name, key) == 0;
		ss_ws(&j);
		int scalar = j.i < j.len && json[j.i] != '{' && json[j.i] != '[';

		if (ss_value(&j, 1, match && scalar ? out : NULL, cap) < 0) {
			return -1;
		}
		found |= match && scalar;
		ss_ws(&j);
		if (j.i >= j.len || (json[j.i] != ',' && json[j.i] != '}')) {
			return -1;
		}
		if (json[j.i++] == '}') {
			return found;
		}
		ss_ws(&j);
	}
}

int smtp_sasl_challenge(const char *text, size_t len, struct smtp_sasl_error *e)
{
	char json[768];
	long n;

	memset(e, 0, sizeof(*e));
	while (len > 0 && text[len - 1] == ' ') {
		len--;
	}
	if (len > BASE64_ENCODED_SIZE(sizeof(json)) - 1 || (n = base64_decode(text, len, json, sizeof(json))) < 0) {
		return -1;
	}
	if (smtp_sasl_json_string(json, (size_t)n, "status", e->status, sizeof(e->status)) < 0 ||
	    smtp_sasl_json_string(json, (size_t)n, "schemes", e->schemes, sizeof(e->schemes)) < 0 ||
	    smtp_sasl_json_string(json, (size_t)n, "scope", e->scope, sizeof(e->scope)) < 0) {
		return -1;
	}
	return 0;
}
