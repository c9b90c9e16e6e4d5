/*
 * conf_files.c - file and account checks behind `subgate check` (and the
 * daemon's start-up). Each problem names the key and the line that set it.
 */
#include "conf_files.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "secret.h"
#include "tls_pem.h"
#include "userdb.h"

#define SECRET_FILE_MAX 1024

static void conf_file_error(struct conf *c, const char *key, const char *msg)
{
	unsigned line = conf_key_line(c, key);

	conf_error(c, line, "%s%s: %s", key, line ? "" : " (default)", msg);
}

/* Secrets must not be readable by "other"; a group (e.g. the daemon's) is fine. */
static int conf_check_private_mode(struct conf *c, const char *key, const char *path)
{
	struct stat st;
	char msg[CONF_PATH_MAX + 96];

	if (stat(path, &st) < 0) {
		snprintf(msg, sizeof(msg), "cannot stat %s: %s", path, strerror(errno));
		conf_file_error(c, key, msg);
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		snprintf(msg, sizeof(msg), "%s is readable by others (mode %04o): chmod o-r", path,
			 (unsigned)(st.st_mode & 07777));
		conf_file_error(c, key, msg);
		return -1;
	}
	return 0;
}

static void conf_check_tls(struct conf *c)
{
	char err[CONF_PATH_MAX + 96];
	enum tls_pem_key_type type;

	if (tls_pem_check_certs(c->tls_cert, err, sizeof(err)) < 0) {
		conf_file_error(c, "tls_cert", err);
	}
	if (conf_check_private_mode(c, "tls_key", c->tls_key) < 0) {
		return;
	}
	type = tls_pem_check_key(c->tls_key, err, sizeof(err));
	if (type == TLS_PEM_KEY_NONE) {
		conf_file_error(c, "tls_key", err);
	} else if (type == TLS_PEM_KEY_RSA && CONFIG_TLS_PROFILE_EC_ONLY) {
		conf_file_error(c, "tls_key", "RSA key, but this build is EC-only (CONFIG_TLS_PROFILE_EC_ONLY)");
	}
}

/* May the account read (r: S_IROTH) or search (S_IXOTH) what st describes? */
static int conf_account_may(const struct stat *st, const struct passwd *pw, mode_t other_bit)
{
	return (st->st_uid == pw->pw_uid && (st->st_mode & (other_bit << 6))) ||
	       (st->st_gid == pw->pw_gid && (st->st_mode & (other_bit << 3))) || (st->st_mode & other_bit);
}

/*
 * The jailed `auth` process runs as run_as inside the directory of users.cdb:
 * it must be able to search that directory and read the file.
 */
static void conf_check_users_readable(struct conf *c)
{
	const struct passwd *pw = getpwnam(c->run_as);
	struct stat st, dst;
	char dir[CONF_PATH_MAX], msg[2 * CONF_PATH_MAX + 160];

	if (pw == NULL || stat(c->users, &st) < 0 || fs_dirname(c->users, dir, sizeof(dir)) < 0 ||
	    stat(dir, &dst) < 0) {
		return; /* reported elsewhere */
	}
	if (!conf_account_may(&dst, pw, S_IXOTH)) {
		snprintf(msg, sizeof(msg),
			 "directory %s is not searchable by the account '%s' the daemon runs as: chmod o+x %s", dir,
			 c->run_as, dir);
		conf_file_error(c, "users", msg);
	} else if (!conf_account_may(&st, pw, S_IROTH)) {
		snprintf(msg, sizeof(msg), "%s is not readable by the account '%s' the daemon runs as: chgrp %u %s",
			 c->users, c->run_as, (unsigned)pw->pw_gid, c->users);
		conf_file_error(c, "users", msg);
	}
}

static void conf_check_users(struct conf *c)
{
	struct userdb db;
	char msg[CONF_PATH_MAX + 96];

	if (userdb_open(&db, c->users) < 0) {
		snprintf(msg, sizeof(msg), "cannot open user database %s: %s (create it with `subgate user add`)",
			 c->users, userdb_strerror(errno));
		conf_file_error(c, "users", msg);
		return;
	}
	userdb_close(&db);
	conf_check_users_readable(c);
}

