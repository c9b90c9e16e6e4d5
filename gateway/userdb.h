/*
 * userdb.h - read access to users.cdb (TinyCDB): look a user up, or walk all
 * users. Runs in `auth` and in `subgate user list`. Lookups follow TinyCDB's
 * 1 found / 0 not found / -1 error convention.
 */
#ifndef SUBGATE_USERDB_H
#define SUBGATE_USERDB_H

#include <cdb.h>

#include "userdb_fake.h"
#include "userdb_record.h"

struct userdb {
	int fd;
	struct cdb cdb;
};

/* Opens and maps the database. Returns 0 or -1 with errno. */
int userdb_open(struct userdb *db, const char *path);
void userdb_close(struct userdb *db);

/* strerror() that names a file that is not a CDB database (TinyCDB's EPROTO). */
const char *userdb_strerror(int err);

/* 1 and *e filled if found, 0 if not, -1 on a corrupt record (errno EINVAL). */
int userdb_lookup(struct userdb *db, const char *name, struct userdb_entry *e);

/* The fake-salt record (userdb_fake.h): 1 and *f filled, 0 if absent (an older database), -1 if corrupt. */
int userdb_fake_lookup(struct userdb *db, struct userdb_fake *f);

/* Calls fn for every user in file order (not the fake-salt record); stops early if fn returns non-zero. */
typedef int (*userdb_visit_fn)(const char *name, const struct userdb_entry *e, void *ctx);
int userdb_foreach(struct userdb *db, userdb_visit_fn fn, void *ctx);

#endif
