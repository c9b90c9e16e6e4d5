/*
 * jail.h - building the jail at start (root) and entering it in each
 * process (DESIGN.md section 1): the accounts, the directories each role is
 * confined to, chroot, uid/gid, rlimits, then the role's seccomp filter.
 *
 *   role              root directory                  account
 *   master, session   SPOOL/empty (empty, read-only)   run_as (-session)
 *   auth              the directory of users.cdb       run_as
 *   queue             SPOOL (tmp/ queue/ defer/ 0700)  run_as
 *   relay             SPOOL (etc/hosts, resolv.conf)   run_as (-relay)
 */
#ifndef SUBGATE_JAIL_H
#define SUBGATE_JAIL_H

#include <sys/types.h>

#include "conf.h"
#include "sandbox_policy.h"

struct jail_account {
	uid_t uid;
	gid_t gid;
	char name[CONF_USER_MAX + 16];
};

struct jail {
	int enabled; /* 0: --no-jail (development): no chroot, no uid change; seccomp stays */
	struct jail_account main, session, relay;
	char spool[CONF_PATH_MAX];
	char empty[CONF_PATH_MAX + 8];
	char users_dir[CONF_PATH_MAX];
	char users_file[CONF_PATH_MAX]; /* users.cdb as auth sees it: "/users.cdb" in the jail */
};

/* Looks the accounts up (before any chroot). Returns 0, or -1 with a reason in err. */
int jail_init(struct jail *j, const struct conf *c, int enabled, char *err, size_t errcap);

/*
 * Root only, with the spool open: makes the spool root-owned 0755, its
 * tmp/ queue/ defer/ (and their files) the queue account's with 0700, the
 * empty directory, and the relay's etc/ copies. Returns 0, or -1 with err.
 */
int jail_prepare(const struct jail *j, const struct conf *c, int spool_fd, char *err, size_t errcap);

/* Confines the calling process to its role; on any failure it exits (never runs unconfined). */
void jail_enter(const struct jail *j, enum sandbox_role role);

#endif
