/*
 * userdb.c - reads users.cdb. The file is replaced atomically by
 * userdb_edit.c, so an open mapping always sees one complete version.
 */
#include "userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int userdb_open(struct userdb *db, const char *path)
{
	db->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (db->fd < 0) {
		return -1;
	}
	if (cdb_init(&db->cdb, db->fd) < 0) {
		int saved = errno ? errno : EINVAL;

		close(db->fd);
		db->fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

const char *userdb_strerror(int err)
{
	return err == EPROTO ? "not a valid user database (CDB) file" : strerror(err);
}

void userdb_close(struct userdb *db)
{
	if (db->fd >= 0) {
		cdb_free(&db->cdb);
		close(db->fd);
		db->fd = -1;
	}
}

static int userdb_decode_at(struct userdb *db, unsigned pos, unsigned len, struct userdb_entry *e)
{
	const void *rec;

	if (len > USERDB_RECORD_MAX) {
		errno = EINVAL;
		return -1;
	}
	rec = cdb_get(&db->cdb, len, pos);
	if (rec == NULL || userdb_record_decode(rec, len, e) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int userdb_lookup(struct userdb *db, const char *name, struct userdb_entry *e)
{
	int rc = cdb_find(&db->cdb, name, (unsigned)strlen(name));

	if (rc <= 0) {
		return rc;
	}
	if (userdb_decode_at(db, cdb_datapos(&db->cdb), cdb_datalen(&db->cdb), e) < 0) {
		return -1;
	}
	return 1;
}

int userdb_foreach(struct userdb *db, userdb_visit_fn fn, void *ctx)
{
	unsigned cpos;
	char name[CONFIG_USERNAME_MAX + 1];
	struct userdb_entry e;
	int rc;

	cdb_seqinit(&cpos, &db->cdb);
	while ((rc = cdb_seqnext(&cpos, &db->cdb)) > 0) {
		unsigned klen = cdb_keylen(&db->cdb);

		if (klen >= sizeof(name) || cdb_read(&db->cdb, name, klen, cdb_keypos(&db->cdb)) < 0) {
			errno = EINVAL;
			return -1;
		}
		name[klen] = '\0';
		if (userdb_fake_is_key(name, klen)) {
			continue; /* not a user */
		}
		if (userdb_decode_at(db, cdb_datapos(&db->cdb), cdb_datalen(&db->cdb), &e) < 0) {
			return -1;
		}
		if (fn(name, &e, ctx) != 0) {
			break;
		}
	}
	return rc < 0 ? -1 : 0;
}

int userdb_fake_lookup(struct userdb *db, struct userdb_fake *f)
{
	int rc = cdb_find(&db->cdb, USERDB_FAKE_KEY, USERDB_FAKE_KEY_LEN);
	unsigned len;
	const void *rec;

	if (rc <= 0) {
		return rc;
	}
	len = cdb_datalen(&db->cdb);
	rec = len < USERDB_FAKE_RECORD_MAX ? cdb_get(&db->cdb, len, cdb_datapos(&db->cdb)) : NULL;
	if (rec == NULL || userdb_fake_decode(rec, len, f) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 1;
}
