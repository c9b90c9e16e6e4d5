/*
 * conf_table.c - the table of subgate.conf keys: name, type, field, default,
 * bounds and help of each, in the order `subgate config` prints them, and the
 * element types of the repeatable keys. Defaults come from Kconfig; a bound
 * is a CONFIG_* symbol where the build limits the key (message size,
 * sessions), else the runtime limit written here once.
 */
#include "conf_table.h"

#include <string.h>

#include "conf_value.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

#define FIELD(f) offsetof(struct conf, f)
#define CAP(f)   sizeof(((struct conf *)0)->f)
/* offsetof a uint64_t field; any other type fails to compile (negative array size). */
#define U64(f) (FIELD(f) + 0 * sizeof(char[CAP(f) == sizeof(uint64_t) ? 1 : -1]))

#define STRING_KEY(n, t, f, d, h)                                                                 \
	{                                                                                         \
		.name = (n), .type = (t), .off = FIELD(f), .cap = CAP(f), .def = (d), .help = (h) \
	}
#define NUMBER_KEY(n, t, f, lo, hi, d, h)                                                                  \
	{                                                                                                  \
		.name = (n), .type = (t), .off = U64(f), .min = (lo), .max = (hi), .def = (d), .help = (h) \
	}
#define DURATION_KEY(n, f, unit, lo, hi, d, h)                                                                      \
	{                                                                                                           \
		.name = (n), .type = CONF_T_DURATION, .off = U64(f), .min = (lo), .max = (hi), .bare_unit = (unit), \
		.def = (d), .help = (h)                                                                             \
	}
#define LIST_KEY(n, f, count, ops, h)                                                                       \
	{                                                                                                   \
		.name = (n), .type = CONF_T_LIST, .off = FIELD(f), .off2 = FIELD(count), .variant = &(ops), \
		.help = (h)                                                                                 \
	}

_Static_assert(sizeof(enum conf_smarthost_tls) == sizeof(int), "enum keys are stored as int");

static const struct conf_enum_word smarthost_tls_words[] = {
	{ "starttls", CONF_SMARTHOST_STARTTLS, NULL },
	{ "tls", CONF_SMARTHOST_TLS, NULL },
	{ "none", CONF_SMARTHOST_NONE,
	  CONFIG_RELAY_PLAINTEXT_LOOPBACK ? NULL
					  : "plaintext relay is not compiled in (CONFIG_RELAY_PLAINTEXT_LOOPBACK)" },
	{ NULL, 0, NULL },
};

static int listen_parse(const char *v, void *elem, char *err, size_t errcap)
{
	return conf_value_listen(v, elem, err, errcap);
}

static void listen_format(const void *elem, char *buf, size_t cap)
{
	const struct conf_listen *l = elem;

	snprintf(buf, cap, "%s%s%s:%u %s", l->ipv6 ? "[" : "", l->addr, l->ipv6 ? "]" : "", (unsigned)l->port,
		 l->mode == CONF_LISTEN_TLS ? "tls" : "starttls");
}

static int alias_parse(const char *v, void *elem, char *err, size_t errcap)
{
	return conf_value_alias(v, elem, err, errcap);
}

static void alias_format(const void *elem, char *buf, size_t cap)
{
	const struct conf_alias *a = elem;

	snprintf(buf, cap, "%s: %s", a->name, a->targets);
}

static int masquerade_parse(const char *v, void *elem, char *err, size_t errcap)
{
	return conf_value_masquerade(v, elem, err, errcap);
}

static void masquerade_format(const void *elem, char *buf, size_t cap)
{
	const struct conf_masquerade *m = elem;

	snprintf(buf, cap, "%s: %s", m->pattern, m->target);
}

static int local_sender_parse(const char *v, void *elem, char *err, size_t errcap)
{
	return conf_value_local_sender(v, elem, err, errcap);
}

static void local_sender_format(const void *elem, char *buf, size_t cap)
{
	const struct conf_local_sender *s = elem;

	snprintf(buf, cap, "%s: %s", s->name, s->addr);
}

/* The duplicate checks compare the name each element starts with. */
_Static_assert(offsetof(struct conf_alias, name) == 0, "alias elements start with their name");
_Static_assert(offsetof(struct conf_local_sender, name) == 0, "local_sender elements start with their name");

