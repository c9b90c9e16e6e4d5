/*
 * local_users.h - who is on the other end of the local submission socket:
 * a uid -> login name table read from /etc/passwd by the master (before the
 * jail, and again on SIGHUP), and the sender address each local user may
 * use (a local_sender line, else NAME@hostname). Pure apart from the load.
 */
#ifndef SUBGATE_LOCAL_USERS_H
#define SUBGATE_LOCAL_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct local_user {
	uint32_t uid;
	char name[CONF_USER_MAX + 1];
};

struct local_users {
	unsigned n;
	unsigned skipped; /* entries beyond CONFIG_MAX_LOCAL_USERS or with overlong names */
	struct local_user user[CONFIG_MAX_LOCAL_USERS];
};

/* Parses passwd(5) text. The first entry for a uid wins. Returns the number of users. */
unsigned local_users_parse(struct local_users *t, const char *text, size_t len);

/* Reads and parses a passwd file (bounded). Returns 0 or -1 with errno. */
int local_users_load(struct local_users *t, const char *path);

/* The login name of uid, or NULL. */
const char *local_users_name(const struct local_users *t, uint32_t uid);

/* The address `name` may send as: its local_sender line, else name@hostname. Returns 0 or -1 (too long). */
int local_users_sender(const struct conf *c, const char *name, char *out, size_t cap);

#endif
