/*
 * conf_type.c - one parser and one formatter per key type of the table
 * (conf_table.c): they find the value in struct conf by the row's offsets
 * and take bounds, defaults and words from the row. The value syntax itself
 * is conf_value.c's.
 */
#include "conf_table.h"

#include <string.h>

#include "base64.h"
#include "conf_value.h"

#define AT(c, off)  ((void *)((char *)(c) + (off)))
#define CAT(c, off) ((const void *)((const char *)(c) + (off)))

struct conf_type_ops {
	const char *name;
	int (*parse)(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap);
	/* Value i as text; 0 when there is none. */
	int (*format)(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap);
};

static int parse_host(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_value_hostname(v, AT(c, k->off), k->cap, err, errcap);
}

static int parse_path(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_value_path(v, c->dir, AT(c, k->off), k->cap, err, errcap);
}

static int parse_account(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_value_account(v, AT(c, k->off), k->cap, err, errcap);
}

static int format_string(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	const char *s = CAT(c, k->off);

	if (i > 0 || s[0] == '\0') {
		return 0;
	}
	snprintf(buf, cap, "%s", s);
	return 1;
}

static int parse_size(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_value_size(v, k->min, k->max, AT(c, k->off), err, errcap);
}

static int format_number(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	uint64_t n;

	memcpy(&n, CAT(c, k->off), sizeof(n));
	snprintf(buf, cap, "%llu", (unsigned long long)n);
	return i == 0;
}

static int parse_duration(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_value_duration(v, k->bare_unit, k->min, k->max, AT(c, k->off), err, errcap);
}

static int format_duration(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	uint64_t n;

	memcpy(&n, CAT(c, k->off), sizeof(n));
	snprintf(buf, cap, "%llus", (unsigned long long)n);
	return i == 0;
}

/* "'V' is not A, B or C" from the words of the row. */
static int enum_refuse(const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	const struct conf_enum_word *w = k->variant;
	size_t used = (size_t)snprintf(err, errcap, "'%s' is not ", v);

	for (size_t i = 0; w[i].word != NULL && used < errcap; i++) {
		const char *sep = i == 0 ? "" : w[i + 1].word == NULL ? " or " : ", ";

		used += (size_t)snprintf(err + used, errcap - used, "%s%s", sep, w[i].word);
	}
	return -1;
}

static int parse_enum(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	for (const struct conf_enum_word *w = k->variant; w->word != NULL; w++) {
		if (strcmp(v, w->word) != 0) {
			continue;
		}
		if (w->missing != NULL) {
			snprintf(err, errcap, "%s", w->missing);
			return -1;
		}
		memcpy(AT(c, k->off), &w->value, sizeof(w->value));
		return 0;
	}
	return enum_refuse(k, v, err, errcap);
}

static int format_enum(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	int value;

	memcpy(&value, CAT(c, k->off), sizeof(value));
	for (const struct conf_enum_word *w = k->variant; w->word != NULL && i == 0; w++) {
		if (w->value == value) {
			snprintf(buf, cap, "%s", w->word);
			return 1;
		}
	}
	return 0;
}

static int parse_hostport(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_value_smarthost(v, AT(c, k->off), k->cap, AT(c, k->off2), AT(c, k->off3), err, errcap);
}

static int format_hostport(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	const char *host = CAT(c, k->off);
	uint16_t port;
	int bracketed;

	if (i > 0 || host[0] == '\0') {
		return 0;
	}
	memcpy(&port, CAT(c, k->off2), sizeof(port));
	memcpy(&bracketed, CAT(c, k->off3), sizeof(bracketed));
	snprintf(buf, cap, "%s%s%s:%u", bracketed ? "[" : "", host, bracketed ? "]" : "", (unsigned)port);
	return 1;
}

static int parse_pin(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	int has = conf_value_pin(v, AT(c, k->off), err, errcap) == 0;

	memcpy(AT(c, k->off2), &has, sizeof(has));
	return has ? 0 : -1;
}

static int format_pin(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	char b64[BASE64_ENCODED_SIZE(32)];
	int has;

	memcpy(&has, CAT(c, k->off2), sizeof(has));
	if (i > 0 || !has) {
		return 0;
	}
	base64_encode(CAT(c, k->off), 32, b64, sizeof(b64));
	snprintf(buf, cap, "sha256/%s", b64);
	return 1;
}

