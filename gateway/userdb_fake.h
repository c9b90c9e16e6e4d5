/*
 * userdb_fake.h - the fake-salt record of users.cdb, which makes the SCRAM
 * server-first message for an unknown user look like a real user's, the
 * same at every start: the salt is a keyed hash of the user name under a
 * secret kept in the database, and the iteration count and salt length are
 * those most real records have. `auth` runs chrooted and read-only, so the
 * secret lives where it reads anyway; `subgate user` (userdb_edit.c) creates
 * it once and keeps it across edits.
 *
 * The key starts with a NUL, so no user name (looked up as a C string)
 * reaches it. Record text: "fake-salt-v1 ITERATIONS SALT_LEN SECRET_B64".
 */
#ifndef SUBGATE_USERDB_FAKE_H
#define SUBGATE_USERDB_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "scram.h"

#define USERDB_FAKE_KEY         "\0fake-salt"
#define USERDB_FAKE_KEY_LEN     10
#define USERDB_FAKE_SECRET_LEN  32
#define USERDB_FAKE_RECORD_MAX  96
#define USERDB_FAKE_TALLY_KINDS 8

struct userdb_fake {
	uint32_t iterations;
	size_t salt_len;
	unsigned char secret[USERDB_FAKE_SECRET_LEN];
};

/* The most common (iterations, salt length) among real records. */
struct userdb_fake_tally {
	unsigned kinds;
	struct {
		uint32_t iterations;
		size_t salt_len;
		unsigned count;
	} seen[USERDB_FAKE_TALLY_KINDS];
};

/* 1 if the CDB key (klen bytes) is the fake-salt record's. */
int userdb_fake_is_key(const void *key, size_t klen);

/* Returns the record's length, or -1 if it does not fit. */
long userdb_fake_encode(const struct userdb_fake *f, char *out, size_t cap);

/* Returns 0, or -1 if the record is malformed. */
int userdb_fake_decode(const char *rec, size_t len, struct userdb_fake *f);

void userdb_fake_tally_add(struct userdb_fake_tally *t, const struct scram_credential *c);

/* Sets f's iteration count and salt length from the tally (the build's defaults when it is empty). */
void userdb_fake_tally_pick(const struct userdb_fake_tally *t, struct userdb_fake *f);

/* A credential for an unknown user: salt from the secret and the name, random keys (never matches). */
void userdb_fake_credential(const struct userdb_fake *f, const char *user, struct scram_credential *cred);

#endif
