/*
 * userdb_edit.c - the only writer of users.cdb (run by `subgate user`).
 */
#include "userdb_edit.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "secret.h"
#include "userdb.h"

struct userdb_rebuild {
	const char *path;
	gid_t group; /* of a new database, so that the daemon's account can read it; -1: ours */
	char tmp[4096];
	int tmp_fd;
	int old_fd;
	struct cdb old;
	struct cdb_make out;
	struct userdb_fake fake; /* the old database's fake-salt secret, kept */
	int have_fake;
	struct userdb_fake_tally tally; /* of the records written */
};

/* Counts a copied record's iteration count and salt length; an undecodable one is copied as it is. */
static void userdb_tally_record(struct userdb_rebuild *r, const void *val, unsigned vlen)
{
	static struct userdb_entry e;

	if (userdb_record_decode(val, vlen, &e) == 0) {
		userdb_fake_tally_add(&r->tally, &e.cred);
	}
	secret_wipe(&e, sizeof(e));
}

/* Copies every record except `skip` (and the fake-salt record, written anew) from the old database. */
static int userdb_copy_others(struct userdb_rebuild *r, const char *skip)
{
	unsigned cpos;
	size_t skip_len = strlen(skip);
	int rc;

	cdb_seqinit(&cpos, &r->old);
	while ((rc = cdb_seqnext(&cpos, &r->old)) > 0) {
		unsigned klen = cdb_keylen(&r->old), vlen = cdb_datalen(&r->old);
		const void *key = cdb_get(&r->old, klen, cdb_keypos(&r->old));
		const void *val = cdb_get(&r->old, vlen, cdb_datapos(&r->old));

		if (key == NULL || val == NULL) {
			return -1;
		}
		if (userdb_fake_is_key(key, klen)) {
			r->have_fake = userdb_fake_decode(val, vlen, &r->fake) == 0;
			continue;
		}
		if (klen == skip_len && memcmp(key, skip, klen) == 0) {
			continue;
		}
		userdb_tally_record(r, val, vlen);
		if (cdb_make_add(&r->out, key, klen, val, vlen) < 0) {
			return -1;
		}
	}
	return rc;
}

/* Refuses an add of an existing user, or a change of a missing one. Returns 0 or a sysexits code. */
static int userdb_check_presence(struct userdb_rebuild *r, enum userdb_edit_op op, const char *name)
{
	int found = r->old_fd >= 0 ? cdb_find(&r->old, name, (unsigned)strlen(name)) : 0;

	if (found < 0) {
		log_err("%s: corrupt user database", r->path);
		return EX_DATAERR;
	}
	if (op == USERDB_EDIT_ADD && found) {
		log_err("%s: user '%s' already exists", r->path, name);
		return EX_DATAERR;
	}
	if (op != USERDB_EDIT_ADD && !found) {
		log_err("%s: no such user '%s'", r->path, name);
		return EX_NOUSER;
	}
	return 0;
}

/* Opens the current database; a missing file is an empty database. */
static int userdb_open_old(struct userdb_rebuild *r, struct stat *st)
{
	r->old_fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->old_fd < 0) {
		return errno == ENOENT ? 0 : -1;
	}
	if (fstat(r->old_fd, st) < 0 || cdb_init(&r->old, r->old_fd) < 0) {
		close(r->old_fd);
		r->old_fd = -1;
		return -1;
	}
	return 0;
}