/* The credentials file holds one line "user:password"; nothing else. */
static const char *conf_auth_file_problem(const char *text, size_t len)
{
	const char *colon = memchr(text, ':', len);

	if (len > 0 && text[len - 1] == '\n') {
		len--;
	}
	if (memchr(text, '\n', len) != NULL || memchr(text, '\0', len) != NULL) {
		return "must hold exactly one line user:password";
	}
	if (colon == NULL || colon == text || (size_t)(colon - text) + 1 >= len) {
		return "expected user:password with both parts non-empty";
	}
	return NULL;
}

static void conf_check_smarthost_auth(struct conf *c)
{
	char text[SECRET_FILE_MAX + 1];
	ssize_t len;
	const char *problem;
	char msg[CONF_PATH_MAX + 96];

	if (c->smarthost_auth[0] == '\0' || conf_check_private_mode(c, "smarthost_auth", c->smarthost_auth) < 0) {
		return;
	}
	len = tls_pem_read_file(c->smarthost_auth, text, sizeof(text));
	if (len < 0) {
		snprintf(msg, sizeof(msg), "cannot read %s: %s", c->smarthost_auth, strerror(errno));
		conf_file_error(c, "smarthost_auth", msg);
		return;
	}
	problem = conf_auth_file_problem(text, (size_t)len);
	secret_wipe(text, sizeof(text));
	if (problem != NULL) {
		snprintf(msg, sizeof(msg), "%s: %s", c->smarthost_auth, problem);
		conf_file_error(c, "smarthost_auth", msg);
	}
}

/* CONFIG_SANDBOX_SEPARATE_UIDS: sessions and the relay run as RUN_AS-session and RUN_AS-relay. */
static void conf_check_separate_accounts(struct conf *c)
{
	static const char *const suffixes[] = { "-session", "-relay" };
	char name[CONF_USER_MAX + 16], msg[CONF_USER_MAX + 96];

	for (size_t i = 0; CONFIG_SANDBOX_SEPARATE_UIDS && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", c->run_as, suffixes[i]);
		if (getpwnam(name) == NULL) {
			snprintf(msg, sizeof(msg), "no such account '%s' (this build runs %s processes as it)", name,
				 suffixes[i] + 1);
			conf_file_error(c, "run_as", msg);
		}
	}
}

static void conf_check_misc(struct conf *c)
{
	char msg[CONF_PATH_MAX + 96];
	struct stat st;

	if (c->smarthost_tls != CONF_SMARTHOST_NONE && !c->smarthost_has_pin &&
	    tls_pem_check_certs(c->smarthost_ca, msg, sizeof(msg)) < 0) {
		conf_file_error(c, "smarthost_ca", msg);
	}
	if (getpwnam(c->run_as) == NULL) {
		snprintf(msg, sizeof(msg), "no such account '%s'", c->run_as);
		conf_file_error(c, "run_as", msg);
	}
	conf_check_separate_accounts(c);
	if (c->local_submit_group[0] != '\0' && getgrnam(c->local_submit_group) == NULL) {
		snprintf(msg, sizeof(msg), "no such group '%s'", c->local_submit_group);
		conf_file_error(c, "local_submit_group", msg);
	}
	for (unsigned i = 0; i < c->nlocal_sender; i++) {
		if (getpwnam(c->local_sender[i].name) == NULL) {
			snprintf(msg, sizeof(msg), "no such local user '%s'", c->local_sender[i].name);
			conf_file_error(c, "local_sender", msg);
		}
	}
	if (stat(c->spool, &st) == 0 && !S_ISDIR(st.st_mode)) {
		snprintf(msg, sizeof(msg), "%s exists and is not a directory", c->spool);
		conf_file_error(c, "spool", msg);
	}
}

unsigned conf_check_reload_files(struct conf *c)
{
	unsigned before = c->nerrors;
	char msg[CONF_PATH_MAX + 96];

	conf_check_tls(c);
	conf_check_smarthost_auth(c);
	if (c->smarthost_tls != CONF_SMARTHOST_NONE && !c->smarthost_has_pin &&
	    tls_pem_check_certs(c->smarthost_ca, msg, sizeof(msg)) < 0) {
		conf_file_error(c, "smarthost_ca", msg);
	}
	return c->nerrors - before;
}

unsigned conf_check_files(struct conf *c)
{
	unsigned before = c->nerrors;

	conf_check_tls(c);
	conf_check_users(c);
	conf_check_smarthost_auth(c);
	conf_check_misc(c);
	return c->nerrors - before;
}
