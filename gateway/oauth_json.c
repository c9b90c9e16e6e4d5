/*
 * oauth_json.c - strict JSON over jsmn's tokens (oauth_json.h): the checks
 * jsmn leaves out (what lies between tokens, literals, number syntax,
 * string escapes and UTF-8) and the decoding of strings. Pure; the relay
 * and `subgate oauth login`.
 */
#include <string.h>

#include "oauth_json.h"

static int oj_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Only whitespace in [b, e), but for at most one sep byte (0: none). */
static int oj_gap(const char *js, int b, int e, char sep)
{
	int seen = sep == 0;

	for (int k = b; k < e; k++) {
		if (js[k] == sep && !seen) {
			seen = 1;
		} else if (!oj_ws(js[k])) {
			return 0;
		}
	}
	return seen;
}

static int oj_start(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int oj_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

static unsigned oj_hex4(const char *s)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		char c = s[k];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16;
		if (d == 16) {
			return 0x110000; /* not a code point: the caller refuses it */
		}
		v = v * 16 + d;
	}
	return v;
}

/* \uXXXX at s (n bytes left, s[0] == 'u'), a surrogate pair read whole: the code point, its length in *used. */
static unsigned long oj_uescape(const char *s, size_t n, size_t *used)
{
	unsigned hi, lo;

	if (n < 5 || (hi = oj_hex4(s + 1)) > 0xffff || hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff)) {
		return 0x110000;
	}
	*used = 5;
	if (hi < 0xd800 || hi > 0xdbff) {
		return hi;
	}
	if (n < 11 || s[5] != '\\' || s[6] != 'u' || (lo = oj_hex4(s + 7)) < 0xdc00 || lo > 0xdfff) {
		return 0x110000;
	}
	*used = 11;
	return 0x10000 + ((unsigned long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0. */
static size_t oj_utf8(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned long cp = s[0] & (0x3f >> (len - 1));

	if (s[0] < 0xc2 || s[0] > 0xf4 || n < len) {
		return 0;
	}
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return len;
}

/* Writes cp as UTF-8 at out + *o if room (out NULL: counts only). */
static int oj_put_cp(char *out, size_t cap, size_t *o, unsigned long cp)
{
	unsigned char b[4];
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

	if (n == 1) {
		b[0] = (unsigned char)cp;
	} else {
		for (size_t k = n - 1; k > 0; k--) {
			b[k] = (unsigned char)(0x80 | (cp & 0x3f));
			cp >>= 6;
		}
		b[0] = (unsigned char)((0xf00 >> n) | cp);
	}
	if (out != NULL) {
		if (cap - *o <= n) {
			return -2;
		}
		memcpy(out + *o, b, n);
	}
	*o += n;
	return 0;
}

/* Decodes a string's content s[0..n) into out (cap bytes; NULL: checks only). */
static long oj_unescape(const char *s, size_t n, char *out, size_t cap)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		unsigned long cp = c;
		size_t used = 1;

		if (c < 0x20) {
			return -1;
		}
		if (c == '\\') {
			const char *e = i + 1 < n && s[i + 1] != '\0' ? strchr(esc_in, s[i + 1]) : NULL;

			if (i + 1 < n && s[i + 1] == 'u') {
				cp = oj_uescape(s + i + 1, n - i - 1, &used);
				used++;
			} else if (e != NULL) {
				cp = (unsigned char)esc_out[e - esc_in];
				used = 2;
			} else {
				return -1;
			}
			if (cp > 0x10ffff) {
				return -1;
			}
		} else if (c >= 0x80) {
			if ((used = oj_utf8((const unsigned char *)s + i, n - i)) == 0) {
				return -1;
			}
			if (out != NULL) {
				if (cap - o <= used) {
					return -2;
				}
				memcpy(out + o, s + i, used);
			}
			o += used;
			i += used;
			continue;
		}
		if (oj_put_cp(out, cap, &o, cp) < 0) {
			return -2;
		}
		i += used;
	}
	if (out != NULL) {
		out[o] = '\0';
	}
	return (long)o;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int oj_number(const char *s, size_t n)
{
	size_t i = 0, d;

	i += i < n && s[i] == '-';
	if (i < n && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		}
		if (i == d) {
			return 0;
		}
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		}
		if (i == d) {
			return 0;
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		i += i < n && (s[i] == '+' || s[i] == '-');
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		}
		if (i == d) {
			return 0;
		}
	}
	return i == n;
}

