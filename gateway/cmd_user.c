/*
 * cmd_user.c - `subgate user`: the administrator's tool for users.cdb.
 * Runs as root on the host, outside the daemon. Every change is an atomic
 * rebuild (userdb_edit.c); on any error the existing database is untouched.
 */
#include "cmd.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_password.h"
#include "conf.h"
#include "secret.h"
#include "userdb.h"
#include "userdb_edit.h"

#define USER_USAGE                                                                                  \
	"usage: subgate user add NAME [--sender ADDR|@DOMAIN]... [--stdin] [-c FILE | --db FILE]\n" \
	"       subgate user passwd NAME [--stdin] [-c FILE | --db FILE]\n"                         \
	"       subgate user del NAME [-c FILE | --db FILE]\n"                                      \
	"       subgate user list [-c FILE | --db FILE]"

struct user_args {
	const char *db;
	const char *verb;
	const char *name;
	int from_stdin;
	int nsenders;
	const char *senders[CONFIG_USER_MAX_SENDERS];
	gid_t group; /* the daemon account's group, for a new database */
};

static struct conf user_conf;

/* Resolves the database path: --db FILE, else `users` of the configuration. */
static int user_db_path(int *argc, char **argv, struct user_args *a)
{
	int missing;
	const char *conf_path;
	const struct passwd *pw;

	a->db = cli_take_value(argc, argv, "--db", &missing);
	if (missing) {
		log_err("option --db needs a file name");
		return EX_USAGE;
	}
	conf_path = cli_take_config(argc, argv);
	if (conf_path == NULL) {
		return EX_USAGE;
	}
	if (a->db == NULL) {
		/* Every line is checked, but only the user database path is needed: no smarthost required. */
		if (conf_load_scope(&user_conf, conf_path, CONF_SCOPE_TOOL) < 0) {
			return user_conf.unreadable ? EX_NOINPUT : EX_CONFIG;
		}
		a->db = user_conf.users;
	}
	pw = getpwnam(user_conf.run_as[0] != '\0' ? user_conf.run_as : CONFIG_RUN_AS_USER);
	a->group = pw != NULL ? pw->pw_gid : (gid_t)-1;
	return 0;
}

static int user_parse_args(int argc, char **argv, struct user_args *a)
{
	int missing, rc = user_db_path(&argc, argv, a);
	const char *s;

	if (rc != 0) {
		return rc;
	}
	a->from_stdin = cli_take_flag(&argc, argv, "--stdin");
	while ((s = cli_take_value(&argc, argv, "--sender", &missing)) != NULL) {
		if (a->nsenders >= CONFIG_USER_MAX_SENDERS) {
			log_err("more than %d --sender options", CONFIG_USER_MAX_SENDERS);
			return EX_USAGE;
		}
		a->senders[a->nsenders++] = s;
	}
	if (missing || argc < 2 || argc > 3 || argv[1][0] == '-' || (argc == 3 && argv[2][0] == '-')) {
		log_err("%s", USER_USAGE);
		return EX_USAGE;
	}
	a->verb = argv[1];
	a->name = argc == 3 ? argv[2] : NULL;
	return 0;
}

static int user_check_name(const char *name)
{
	if (!userdb_valid_username(name)) {
		log_err("invalid user name (use 1-%d of A-Z a-z 0-9 . _ @ + -, starting with a letter or digit)",
			CONFIG_USERNAME_MAX);
		return EX_DATAERR;
	}
	return 0;
}

/* Fills the credential from a password read now; wipes the password. */
static int user_new_credential(const struct user_args *a, struct userdb_entry *e)
{
	char password[CONFIG_PASSWORD_MAX + 2];
	unsigned char salt[CONFIG_AUTH_SALT_LEN];
	size_t len;
	int rc = cli_password_read(a->from_stdin, password, sizeof(password), &len);

	if (rc == 0 && secret_random(salt, sizeof(salt)) < 0) {
		log_err("cannot get random bytes: %s", strerror(errno));
		rc = EX_OSERR;
	}
	if (rc == 0) {
		scram_derive(password, len, salt, sizeof(salt), CONFIG_AUTH_PBKDF2_ITERATIONS, &e->cred);
	}
	secret_wipe(password, sizeof(password));
	return rc;
}