/* Appends an element; an element that starts with a name may have to be the only one of that name. */
static int parse_list(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	const struct conf_list_ops *ops = k->variant;
	unsigned *count = AT(c, k->off2);
	char *elems = AT(c, k->off);
	char *elem = elems + (size_t)*count * ops->elem_size;

	if (*count >= ops->max) {
		snprintf(err, errcap, "more than %u %s lines (%s)", ops->max, k->name, ops->max_name);
		return -1;
	}
	memset(elem, 0, ops->elem_size);
	if (ops->parse(v, elem, err, errcap) < 0) {
		return -1;
	}
	for (unsigned i = 0; ops->dup_pre != NULL && i < *count; i++) {
		if (strcmp(elems + (size_t)i * ops->elem_size, elem) == 0) {
			snprintf(err, errcap, "%s '%s' %s", ops->dup_pre, elem, ops->dup_post);
			return -1;
		}
	}
	(*count)++;
	return 0;
}

static int format_list(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	const struct conf_list_ops *ops = k->variant;
	unsigned count;

	memcpy(&count, CAT(c, k->off2), sizeof(count));
	if (i >= count) {
		return 0;
	}
	ops->format((const char *)CAT(c, k->off) + (size_t)i * ops->elem_size, buf, cap);
	return 1;
}

static const struct conf_type_ops conf_types[CONF_T_NTYPES] = {
	[CONF_T_HOST] = { "host", parse_host, format_string },
	[CONF_T_PATH] = { "path", parse_path, format_string },
	[CONF_T_ACCOUNT] = { "account", parse_account, format_string },
	[CONF_T_SIZE] = { "size", parse_size, format_number },
	[CONF_T_COUNT] = { "count", parse_size, format_number },
	[CONF_T_DURATION] = { "duration", parse_duration, format_duration },
	[CONF_T_ENUM] = { "enum", parse_enum, format_enum },
	[CONF_T_HOSTPORT] = { "host:port", parse_hostport, format_hostport },
	[CONF_T_PIN] = { "pin", parse_pin, format_pin },
	[CONF_T_LIST] = { "list", parse_list, format_list },
};

int conf_type_parse(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap)
{
	return conf_types[k->type].parse(c, k, v, err, errcap);
}

int conf_type_format(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap)
{
	return conf_types[k->type].format(c, k, i, buf, cap);
}

void conf_type_print(const struct conf *c, const struct conf_key *k, FILE *out)
{
	char value[CONF_LINE_MAX];
	unsigned i = 0;

	while (conf_type_format(c, k, i, value, sizeof(value))) {
		fprintf(out, "%-16s = %s\n", k->name, value);
		i++;
	}
	if (i > 0 || k->type == CONF_T_LIST) {
		return;
	}
	if (k->unset != NULL) {
		fprintf(out, "# %s %s\n", k->name, k->unset);
	} else {
		fprintf(out, "# %-14s = (not set)\n", k->name);
	}
}

const char *conf_type_name(enum conf_type t)
{
	return conf_types[t].name;
}

void conf_type_bounds(const struct conf_key *k, char *buf, size_t cap)
{
	const char *unit = k->type == CONF_T_DURATION ? "s" : "";

	if (k->type == CONF_T_SIZE || k->type == CONF_T_COUNT || k->type == CONF_T_DURATION) {
		snprintf(buf, cap, "%llu%s..%llu%s", (unsigned long long)k->min, unit, (unsigned long long)k->max,
			 unit);
	} else if (k->type == CONF_T_LIST) {
		snprintf(buf, cap, "at most %u", ((const struct conf_list_ops *)k->variant)->max);
	} else if (k->type == CONF_T_ENUM) {
		size_t used = 0;

		buf[0] = '\0';
		for (const struct conf_enum_word *w = k->variant; w->word != NULL && used < cap; w++) {
			if (w->missing == NULL) {
				used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "|" : "", w->word);
			}
		}
	} else {
		snprintf(buf, cap, "-");
	}
}
