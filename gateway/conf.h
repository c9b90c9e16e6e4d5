/*
 * conf.h - the runtime configuration (subgate.conf) as a struct, and its
 * loading and printing. The keys are one table (conf_table.h: type, field,
 * default, bounds, help; Postfix mail_params.h style). The master parses the
 * file once before the jail; children receive the struct. Errors name the
 * file and line; unknown keys and bad values are errors.
 */
#ifndef SUBGATE_CONF_H
#define SUBGATE_CONF_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "config.h"

#define CONF_PATH_MAX      CONFIG_PATH_MAX_LEN
#define CONF_LINE_MAX      1024
#define CONF_FILE_MAX      65536
#define CONF_ALIAS_TARGETS 256
#define CONF_USER_MAX      32
#define CONF_KEYS_MAX      40 /* rows of conf_table.c at most */

enum conf_listen_mode {
	CONF_LISTEN_STARTTLS,
	CONF_LISTEN_TLS,
};

struct conf_listen {
	char addr[48]; /* numeric IPv4 or IPv6 address, without brackets */
	uint16_t port;
	int ipv6;
	enum conf_listen_mode mode;
};

enum conf_smarthost_tls {
	CONF_SMARTHOST_STARTTLS,
	CONF_SMARTHOST_TLS,
	CONF_SMARTHOST_NONE,
};

struct conf_alias {
	char name[ADDR_LOCAL_MAX + 1];
	char targets[CONF_ALIAS_TARGETS]; /* validated mailboxes, ", " separated */
};

/* local_sender = NAME: ADDR: the sender a local user may give to sendmail. */
struct conf_local_sender {
	char name[CONF_USER_MAX + 1];
	char addr[ADDR_MAX + 1];
};

struct conf_masquerade {
	char pattern[ADDR_MAX + 1]; /* local@domain or @domain */
	char target[ADDR_MAX + 1];
};

struct conf {
	char file[CONF_PATH_MAX];
	char dir[CONF_PATH_MAX]; /* absolute directory of `file`: base of relative paths */
	char hostname[ADDR_DOMAIN_MAX + 1];
	char helo_name[ADDR_DOMAIN_MAX + 1];
	struct conf_listen listen[CONFIG_MAX_LISTENERS];
	unsigned nlisten;
	char tls_cert[CONF_PATH_MAX];
	char tls_key[CONF_PATH_MAX];
	char users[CONF_PATH_MAX];
	char spool[CONF_PATH_MAX];
	char pid_file[CONF_PATH_MAX];
	char run_as[CONF_USER_MAX + 1];
	uint64_t max_message_size;
	uint64_t spool_max_messages;
	uint64_t spool_max_size;
	uint64_t spool_min_free;
	uint64_t queue_lifetime; /* seconds */
	uint64_t retry_min;      /* seconds */
	uint64_t retry_max;      /* seconds */
	uint64_t alert_after;    /* seconds: the oldest message this old is logged and SPOOL/status says late */
	uint64_t command_timeout;
	uint64_t relay_timeout;
	uint64_t data_timeout;
	uint64_t login_timeout;        /* connect to successful AUTH, in all */
	uint64_t min_data_rate;        /* bytes/s in DATA; 0: off */
	uint64_t stress_login_timeout; /* age at which a session not logged in may be closed for a newcomer */
	uint64_t max_sessions;
	uint64_t max_sessions_per_addr;
	char smarthost_host[ADDR_DOMAIN_MAX + 1];
	uint16_t smarthost_port;
	int smarthost_bracketed;
	enum conf_smarthost_tls smarthost_tls;
	char smarthost_ca[CONF_PATH_MAX];
	unsigned char smarthost_pin[32];
	int smarthost_has_pin;
	char smarthost_auth[CONF_PATH_MAX];
	struct conf_alias alias[CONFIG_MAX_ALIASES];
	unsigned nalias;
	struct conf_masquerade masquerade[CONFIG_MAX_ALIASES];
	unsigned nmasquerade;
	char local_submit_group[CONF_USER_MAX + 1]; /* "": everyone may use sendmail */
	struct conf_local_sender local_sender[CONFIG_MAX_ALIASES];
	unsigned nlocal_sender;
	/* Bookkeeping: line each key was set on (0 = default), error count and first error. */
	unsigned key_line[CONF_KEYS_MAX];
	unsigned nerrors;
	int unreadable; /* the file itself could not be read */
	char first_error[256];
};

/*
 * What the configuration is read for. Both parse every line strictly (syntax,
 * unknown keys, values) and apply the rules between keys that are set; only
 * the gateway also needs a complete configuration (a smarthost, a usable host
 * name). The command-line tools that need one path (`subgate user`) use TOOL.
 */
enum conf_scope {
	CONF_SCOPE_GATEWAY,
	CONF_SCOPE_TOOL,
};

/* Reads and validates a configuration file for the gateway. Returns 0, or -1 (errors logged, first kept). */
int conf_load(struct conf *c, const char *path);
int conf_load_scope(struct conf *c, const char *path, enum conf_scope scope);

/* The same over a buffer; `name` is used in messages and to resolve relative paths. */
int conf_parse_buffer(struct conf *c, const char *name, const char *text, size_t len);
int conf_parse_buffer_scope(struct conf *c, const char *name, const char *text, size_t len, enum conf_scope scope);

/* Writes the effective settings as a valid configuration file. */
void conf_print(const struct conf *c, FILE *out);

/* Writes the key table: name, type, default, bounds and help, tab-separated, one key a line. */
void conf_print_keys(FILE *out);

/* Records an error "FILE:LINE: message" (line 0: no line). Used by the parsers. */
void conf_error(struct conf *c, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Line on which a key was set, 0 when it has its default. */
unsigned conf_key_line(const struct conf *c, const char *key);

#endif