static int oj_primitive(const char *s, size_t n)
{
	return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0) ||
	       (n == 4 && memcmp(s, "null", 4) == 0) || oj_number(s, n);
}

/* Checks the value at *i and what it holds; *i moves past it. Returns 0 or -1. */
static int oj_value(const struct oauth_json *j, int *i, int depth)
{
	const jsmntok_t *t = &j->tok[*i];
	int self = *i, prev_end = t->start + 1, obj = t->type == JSMN_OBJECT;

	(*i)++;
	if (t->type == JSMN_STRING) {
		return oj_unescape(j->js + t->start, (size_t)(t->end - t->start), NULL, 0) < 0 ? -1 : 0;
	}
	if (t->type == JSMN_PRIMITIVE) {
		return oj_primitive(j->js + t->start, (size_t)(t->end - t->start)) ? 0 : -1;
	}
	if (depth <= 0 || (t->type != JSMN_OBJECT && t->type != JSMN_ARRAY)) {
		return -1;
	}
	for (int m = 0; m < t->size; m++) {
		if (*i >= j->ntok) {
			return -1;
		}
		const jsmntok_t *k = &j->tok[*i];
		if (k->parent != self || !oj_gap(j->js, prev_end, oj_start(k), m > 0 ? ',' : 0)) {
			return -1;
		}
		if (obj && (k->type != JSMN_STRING || k->size != 1 || *i + 1 >= j->ntok ||
			    !oj_gap(j->js, oj_end(k), oj_start(&j->tok[*i + 1]), ':') || oj_value(j, i, 0) < 0)) {
			return -1;
		}
		int v = *i;
		if (oj_value(j, i, depth - 1) < 0) {
			return -1;
		}
		prev_end = oj_end(&j->tok[v]);
	}
	return oj_gap(j->js, prev_end, t->end - 1, 0) && j->js[t->end - 1] == (obj ? '}' : ']') ? 0 : -1;
}

int oauth_json_parse(struct oauth_json *j, const char *js, size_t len, jsmntok_t *tok, int ntok, int depth)
{
	jsmn_parser p;
	int i = 0;

	j->js = js;
	j->len = len;
	j->tok = tok;
	j->ntok = 0;
	if (len > 0x7fffffff) {
		return -1;
	}
	jsmn_init(&p);
	int n = jsmn_parse(&p, js, len, tok, (unsigned)ntok);
	if (n < 1 || tok[0].type != JSMN_OBJECT) {
		return -1;
	}
	j->ntok = n;
	if (!oj_gap(js, 0, tok[0].start, 0) || oj_value(j, &i, depth) < 0 || i != n ||
	    !oj_gap(js, tok[0].end, (int)len, 0)) {
		j->ntok = 0;
		return -1;
	}
	return 0;
}

int oauth_json_next(const struct oauth_json *j, int i)
{
	int end = j->tok[i].end;

	for (i++; i < j->ntok && j->tok[i].start < end; i++) {
	}
	return i;
}

long oauth_json_string(const struct oauth_json *j, int i, char *out, size_t cap)
{
	const jsmntok_t *t = &j->tok[i];

	if (cap == 0) {
		return -2;
	}
	return oj_unescape(j->js + t->start, (size_t)(t->end - t->start), out, cap);
}

int oauth_json_uint(const struct oauth_json *j, int i, long max, long *out)
{
	const jsmntok_t *t = &j->tok[i];
	long v = 0;

	if (t->end - t->start < 1 || (t->end - t->start > 1 && j->js[t->start] == '0')) {
		return -1;
	}
	for (int k = t->start; k < t->end; k++) {
		char c = j->js[k];

		if (c < '0' || c > '9' || v > max / 10 + 1) {
			return -1;
		}
		v = v * 10 + (c - '0');
	}
	if (v > max) {
		return -1;
	}
	*out = v;
	return 0;
}
