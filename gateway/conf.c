/*
 * conf.c - the key table and the line parser of subgate.conf, and the
 * printer behind `subgate config`. Cross-key rules live in conf_rules.c and
 * file checks in conf_files.c.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "conf_rules.h"
#include "conf_value.h"
#include "fdmap.h"
#include "fs.h"
#include "log.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

#define CONF_REPEAT 1u

struct conf_key {
	const char *name;
	int (*parse)(struct conf *c, const char *value, char *err, size_t errcap);
	void (*print)(const struct conf *c, const char *name, FILE *out);
	const char *default_value; /* parsed like a file value when the key is absent; NULL: none */
	unsigned flags;
};

#define FIELD_PARSER(fn, call)                                                 \
	static int fn(struct conf *c, const char *v, char *err, size_t errcap) \
	{                                                                      \
		return call;                                                   \
	}

FIELD_PARSER(parse_hostname, conf_value_hostname(v, c->hostname, sizeof(c->hostname), err, errcap))
FIELD_PARSER(parse_helo_name, conf_value_hostname(v, c->helo_name, sizeof(c->helo_name), err, errcap))
FIELD_PARSER(parse_tls_cert, conf_value_path(v, c->dir, c->tls_cert, sizeof(c->tls_cert), err, errcap))
FIELD_PARSER(parse_tls_key, conf_value_path(v, c->dir, c->tls_key, sizeof(c->tls_key), err, errcap))
FIELD_PARSER(parse_users, conf_value_path(v, c->dir, c->users, sizeof(c->users), err, errcap))
FIELD_PARSER(parse_spool, conf_value_path(v, c->dir, c->spool, sizeof(c->spool), err, errcap))
FIELD_PARSER(parse_pid_file, conf_value_path(v, c->dir, c->pid_file, sizeof(c->pid_file), err, errcap))
FIELD_PARSER(parse_run_as, conf_value_account(v, c->run_as, sizeof(c->run_as), err, errcap))
FIELD_PARSER(parse_max_message_size,
	     conf_value_size(v, 1024, CONFIG_MESSAGE_SIZE_MAX, &c->max_message_size, err, errcap))
FIELD_PARSER(parse_spool_max_messages, conf_value_size(v, 1, 10000000, &c->spool_max_messages, err, errcap))
FIELD_PARSER(parse_spool_max_size, conf_value_size(v, 65536, UINT64_MAX / 2, &c->spool_max_size, err, errcap))
FIELD_PARSER(parse_spool_min_free, conf_value_size(v, 0, UINT64_MAX / 2, &c->spool_min_free, err, errcap))
FIELD_PARSER(parse_queue_lifetime, conf_value_duration(v, 3600, 1, (uint64_t)100 * 86400, &c->queue_lifetime, err,
						       errcap)) /* bare number: hours */
FIELD_PARSER(parse_retry_min, conf_value_duration(v, 1, 1, 86400, &c->retry_min, err, errcap))
FIELD_PARSER(parse_retry_max, conf_value_duration(v, 1, 1, 86400, &c->retry_max, err, errcap))
FIELD_PARSER(parse_command_timeout, conf_value_size(v, 1, 3600, &c->command_timeout, err, errcap))
FIELD_PARSER(parse_relay_timeout, conf_value_duration(v, 1, 1, 3600, &c->relay_timeout, err, errcap))
FIELD_PARSER(parse_data_timeout, conf_value_size(v, 1, 3600, &c->data_timeout, err, errcap))
FIELD_PARSER(parse_login_timeout, conf_value_size(v, 5, 3600, &c->login_timeout, err, errcap))
FIELD_PARSER(parse_min_data_rate, conf_value_size(v, 0, 1048576, &c->min_data_rate, err, errcap))
FIELD_PARSER(parse_stress_login_timeout, conf_value_size(v, 0, 3600, &c->stress_login_timeout, err, errcap))
FIELD_PARSER(parse_max_sessions, conf_value_size(v, 1, CONFIG_MAX_SESSIONS, &c->max_sessions, err, errcap))
FIELD_PARSER(parse_max_sessions_per_addr,
	     conf_value_size(v, 1, CONFIG_MAX_SESSIONS, &c->max_sessions_per_addr, err, errcap))
FIELD_PARSER(parse_smarthost, conf_value_smarthost(v, c->smarthost_host, sizeof(c->smarthost_host), &c->smarthost_port,
						   &c->smarthost_bracketed, err, errcap))
FIELD_PARSER(parse_smarthost_tls, conf_value_smarthost_tls(v, &c->smarthost_tls, err, errcap))
FIELD_PARSER(parse_smarthost_ca, conf_value_path(v, c->dir, c->smarthost_ca, sizeof(c->smarthost_ca), err, errcap))
FIELD_PARSER(parse_smarthost_auth,
	     conf_value_path(v, c->dir, c->smarthost_auth, sizeof(c->smarthost_auth), err, errcap))

