/*
 * scram.h - SCRAM-SHA-256 (RFC 5802, RFC 7677): the stored credential form
 * (StoredKey, ServerKey) and the server side of the exchange.
 * Pure: bytes in, bytes out, no I/O. The session feeds it SASL messages; the
 * credential comes from the user database (userdb_record.h).
 */
#ifndef SUBGATE_SCRAM_H
#define SUBGATE_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SCRAM_KEY_LEN   32
#define SCRAM_SALT_MAX  64
#define SCRAM_NONCE_MAX 128
#define SCRAM_MSG_MAX   512

/* What the database keeps for one password (never the password itself). */
struct scram_credential {
	uint32_t iterations;
	size_t salt_len;
	unsigned char salt[SCRAM_SALT_MAX];
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* Derives StoredKey and ServerKey from a password, salt and iteration count. */
void scram_derive(const void *password, size_t password_len, const void *salt, size_t salt_len, uint32_t iterations,
		  struct scram_credential *cred);

/* Checks a plaintext password (AUTH PLAIN/LOGIN) against a credential: 1 match, 0 not. */
int scram_check_password(const struct scram_credential *cred, const void *password, size_t password_len);

enum scram_state {
	SCRAM_WANT_CLIENT_FIRST,
	SCRAM_WANT_CLIENT_FINAL,
	SCRAM_DONE,
};

struct scram_server {
	enum scram_state state;
	char username[CONFIG_USERNAME_MAX + 1];
	char gs2_header[8];
	char client_first_bare[SCRAM_MSG_MAX];
	char server_first[SCRAM_MSG_MAX];
	char nonce[2 * SCRAM_NONCE_MAX + 1];
	struct scram_credential cred;
};

/*
 * Parses client-first-message. On success fills s->username (decoded) and
 * returns 0; the caller then looks the user up. Returns -1 on malformed
 * input or an unsupported feature (channel binding, authzid).
 */
int scram_server_client_first(struct scram_server *s, const char *msg, size_t len);

/*
 * Builds server-first-message from the credential and a printable server
 * nonce. Returns its length, or -1 if it does not fit.
 */
long scram_server_first(struct scram_server *s, const struct scram_credential *cred, const char *server_nonce,
			char *out, size_t cap);

/*
 * Verifies client-final-message. Returns the length of server-final-message
 * written to out when the proof is right, 0 when it is wrong, -1 when the
 * message is malformed.
 */
long scram_server_client_final(struct scram_server *s, const char *msg, size_t len, char *out, size_t cap);

/* Wipes every secret the exchange held. */
void scram_server_reset(struct scram_server *s);

/*
 * Client side, for tests and the load generator: computes the ClientProof
 * for an AuthMessage. proof must hold SCRAM_KEY_LEN bytes.
 */
void scram_client_proof(const void *password, size_t password_len, const void *salt, size_t salt_len,
			uint32_t iterations, const char *auth_message, size_t auth_len, unsigned char *proof);

#endif
