/*
 * conf_table.h - the one table of subgate.conf keys (Postfix mail_params.h
 * style): each row names a key, its type, where its value lives in struct
 * conf (offsetof), its default and bounds (from Kconfig where the build sets
 * them) and a line of help. Parsing and printing are per type (conf_type.c);
 * `subgate config`, `subgate config --keys` and the man page list all come
 * from this table.
 */
#ifndef SUBGATE_CONF_TABLE_H
#define SUBGATE_CONF_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

enum conf_type {
	CONF_T_HOST,     /* a domain name */
	CONF_T_PATH,     /* a file or directory; relative to the configuration file's directory */
	CONF_T_ACCOUNT,  /* a user or group name */
	CONF_T_SIZE,     /* bytes, with an optional k, m or g suffix */
	CONF_T_COUNT,    /* a number (the size syntax, for compatibility) */
	CONF_T_DURATION, /* a number with an optional unit s, m, h or d */
	CONF_T_ENUM,     /* one of a list of words */
	CONF_T_HOSTPORT, /* [HOST]:PORT or HOST:PORT */
	CONF_T_PIN,      /* sha256/BASE64 */
	CONF_T_LIST,     /* a repeatable key; each line one element */
	CONF_T_NTYPES,
};

/* One word of an enum key; `missing` set: the word is known but not in this build (the reason). */
struct conf_enum_word {
	const char *word;
	int value;
	const char *missing;
};

/* The element type of a repeatable key. */
struct conf_list_ops {
	int (*parse)(const char *v, void *elem, char *err, size_t errcap);
	void (*format)(const void *elem, char *buf, size_t cap);
	size_t elem_size;
	unsigned max;         /* array length in struct conf */
	const char *max_name; /* the Kconfig symbol behind max, for the error */
	const char *dup_pre;  /* non-NULL: an element's leading name must be unique; */
	const char *dup_post; /* the error is "DUP_PRE 'NAME' DUP_POST" */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;          /* offsetof(struct conf, value) */
	size_t cap;          /* strings: capacity of the field */
	size_t off2;         /* second field: list count, pin flag, smarthost port */
	size_t off3;         /* third field: smarthost brackets */
	uint64_t min, max;   /* sizes, counts and durations (durations in seconds) */
	uint64_t bare_unit;  /* durations: seconds a bare number stands for */
	const char *def;     /* parsed like a file value when the key is absent; NULL: none */
	const char *unset;   /* `config` comment when not set; NULL: "# KEY = (not set)" */
	const void *variant; /* enum: NULL-terminated conf_enum_word[]; list: conf_list_ops */
	const char *help;
};

extern const struct conf_key conf_table[];
extern const size_t conf_table_len;

/* The row of a key, or NULL. */
const struct conf_key *conf_table_find(const char *name);

/* The row's index (for conf.key_line). */
size_t conf_table_index(const struct conf_key *k);

/* Parses one value of the row's type into c; -1 and a reason in err. */
int conf_type_parse(struct conf *c, const struct conf_key *k, const char *v, char *err, size_t errcap);

/* Writes the row's value(s) as `subgate config` lines (a comment when not set). */
void conf_type_print(const struct conf *c, const struct conf_key *k, FILE *out);

/* Value i of the row as text (a file value); 0 when there is no value i. */
int conf_type_format(const struct conf *c, const struct conf_key *k, unsigned i, char *buf, size_t cap);

/* The type's name and the row's bounds as text, for `subgate config --keys`. */
const char *conf_type_name(enum conf_type t);
void conf_type_bounds(const struct conf_key *k, char *buf, size_t cap);

#endif
