/*
 * json.c - the bounded JSON writer (json.h). Pure apart from the sink.
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

void json_init(struct json *j, json_sink sink, void *ctx)
{
	memset(j, 0, sizeof(*j));
	j->sink = sink;
	j->ctx = ctx;
}

/* Straight to the sink, which batches (the control socket's buffer): one buffer, not two. */
static void json_put(struct json *j, const char *p, size_t n)
{
	if (n > 0 && !j->failed && j->sink(j->ctx, p, n) < 0) {
		j->failed = 1;
	}
}

/* Before any value or key: the comma between members, unless a key was just written. */
static void json_separate(struct json *j)
{
	uint32_t bit = 1U << j->depth;

	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->has_member & bit) {
		json_put(j, ",", 1);
	}
	j->has_member |= bit;
}

static void json_open(struct json *j, const char *c)
{
	json_separate(j);
	if (j->depth + 1 >= JSON_DEPTH_MAX) {
		j->failed = 1;
		return;
	}
	json_put(j, c, 1);
	j->depth++;
	j->has_member &= ~(1U << j->depth);
}

static void json_close(struct json *j, const char *c)
{
	if (j->depth == 0 || j->after_key) {
		j->failed = 1;
		return;
	}
	j->depth--;
	json_put(j, c, 1);
}

void json_object_begin(struct json *j)
{
	json_open(j, "{");
}

void json_object_end(struct json *j)
{
	json_close(j, "}");
}

void json_array_begin(struct json *j)
{
	json_open(j, "[");
}

void json_array_end(struct json *j)
{
	json_close(j, "]");
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4), 0 if
 * p[0..n) is a valid but incomplete start of one, -1 if it is ill-formed.
 */
static int json_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int len;

	if (p[0] < 0x80) {
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf; /* no UTF-16 surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
	} else {
		return -1;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n) {
			return 0;
		}
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf)) {
			return -1;
		}
	}
	return len;
}

static void json_escape_byte(struct json *j, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

	switch (c) {
	case '"':
		json_put(j, "\\\"", 2);
		return;
	case '\\':
		json_put(j, "\\\\", 2);
		return;
	case '\b':
		json_put(j, "\\b", 2);
		return;
	case '\f':
		json_put(j, "\\f", 2);
		return;
	case '\n':
		json_put(j, "\\n", 2);
		return;
	case '\r':
		json_put(j, "\\r", 2);
		return;
	case '\t':
		json_put(j, "\\t", 2);
		return;
	default:
		json_put(j, e, sizeof(e));
	}
}

void json_string_begin(struct json *j)
{
	json_separate(j);
	json_put(j, "\"", 1);
}

size_t json_string_chunk(struct json *j, const void *data, size_t len, int last)
{
	const unsigned char *p = data;
	size_t i = 0, plain = 0; /* p[plain..i) passes through unchanged */

	while (i < len) {
		int n = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\' ? 1 : 0;

		if (n == 0 && p[i] >= 0x80) {
			n = json_utf8_len(p + i, len - i);
			if (n == 0 && !last) {
				break; /* the rest of this character comes with the next chunk */
			}
		}
		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		json_put(j, (const char *)p + plain, i - plain);
		json_escape_byte(j, p[i]);
		plain = ++i;
	}
	json_put(j, (const char *)p + plain, i - plain);
	return i;
}

void json_string_end(struct json *j)
{
	json_put(j, "\"", 1);
}

void json_string(struct json *j, const char *s)
{
	json_string_begin(j);
	(void)json_string_chunk(j, s, strlen(s), 1);
	json_string_end(j);
}

void json_key(struct json *j, const char *key)
{
	if (j->after_key) {
		j->failed = 1;
		return;
	}
	json_string(j, key);
	json_put(j, ":", 1);
	j->after_key = 1;
}

void json_uint(struct json *j, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	json_separate(j);
	json_put(j, num, (size_t)n);
}

void json_int(struct json *j, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", (long long)v);

	json_separate(j);
	json_put(j, num, (size_t)n);
}

void json_bool(struct json *j, int v)
{
	json_separate(j);
	json_put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
	json_separate(j);
	json_put(j, "null", 4);
}

int json_finish(struct json *j)
{
	return j->failed || j->depth != 0 || j->after_key ? -1 : 0;
}
