/*
 * userdb_record.h - one user's record in users.cdb: the SCRAM-SHA-256
 * credential and the sender addresses or @domains the user may use.
 * Pure encode/decode; the file itself is userdb.c (read) and userdb_edit.c (write).
 *
 * Record text (one line, single spaces, versioned):
 *   scram-sha-256 ITERATIONS SALT_B64 STOREDKEY_B64 SERVERKEY_B64 [SENDER ...]
 */
#ifndef SUBGATE_USERDB_RECORD_H
#define SUBGATE_USERDB_RECORD_H

#include <stddef.h>

#include "addr.h"
#include "config.h"
#include "scram.h"

#define USERDB_RECORD_MAX (160 + CONFIG_USER_MAX_SENDERS * (ADDR_MAX + 1))

struct userdb_entry {
	struct scram_credential cred;
	unsigned nsenders;
	char senders[CONFIG_USER_MAX_SENDERS][ADDR_MAX + 1];
};

/* 1 if name may be a user name: [A-Za-z0-9._@+-], starting alphanumeric, bounded. */
int userdb_valid_username(const char *name);

/* Writes the record text to out. Returns its length, or -1 if it does not fit. */
long userdb_record_encode(const struct userdb_entry *e, char *out, size_t cap);

/* Parses a record. Returns 0, or -1 if it is malformed (a corrupt database). */
int userdb_record_decode(const char *rec, size_t len, struct userdb_entry *e);

/* Adds an allowed sender (validated, domain lowercased). Returns 0 or -1. */
int userdb_entry_add_sender(struct userdb_entry *e, const char *spec);

/* 1 if the entry may use address as envelope sender. */
int userdb_sender_allowed(const struct userdb_entry *e, const char *address);

#endif