static int parse_smarthost_pin(struct conf *c, const char *v, char *err, size_t errcap)
{
	int rc = conf_value_pin(v, c->smarthost_pin, err, errcap);

	c->smarthost_has_pin = rc == 0;
	return rc;
}

static int parse_listen(struct conf *c, const char *v, char *err, size_t errcap)
{
	if (c->nlisten >= CONFIG_MAX_LISTENERS) {
		snprintf(err, errcap, "more than %d listen lines (CONFIG_MAX_LISTENERS)", CONFIG_MAX_LISTENERS);
		return -1;
	}
	return conf_value_listen(v, &c->listen[c->nlisten++], err, errcap);
}

static int parse_masquerade(struct conf *c, const char *v, char *err, size_t errcap)
{
	if (c->nmasquerade >= CONFIG_MAX_ALIASES) {
		snprintf(err, errcap, "more than %d masquerade lines (CONFIG_MAX_ALIASES)", CONFIG_MAX_ALIASES);
		return -1;
	}
	return conf_value_masquerade(v, &c->masquerade[c->nmasquerade++], err, errcap);
}

FIELD_PARSER(parse_local_submit_group,
	     conf_value_account(v, c->local_submit_group, sizeof(c->local_submit_group), err, errcap))

static int parse_local_sender(struct conf *c, const char *v, char *err, size_t errcap)
{
	if (c->nlocal_sender >= CONFIG_MAX_ALIASES) {
		snprintf(err, errcap, "more than %d local_sender lines (CONFIG_MAX_ALIASES)", CONFIG_MAX_ALIASES);
		return -1;
	}
	if (conf_value_local_sender(v, &c->local_sender[c->nlocal_sender], err, errcap) < 0) {
		return -1;
	}
	for (unsigned i = 0; i < c->nlocal_sender; i++) {
		if (strcmp(c->local_sender[i].name, c->local_sender[c->nlocal_sender].name) == 0) {
			snprintf(err, errcap, "local_sender for '%s' is given twice", c->local_sender[i].name);
			return -1;
		}
	}
	c->nlocal_sender++;
	return 0;
}

static int parse_alias(struct conf *c, const char *v, char *err, size_t errcap)
{
	if (c->nalias >= CONFIG_MAX_ALIASES) {
		snprintf(err, errcap, "more than %d alias lines (CONFIG_MAX_ALIASES)", CONFIG_MAX_ALIASES);
		return -1;
	}
	if (conf_value_alias(v, &c->alias[c->nalias], err, errcap) < 0) {
		return -1;
	}
	for (unsigned i = 0; i < c->nalias; i++) {
		if (strcmp(c->alias[i].name, c->alias[c->nalias].name) == 0) {
			snprintf(err, errcap, "alias '%s' is defined twice", c->alias[i].name);
			return -1;
		}
	}
	c->nalias++;
	return 0;
}

#define FIELD_PRINTER(fn, fmt, expr)                                 \
	static void fn(const struct conf *c, const char *k, FILE *o) \
	{                                                            \
		fprintf(o, "%-16s = " fmt "\n", k, expr);            \
	}

FIELD_PRINTER(print_hostname, "%s", c->hostname)
FIELD_PRINTER(print_helo_name, "%s", c->helo_name)
FIELD_PRINTER(print_tls_cert, "%s", c->tls_cert)
FIELD_PRINTER(print_tls_key, "%s", c->tls_key)
FIELD_PRINTER(print_users, "%s", c->users)
FIELD_PRINTER(print_spool, "%s", c->spool)
FIELD_PRINTER(print_pid_file, "%s", c->pid_file)
FIELD_PRINTER(print_run_as, "%s", c->run_as)
FIELD_PRINTER(print_max_message_size, "%llu", (unsigned long long)c->max_message_size)
FIELD_PRINTER(print_spool_max_messages, "%llu", (unsigned long long)c->spool_max_messages)
FIELD_PRINTER(print_spool_max_size, "%llu", (unsigned long long)c->spool_max_size)
FIELD_PRINTER(print_spool_min_free, "%llu", (unsigned long long)c->spool_min_free)
FIELD_PRINTER(print_queue_lifetime, "%llus", (unsigned long long)c->queue_lifetime)
FIELD_PRINTER(print_retry_min, "%llus", (unsigned long long)c->retry_min)
FIELD_PRINTER(print_retry_max, "%llus", (unsigned long long)c->retry_max)
FIELD_PRINTER(print_command_timeout, "%llu", (unsigned long long)c->command_timeout)
FIELD_PRINTER(print_relay_timeout, "%llus", (unsigned long long)c->relay_timeout)
FIELD_PRINTER(print_data_timeout, "%llu", (unsigned long long)c->data_timeout)
FIELD_PRINTER(print_login_timeout, "%llu", (unsigned long long)c->login_timeout)
FIELD_PRINTER(print_min_data_rate, "%llu", (unsigned long long)c->min_data_rate)
FIELD_PRINTER(print_stress_login_timeout, "%llu", (unsigned long long)c->stress_login_timeout)
FIELD_PRINTER(print_max_sessions, "%llu", (unsigned long long)c->max_sessions)
FIELD_PRINTER(print_max_sessions_per_addr, "%llu", (unsigned long long)c->max_sessions_per_addr)