static int user_add(const struct user_args *a)
{
	struct userdb_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	for (int i = 0; i < a->nsenders; i++) {
		if (userdb_entry_add_sender(&e, a->senders[i]) < 0) {
			log_err("invalid sender '%s' (expected user@domain or @domain)", a->senders[i]);
			return EX_DATAERR;
		}
	}
	if (a->nsenders == 0 && strchr(a->name, '@') != NULL && userdb_entry_add_sender(&e, a->name) == 0) {
		log_info("user %s may send as %s (no --sender given)", a->name, a->name);
	} else if (a->nsenders == 0) {
		log_warn("user %s has no allowed sender: its mail will be refused (553) until --sender is given",
			 a->name);
	}
	rc = user_new_credential(a, &e);
	if (rc == 0) {
		rc = userdb_edit(a->db, a->group, USERDB_EDIT_ADD, a->name, &e);
	}
	secret_wipe(&e, sizeof(e));
	return rc;
}

static int user_passwd(const struct user_args *a)
{
	struct userdb db;
	struct userdb_entry e;
	int rc, found;

	if (userdb_open(&db, a->db) < 0) {
		log_err("%s: %s", a->db, userdb_strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	found = userdb_lookup(&db, a->name, &e);
	userdb_close(&db);
	if (found <= 0) {
		log_err(found < 0 ? "%s: corrupt record for '%s'" : "%s: no such user '%s'", a->db, a->name);
		return found < 0 ? EX_DATAERR : EX_NOUSER;
	}
	rc = user_new_credential(a, &e);
	if (rc == 0) {
		rc = userdb_edit(a->db, a->group, USERDB_EDIT_REPLACE, a->name, &e);
	}
	secret_wipe(&e, sizeof(e));
	return rc;
}

static int user_print(const char *name, const struct userdb_entry *e, void *ctx)
{
	(void)ctx;
	printf("%s", name);
	for (unsigned i = 0; i < e->nsenders; i++) {
		printf("%c%s", i == 0 ? '\t' : ' ', e->senders[i]);
	}
	printf("%s\n", e->nsenders == 0 ? "\t(no allowed sender)" : "");
	return 0;
}

static int user_list(const struct user_args *a)
{
	struct userdb db;
	int rc;

	if (userdb_open(&db, a->db) < 0) {
		log_err("%s: %s", a->db, userdb_strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	rc = userdb_foreach(&db, user_print, NULL);
	userdb_close(&db);
	if (rc < 0) {
		log_err("%s: corrupt user database", a->db);
		return EX_DATAERR;
	}
	return 0;
}

int cmd_user(int argc, char **argv)
{
	struct user_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = user_parse_args(argc, argv, &a);
	if (rc != 0) {
		return rc;
	}
	if (strcmp(a.verb, "list") == 0 && a.name == NULL) {
		return user_list(&a);
	}
	if (a.name == NULL || (a.nsenders > 0 && strcmp(a.verb, "add") != 0)) {
		log_err("%s", USER_USAGE);
		return EX_USAGE;
	}
	if ((rc = user_check_name(a.name)) != 0) {
		return rc;
	}
	if (strcmp(a.verb, "add") == 0) {
		return user_add(&a);
	}
	if (strcmp(a.verb, "passwd") == 0) {
		return user_passwd(&a);
	}
	if (strcmp(a.verb, "del") == 0) {
		return userdb_edit(a.db, a.group, USERDB_EDIT_DELETE, a.name, NULL);
	}
	log_err("%s", USER_USAGE);
	return EX_USAGE;
}