static int userdb_create_tmp(struct userdb_rebuild *r, const struct stat *old_st)
{
	int n = snprintf(r->tmp, sizeof(r->tmp), "%s.tmpXXXXXX", r->path);

	if (n < 0 || (size_t)n >= sizeof(r->tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	r->tmp_fd = mkstemp(r->tmp);
	if (r->tmp_fd < 0) {
		return -1;
	}
	if (r->old_fd >= 0) {
		if (fchown(r->tmp_fd, old_st->st_uid, old_st->st_gid) < 0 && errno != EPERM) {
			return -1;
		}
		return fchmod(r->tmp_fd, old_st->st_mode & 07777);
	}
	if (r->group != (gid_t)-1 && fchown(r->tmp_fd, (uid_t)-1, r->group) < 0 && errno != EPERM) {
		return -1;
	}
	return fchmod(r->tmp_fd, 0640);
}

/* Adds the fake-salt record: the old secret (a new one for a database without), the most common parameters. */
static int userdb_add_fake(struct userdb_rebuild *r)
{
	char rec[USERDB_FAKE_RECORD_MAX];
	long len;
	int rc = 0;

	if (!r->have_fake && secret_random(r->fake.secret, sizeof(r->fake.secret)) < 0) {
		log_err("%s: no random bytes: %s", r->path, strerror(errno));
		return EX_OSERR;
	}
	userdb_fake_tally_pick(&r->tally, &r->fake);
	len = userdb_fake_encode(&r->fake, rec, sizeof(rec));
	if (len < 0) {
		rc = EX_SOFTWARE;
	} else if (cdb_make_add(&r->out, USERDB_FAKE_KEY, USERDB_FAKE_KEY_LEN, rec, (unsigned)len) < 0) {
		rc = EX_IOERR;
	}
	secret_wipe(rec, sizeof(rec));
	return rc;
}

/* Writes the new database into r->tmp. Returns 0, or a sysexits code. */
static int userdb_write_new(struct userdb_rebuild *r, enum userdb_edit_op op, const char *name,
			    const struct userdb_entry *e)
{
	char rec[USERDB_RECORD_MAX];
	long len = 0;
	int rc = 0;

	if (op != USERDB_EDIT_DELETE && (len = userdb_record_encode(e, rec, sizeof(rec))) < 0) {
		return EX_SOFTWARE;
	}
	if (cdb_make_start(&r->out, r->tmp_fd) < 0) {
		return EX_IOERR;
	}
	if (r->old_fd >= 0 && userdb_copy_others(r, name) < 0) {
		log_err("%s: corrupt or unreadable user database", r->path);
		rc = EX_DATAERR;
	} else if (op != USERDB_EDIT_DELETE &&
		   cdb_make_add(&r->out, name, (unsigned)strlen(name), rec, (unsigned)len) < 0) {
		rc = EX_IOERR;
	} else {
		if (op != USERDB_EDIT_DELETE) {
			userdb_fake_tally_add(&r->tally, &e->cred);
		}
		rc = userdb_add_fake(r);
	}
	/* finish also frees TinyCDB's tables, so it runs on the error path too */
	if (cdb_make_finish(&r->out) < 0 || fsync(r->tmp_fd) < 0) {
		rc = rc ? rc : EX_IOERR;
	}
	if (rc == EX_IOERR) {
		log_err("%s: cannot write %s: %s", r->path, r->tmp, strerror(errno));
	}
	return rc;
}

static int userdb_lock_dir(const char *path)
{
	char dir[4096];
	int fd;

	if (fs_dirname(path, dir, sizeof(dir)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int userdb_commit(struct userdb_rebuild *r)
{
	if (rename(r->tmp, r->path) < 0 || fs_sync_parent_dir(r->path) < 0) {
		log_err("%s: cannot replace: %s", r->path, strerror(errno));
		return EX_IOERR;
	}
	r->tmp[0] = '\0';
	return 0;
}

int userdb_edit(const char *path, gid_t group, enum userdb_edit_op op, const char *name, const struct userdb_entry *e)
{
	struct userdb_rebuild r = { .path = path, .group = group, .tmp_fd = -1, .old_fd = -1 };
	struct stat st = { 0 };
	int rc, lock_fd = userdb_lock_dir(path);

	if (lock_fd < 0) {
		log_err("%s: cannot lock directory: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	if (userdb_open_old(&r, &st) < 0) {
		log_err("%s: cannot read: %s", path, userdb_strerror(errno));
		rc = errno == EACCES ? EX_NOPERM : EX_DATAERR;
	} else if ((rc = userdb_check_presence(&r, op, name)) != 0) {
		/* reason logged */
	} else if (userdb_create_tmp(&r, &st) < 0) {
		log_err("%s: cannot create temporary file: %s", path, strerror(errno));
		rc = EX_CANTCREAT;
	} else {
		rc = userdb_write_new(&r, op, name, e);
		rc = rc == 0 ? userdb_commit(&r) : rc;
	}
	if (r.tmp_fd >= 0) {
		close(r.tmp_fd);
		if (r.tmp[0] != '\0') {
			unlink(r.tmp);
		}
	}
	if (r.old_fd >= 0) {
		cdb_free(&r.old);
		close(r.old_fd);
	}
	secret_wipe(&r.fake, sizeof(r.fake));
	close(lock_fd);
	return rc;
}