static void print_optional_path(const char *k, const char *path, FILE *o)
{
	if (path[0] == '\0') {
		fprintf(o, "# %-14s = (not set)\n", k);
	} else {
		fprintf(o, "%-16s = %s\n", k, path);
	}
}

static void print_smarthost_ca(const struct conf *c, const char *k, FILE *o)
{
	print_optional_path(k, c->smarthost_ca, o);
}

static void print_smarthost_auth(const struct conf *c, const char *k, FILE *o)
{
	print_optional_path(k, c->smarthost_auth, o);
}

static void print_smarthost(const struct conf *c, const char *k, FILE *o)
{
	const char *open = c->smarthost_bracketed ? "[" : "", *close = c->smarthost_bracketed ? "]" : "";

	fprintf(o, "%-16s = %s%s%s:%u\n", k, open, c->smarthost_host, close, (unsigned)c->smarthost_port);
}

static void print_smarthost_tls(const struct conf *c, const char *k, FILE *o)
{
	static const char *const names[] = { "starttls", "tls", "none" };

	fprintf(o, "%-16s = %s\n", k, names[c->smarthost_tls]);
}

static void print_smarthost_pin(const struct conf *c, const char *k, FILE *o)
{
	char b64[BASE64_ENCODED_SIZE(32)];

	if (!c->smarthost_has_pin) {
		fprintf(o, "# %-14s = (not set)\n", k);
		return;
	}
	base64_encode(c->smarthost_pin, 32, b64, sizeof(b64));
	fprintf(o, "%-16s = sha256/%s\n", k, b64);
}

static void print_listen(const struct conf *c, const char *k, FILE *o)
{
	for (unsigned i = 0; i < c->nlisten; i++) {
		const struct conf_listen *l = &c->listen[i];

		fprintf(o, "%-16s = %s%s%s:%u %s\n", k, l->ipv6 ? "[" : "", l->addr, l->ipv6 ? "]" : "",
			(unsigned)l->port, l->mode == CONF_LISTEN_TLS ? "tls" : "starttls");
	}
}

static void print_masquerade(const struct conf *c, const char *k, FILE *o)
{
	for (unsigned i = 0; i < c->nmasquerade; i++) {
		fprintf(o, "%-16s = %s: %s\n", k, c->masquerade[i].pattern, c->masquerade[i].target);
	}
}

static void print_alias(const struct conf *c, const char *k, FILE *o)
{
	for (unsigned i = 0; i < c->nalias; i++) {
		fprintf(o, "%-16s = %s: %s\n", k, c->alias[i].name, c->alias[i].targets);
	}
}

static void print_local_sender(const struct conf *c, const char *k, FILE *o)
{
	for (unsigned i = 0; i < c->nlocal_sender; i++) {
		fprintf(o, "%-16s = %s: %s\n", k, c->local_sender[i].name, c->local_sender[i].addr);
	}
}

static void print_local_submit_group(const struct conf *c, const char *k, FILE *o)
{
	if (c->local_submit_group[0] != '\0') {
		fprintf(o, "%-16s = %s\n", k, c->local_submit_group);
	} else {
		fprintf(o, "# %s is not set: every local user may submit\n", k);
	}
}

