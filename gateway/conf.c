/*
 * conf.c - the line parser of subgate.conf and the printers behind
 * `subgate config` and `subgate config --keys`, over the key table of
 * conf_table.c. Cross-key rules live in conf_rules.c and file checks in
 * conf_files.c.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "conf_rules.h"
#include "conf_table.h"
#include "fdmap.h"
#include "fs.h"
#include "log.h"

void conf_error(struct conf *c, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0) {
		log_err("%s:%u: %s", c->file, line, msg);
	} else {
		log_err("%s: %s", c->file, msg);
	}
	if (c->nerrors++ == 0) {
		snprintf(c->first_error, sizeof(c->first_error), "%s", msg);
	}
}

unsigned conf_key_line(const struct conf *c, const char *key)
{
	const struct conf_key *k = conf_table_find(key);

	return k != NULL ? c->key_line[conf_table_index(k)] : 0;
}

/* Cuts a '#' comment (at line start or after blank space) and trims blanks. */
static char *conf_strip(char *line)
{
	char *end;

	for (char *p = line; *p; p++) {
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	line += strspn(line, " \t");
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
		*--end = '\0';
	}
	return line;
}

static void conf_set(struct conf *c, unsigned lineno, const char *key, const char *value)
{
	char err[200];
	const struct conf_key *k = conf_table_find(key);
	size_t index;

	if (k == NULL) {
		conf_error(c, lineno, "unknown key '%s'", key);
		return;
	}
	index = conf_table_index(k);
	if (c->key_line[index] != 0 && k->type != CONF_T_LIST) {
		conf_error(c, lineno, "'%s' is already set on line %u", key, c->key_line[index]);
		return;
	}
	c->key_line[index] = lineno;
	if (value[0] == '\0') {
		conf_error(c, lineno, "%s: empty value", key);
	} else if (conf_type_parse(c, k, value, err, sizeof(err)) < 0) {
		conf_error(c, lineno, "%s: %s", key, err);
	}
}

static void conf_line(struct conf *c, unsigned lineno, char *line)
{
	char *eq, *key, *value;
	size_t key_len;

	line = conf_strip(line);
	if (line[0] == '\0') {
		return;
	}
	eq = strchr(line, '=');
	key_len = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (eq == NULL || key_len == 0 || line + key_len + strspn(line + key_len, " \t") != eq) {
		conf_error(c, lineno, "expected 'key = value'");
		return;
	}
	key = line;
	key[key_len] = '\0';
	value = eq + 1;
	value += strspn(value, " \t");
	conf_set(c, lineno, key, value);
}

static void conf_apply_defaults(struct conf *c, enum conf_scope scope)
{
	char err[200];

	for (size_t i = 0; i < conf_table_len; i++) {
		const struct conf_key *k = &conf_table[i];

		if (c->key_line[i] == 0 && k->def != NULL && conf_type_parse(c, k, k->def, err, sizeof(err)) < 0) {
			conf_error(c, 0, "built-in default of %s: %s", k->name, err);
		}
	}
	conf_rules_defaults(c, scope);
}

/* The absolute directory of a file name, without "./" noise. */
static int conf_absolute_dir(const char *name, char *dir, size_t cap)
{
	char rel[CONF_PATH_MAX], cwd[CONF_PATH_MAX];
	int n;

	if (fs_dirname(name, rel, sizeof(rel)) < 0) {
		return -1;
	}
	if (rel[0] == '/') {
		n = snprintf(dir, cap, "%s", rel);
	} else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		return -1;
	} else if (strcmp(rel, ".") == 0) {
		n = snprintf(dir, cap, "%s", cwd);
	} else {
		n = snprintf(dir, cap, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, rel);
	}
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int conf_parse_buffer(struct conf *c, const char *name, const char *text, size_t len)
{
	return conf_parse_buffer_scope(c, name, text, len, CONF_SCOPE_GATEWAY);
}

int conf_parse_buffer_scope(struct conf *c, const char *name, const char *text, size_t len, enum conf_scope scope)
{
	char line[CONF_LINE_MAX + 1];
	unsigned lineno = 0;
	size_t pos = 0;

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", name);
	if (conf_absolute_dir(name, c->dir, sizeof(c->dir)) < 0) {
		conf_error(c, 0, "cannot resolve the directory of the configuration file");
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;

		lineno++;
		if (memchr(text + pos, '\0', n) != NULL) {
			conf_error(c, lineno, "NUL byte in line");
		} else if (n > CONF_LINE_MAX) {
			conf_error(c, lineno, "line longer than %d bytes", CONF_LINE_MAX);
		} else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			conf_line(c, lineno, line);
		}
		pos += n + 1;
	}
	conf_apply_defaults(c, scope);
	conf_rules_check(c, scope);
	return c->nerrors ? -1 : 0;
}

int conf_load(struct conf *c, const char *path)
{
	return conf_load_scope(c, path, CONF_SCOPE_GATEWAY);
}

int conf_load_scope(struct conf *c, const char *path, enum conf_scope scope)
{
	static char text[CONF_FILE_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int fd = fdmap_open(path);

	if (fd < 0) {
		memset(c, 0, sizeof(*c));
		snprintf(c->file, sizeof(c->file), "%s", path);
		c->unreadable = 1;
		conf_error(c, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	while ((n = read(fd, text + len, sizeof(text) - len)) > 0) {
		len += (size_t)n;
	}
	close(fd);
	if (n < 0 || len > CONF_FILE_MAX) {
		memset(c, 0, sizeof(*c));
		snprintf(c->file, sizeof(c->file), "%s", path);
		c->unreadable = 1;
		if (n < 0) {
			conf_error(c, 0, "read error: %s", strerror(errno));
		} else {
			conf_error(c, 0, "larger than %d bytes", CONF_FILE_MAX);
		}
		return -1;
	}
	return conf_parse_buffer_scope(c, path, text, len, scope);
}

void conf_print(const struct conf *c, FILE *out)
{
	fprintf(out, "# effective settings of %s\n", c->file);
	for (size_t i = 0; i < conf_table_len; i++) {
		conf_type_print(c, &conf_table[i], out);
	}
}

/* The default of a key as `config` would print it ("a; b" for several lines, "-" for none). */
static void conf_default_text(const struct conf *defaults, const struct conf_key *k, char *buf, size_t cap)
{
	char value[CONF_LINE_MAX];
	size_t used = 0;

	snprintf(buf, cap, "-");
	for (unsigned i = 0; used < cap && conf_type_format(defaults, k, i, value, sizeof(value)); i++) {
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i > 0 ? "; " : "", value);
	}
}

void conf_print_keys(FILE *out)
{
	static struct conf defaults;
	char def[CONF_LINE_MAX], bounds[128];

	/* An empty file read as a tool reads it: every default, computed ones included. */
	conf_parse_buffer_scope(&defaults, CONFIG_CONFIG_FILE, "", 0, CONF_SCOPE_TOOL);
	defaults.hostname[0] = defaults.helo_name[0] = '\0'; /* this machine's name, not the build's */
	for (size_t i = 0; i < conf_table_len; i++) {
		const struct conf_key *k = &conf_table[i];

		conf_default_text(&defaults, k, def, sizeof(def));
		conf_type_bounds(k, bounds, sizeof(bounds));
		fprintf(out, "%s\t%s\t%s\t%s\t%s\n", k->name, conf_type_name(k->type), def, bounds, k->help);
	}
}