#define LIST_OPS(p, f, type, n, dpre, dpost)                                                                           \
	{                                                                                                              \
		.parse = (p), .format = (f), .elem_size = sizeof(type), .max = (n), .max_name = #n, .dup_pre = (dpre), \
		.dup_post = (dpost)                                                                                    \
	}

static const struct conf_list_ops listen_ops =
    LIST_OPS(listen_parse, listen_format, struct conf_listen, CONFIG_MAX_LISTENERS, NULL, NULL);
static const struct conf_list_ops alias_ops =
    LIST_OPS(alias_parse, alias_format, struct conf_alias, CONFIG_MAX_ALIASES, "alias", "is defined twice");
static const struct conf_list_ops masquerade_ops =
    LIST_OPS(masquerade_parse, masquerade_format, struct conf_masquerade, CONFIG_MAX_ALIASES, NULL, NULL);
static const struct conf_list_ops local_sender_ops =
    LIST_OPS(local_sender_parse, local_sender_format, struct conf_local_sender, CONFIG_MAX_ALIASES, "local_sender for",
	     "is given twice");

const struct conf_key conf_table[] = {
	STRING_KEY("hostname", CONF_T_HOST, hostname, NULL,
		   "name in the greeting and Received:; default: the system's"),
	STRING_KEY("helo_name", CONF_T_HOST, helo_name, NULL, "name sent in EHLO to the smarthost; default: hostname"),
	LIST_KEY("listen", listen, nlisten, listen_ops, "ADDR:PORT starttls|tls where clients submit"),
	STRING_KEY("tls_cert", CONF_T_PATH, tls_cert, "/etc/subgate/cert.pem", "server certificate chain (PEM)"),
	STRING_KEY("tls_key", CONF_T_PATH, tls_key, "/etc/subgate/key.pem", "its private key (PEM, not for others)"),
	STRING_KEY("users", CONF_T_PATH, users, "/etc/subgate/users.cdb", "the user database (subgate user)"),
	STRING_KEY("spool", CONF_T_PATH, spool, CONFIG_SPOOL_DIR, "the spool, root of the daemon's jail"),
	STRING_KEY("pid_file", CONF_T_PATH, pid_file, CONFIG_PID_FILE, "the master's pid file"),
	STRING_KEY("run_as", CONF_T_ACCOUNT, run_as, CONFIG_RUN_AS_USER, "the account the daemon runs as"),
	NUMBER_KEY("max_message_size", CONF_T_SIZE, max_message_size, 1024, CONFIG_MESSAGE_SIZE_MAX,
		   STR(CONFIG_MESSAGE_SIZE_DEFAULT), "largest message accepted (SIZE)"),
	NUMBER_KEY("spool_max_messages", CONF_T_COUNT, spool_max_messages, 1, 10000000, STR(CONFIG_SPOOL_MAX_MESSAGES),
		   "messages the spool may hold"),
	NUMBER_KEY("spool_max_size", CONF_T_SIZE, spool_max_size, 65536, UINT64_MAX / 2,
		   STR(CONFIG_SPOOL_MAX_KBYTES) "k", "bytes the spool may hold"),
	NUMBER_KEY("spool_min_free", CONF_T_SIZE, spool_min_free, 0, UINT64_MAX / 2,
		   STR(CONFIG_SPOOL_MIN_FREE_KBYTES) "k", "free space the spool's file system keeps"),
	DURATION_KEY("queue_lifetime", queue_lifetime, 3600, 1, (uint64_t)100 * 86400, STR(CONFIG_QUEUE_LIFETIME_HOURS),
		     "undeliverable mail is bounced after this (bare number: hours)"),
	DURATION_KEY("retry_min", retry_min, 1, 1, 86400, STR(CONFIG_RETRY_MIN_SECONDS),
		     "first retry after a temporary failure"),
	DURATION_KEY("retry_max", retry_max, 1, 1, 86400, STR(CONFIG_RETRY_MAX_SECONDS),
		     "longest wait between retries"),
	DURATION_KEY("alert_after", alert_after, 1, 1, (uint64_t)100 * 86400, "3600",
		     "a message waiting this long is warned about (syslog, SPOOL/status)"),
	DURATION_KEY("command_timeout", command_timeout, 1, 1, 3600, STR(CONFIG_COMMAND_TIMEOUT),
		     "time a client may take to send a command"),
	DURATION_KEY("data_timeout", data_timeout, 1, 1, 3600, STR(CONFIG_DATA_TIMEOUT),
		     "time a client may take for each piece of DATA"),
	DURATION_KEY("login_timeout", login_timeout, 1, 5, 3600, STR(CONFIG_LOGIN_TIMEOUT),
		     "time from connect to a successful AUTH, in all"),
	NUMBER_KEY("min_data_rate", CONF_T_SIZE, min_data_rate, 0, 1048576, STR(CONFIG_MIN_DATA_RATE),
		   "slowest DATA in bytes per second (0: off)"),
	DURATION_KEY("stress_login_timeout", stress_login_timeout, 1, 0, 3600, STR(CONFIG_STRESS_LOGIN_TIMEOUT),
		     "all slots taken: a session not logged in this long makes room"),
	NUMBER_KEY("max_sessions", CONF_T_COUNT, max_sessions, 1, CONFIG_MAX_SESSIONS, STR(CONFIG_MAX_SESSIONS),
		   "concurrent client connections"),
	NUMBER_KEY("max_sessions_per_addr", CONF_T_COUNT, max_sessions_per_addr, 1, CONFIG_MAX_SESSIONS,
		   STR(CONFIG_MAX_SESSIONS_PER_ADDR), "concurrent connections from one address"),
	DURATION_KEY("relay_timeout", relay_timeout, 1, 1, 3600, STR(CONFIG_RELAY_CONNECT_TIMEOUT),
		     "connect and reply timeout towards the smarthost"),
	{ .name = "smarthost",
	  .type = CONF_T_HOSTPORT,
	  .off = FIELD(smarthost_host),
	  .cap = CAP(smarthost_host),
	  .off2 = FIELD(smarthost_port),
	  .off3 = FIELD(smarthost_bracketed),
	  .help = "[HOST]:PORT all mail goes to" },
	{ .name = "smarthost_tls",
	  .type = CONF_T_ENUM,
	  .off = FIELD(smarthost_tls),
	  .def = "starttls",
	  .variant = smarthost_tls_words,
	  .help = "TLS towards the smarthost" },
	STRING_KEY("smarthost_ca", CONF_T_PATH, smarthost_ca, NULL, "CA certificates for the smarthost (PEM)"),
	{ .name = "smarthost_pin",
	  .type = CONF_T_PIN,
	  .off = FIELD(smarthost_pin),
	  .off2 = FIELD(smarthost_has_pin),
	  .help = "trust the smarthost by the SHA-256 of its public key" },
	STRING_KEY("smarthost_auth", CONF_T_PATH, smarthost_auth, NULL, "file with user:password at the smarthost"),
	LIST_KEY("alias", alias, nalias, alias_ops, "NAME: ADDRESS[, ...] where mail to a bare name goes"),
	LIST_KEY("masquerade", masquerade, nmasquerade, masquerade_ops, "ADDRESS|@DOMAIN: ADDRESS sender rewriting"),
	{ .name = "local_submit_group",
	  .type = CONF_T_ACCOUNT,
	  .off = FIELD(local_submit_group),
	  .cap = CAP(local_submit_group),
	  .unset = "is not set: every local user may submit",
	  .help = "only this group (and root) may use sendmail" },
	LIST_KEY("local_sender", local_sender, nlocal_sender, local_sender_ops,
		 "USER: ADDRESS the sender a local user may give"),
};

const size_t conf_table_len = sizeof(conf_table) / sizeof(conf_table[0]);

_Static_assert(sizeof(conf_table) / sizeof(conf_table[0]) <= CONF_KEYS_MAX, "grow CONF_KEYS_MAX");

const struct conf_key *conf_table_find(const char *name)
{
	for (size_t i = 0; i < conf_table_len; i++) {
		if (strcmp(conf_table[i].name, name) == 0) {
			return &conf_table[i];
		}
	}
	return NULL;
}

size_t conf_table_index(const struct conf_key *k)
{
	return (size_t)(k - conf_table);
}