static const struct conf_key conf_keys[] = {
	{ "hostname", parse_hostname, print_hostname, NULL, 0 },
	{ "helo_name", parse_helo_name, print_helo_name, NULL, 0 },
	{ "listen", parse_listen, print_listen, NULL, CONF_REPEAT },
	{ "tls_cert", parse_tls_cert, print_tls_cert, "/etc/subgate/cert.pem", 0 },
	{ "tls_key", parse_tls_key, print_tls_key, "/etc/subgate/key.pem", 0 },
	{ "users", parse_users, print_users, "/etc/subgate/users.cdb", 0 },
	{ "spool", parse_spool, print_spool, CONFIG_SPOOL_DIR, 0 },
	{ "pid_file", parse_pid_file, print_pid_file, CONFIG_PID_FILE, 0 },
	{ "run_as", parse_run_as, print_run_as, CONFIG_RUN_AS_USER, 0 },
	{ "max_message_size", parse_max_message_size, print_max_message_size, STR(CONFIG_MESSAGE_SIZE_DEFAULT), 0 },
	{ "spool_max_messages", parse_spool_max_messages, print_spool_max_messages, STR(CONFIG_SPOOL_MAX_MESSAGES), 0 },
	{ "spool_max_size", parse_spool_max_size, print_spool_max_size, STR(CONFIG_SPOOL_MAX_KBYTES) "k", 0 },
	{ "spool_min_free", parse_spool_min_free, print_spool_min_free, STR(CONFIG_SPOOL_MIN_FREE_KBYTES) "k", 0 },
	{ "queue_lifetime", parse_queue_lifetime, print_queue_lifetime, STR(CONFIG_QUEUE_LIFETIME_HOURS), 0 },
	{ "retry_min", parse_retry_min, print_retry_min, STR(CONFIG_RETRY_MIN_SECONDS), 0 },
	{ "retry_max", parse_retry_max, print_retry_max, STR(CONFIG_RETRY_MAX_SECONDS), 0 },
	{ "command_timeout", parse_command_timeout, print_command_timeout, STR(CONFIG_COMMAND_TIMEOUT), 0 },
	{ "data_timeout", parse_data_timeout, print_data_timeout, STR(CONFIG_DATA_TIMEOUT), 0 },
	{ "login_timeout", parse_login_timeout, print_login_timeout, STR(CONFIG_LOGIN_TIMEOUT), 0 },
	{ "min_data_rate", parse_min_data_rate, print_min_data_rate, STR(CONFIG_MIN_DATA_RATE), 0 },
	{ "stress_login_timeout", parse_stress_login_timeout, print_stress_login_timeout,
	  STR(CONFIG_STRESS_LOGIN_TIMEOUT), 0 },
	{ "max_sessions", parse_max_sessions, print_max_sessions, STR(CONFIG_MAX_SESSIONS), 0 },
	{ "max_sessions_per_addr", parse_max_sessions_per_addr, print_max_sessions_per_addr,
	  STR(CONFIG_MAX_SESSIONS_PER_ADDR), 0 },
	{ "relay_timeout", parse_relay_timeout, print_relay_timeout, STR(CONFIG_RELAY_CONNECT_TIMEOUT), 0 },
	{ "smarthost", parse_smarthost, print_smarthost, NULL, 0 },
	{ "smarthost_tls", parse_smarthost_tls, print_smarthost_tls, "starttls", 0 },
	{ "smarthost_ca", parse_smarthost_ca, print_smarthost_ca, NULL, 0 },
	{ "smarthost_pin", parse_smarthost_pin, print_smarthost_pin, NULL, 0 },
	{ "smarthost_auth", parse_smarthost_auth, print_smarthost_auth, NULL, 0 },
	{ "alias", parse_alias, print_alias, NULL, CONF_REPEAT },
	{ "masquerade", parse_masquerade, print_masquerade, NULL, CONF_REPEAT },
	{ "local_submit_group", parse_local_submit_group, print_local_submit_group, NULL, 0 },
	{ "local_sender", parse_local_sender, print_local_sender, NULL, CONF_REPEAT },
};

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(CONF_NKEYS <= sizeof(((struct conf *)0)->key_line) / sizeof(unsigned), "grow conf.key_line");

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
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].name, key) == 0) {
			return c->key_line[i];
		}
	}
	return 0;
}

static const struct conf_key *conf_find_key(const char *name, size_t *index)
{
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].name, name) == 0) {
			*index = i;
			return &conf_keys[i];
		}
	}
	return NULL;
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
	size_t index;
	const struct conf_key *k = conf_find_key(key, &index);

	if (k == NULL) {
		conf_error(c, lineno, "unknown key '%s'", key);
		return;
	}
	if (c->key_line[index] != 0 && !(k->flags & CONF_REPEAT)) {
		conf_error(c, lineno, "'%s' is already set on line %u", key, c->key_line[index]);
		return;
	}
	c->key_line[index] = lineno;
	if (value[0] == '\0') {
		conf_error(c, lineno, "%s: empty value", key);
	} else if (k->parse(c, value, err, sizeof(err)) < 0) {
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

static void conf_apply_defaults(struct conf *c)
{
	char err[200];

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (c->key_line[i] == 0 && k->default_value != NULL &&
		    k->parse(c, k->default_value, err, sizeof(err)) < 0) {
			conf_error(c, 0, "built-in default of %s: %s", k->name, err);
		}
	}
	conf_rules_defaults(c);
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
	conf_apply_defaults(c);
	conf_rules_check(c);
	return c->nerrors ? -1 : 0;
}

int conf_load(struct conf *c, const char *path)
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
	return conf_parse_buffer(c, path, text, len);
}

void conf_print(const struct conf *c, FILE *out)
{
	fprintf(out, "# effective settings of %s\n", c->file);
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		conf_keys[i].print(c, conf_keys[i].name, out);
	}
}
