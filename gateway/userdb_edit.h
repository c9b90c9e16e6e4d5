/*
 * userdb_edit.h - changes users.cdb by rebuilding it: copy every other user
 * into a temporary file beside it, add the change, fsync, rename, fsync the
 * directory. Readers see the old or the new file, never a mix. Concurrent
 * editors are serialised with flock() on the directory.
 */
#ifndef SUBGATE_USERDB_EDIT_H
#define SUBGATE_USERDB_EDIT_H

#include <sys/types.h>

#include "userdb_record.h"

enum userdb_edit_op {
	USERDB_EDIT_ADD,     /* fails with EX_DATAERR if the user exists */
	USERDB_EDIT_REPLACE, /* fails with EX_NOUSER if the user does not exist */
	USERDB_EDIT_DELETE,  /* fails with EX_NOUSER if the user does not exist */
};

/*
 * Returns 0 or a sysexits.h code; the reason is logged with the path. A new
 * database gets mode 0640 and, when group is not (gid_t)-1, that group (the
 * daemon's account, whose `auth` process reads it); an existing one keeps
 * its owner, group and mode.
 */
int userdb_edit(const char *path, gid_t group, enum userdb_edit_op op, const char *name, const struct userdb_entry *e);

#endif
