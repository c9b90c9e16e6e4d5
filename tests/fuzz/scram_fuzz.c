/*
 * scram_fuzz.c - libFuzzer target for the server side of SCRAM-SHA-256: the
 * client-first-message and client-final-message parsers, which read what an
 * unauthenticated client sends after AUTH. The input is split at its first
 * '\n': the part before is client-first, the part after client-final (the
 * server's own part uses a fixed credential and nonce). Besides the
 * sanitizers it checks: a parsed user name is non-empty, NUL-terminated and
 * bounded; server-first carries the whole nonce; client-final returns -1, 0
 * (wrong proof) or the length of "v=" + 44 base64 characters; and a wrong
 * proof never passes: the input is only accepted when its proof is the one
 * the password gives (computed here with scram_client_proof).
 * Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "scram.h"

#define SCF_PASSWORD "pencil"
#define SCF_NONCE    "3rfcNHYJY1ZVvWVs7j"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void scf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static const struct scram_credential *scf_credential(void)
{
	static struct scram_credential cred;
	static int made;

	if (!made) {
		scram_derive(SCF_PASSWORD, strlen(SCF_PASSWORD), "saltsalt", 8, 2, &cred);
		made = 1;
	}
	return &cred;
}

/* 1 if the final message's proof is the right one for SCF_PASSWORD. */
static int scf_proof_is_right(const struct scram_server *s, const char *fin, size_t len)
{
	static char auth[3 * SCRAM_MSG_MAX];
	unsigned char want[SCRAM_KEY_LEN], got[SCRAM_KEY_LEN];
	const struct scram_credential *cred = scf_credential();

	if (len < 48 || base64_decode(fin + len - 44, 44, got, sizeof(got)) != SCRAM_KEY_LEN) {
		return 0;
	}
	int n = snprintf(auth, sizeof(auth), "%s,%s,%.*s", s->client_first_bare, s->server_first, (int)(len - 47), fin);
	if (n < 0 || (size_t)n >= sizeof(auth)) {
		return 0;
	}
	scram_client_proof(SCF_PASSWORD, strlen(SCF_PASSWORD), cred->salt, cred->salt_len, cred->iterations, auth,
			   (size_t)n, want);
	return memcmp(want, got, sizeof(want)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scram_server s;
	static char server_first[SCRAM_MSG_MAX], server_final[SCRAM_MSG_MAX];
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t first_len = nl != NULL ? (size_t)(nl - in) : size;

	if (scram_server_client_first(&s, in, first_len) < 0) {
		return 0;
	}
	size_t ulen = strnlen(s.username, sizeof(s.username));
	scf_assert(ulen > 0 && ulen < sizeof(s.username));
	long n = scram_server_first(&s, scf_credential(), SCF_NONCE, server_first, sizeof(server_first));
	if (n < 0 || nl == NULL) {
		scram_server_reset(&s);
		return 0;
	}
	scf_assert(strncmp(server_first, "r=", 2) == 0 && strstr(server_first, SCF_NONCE ",s=") != NULL);
	const char *fin = nl + 1;
	size_t fin_len = size - first_len - 1;
	int right = scf_proof_is_right(&s, fin, fin_len);
	long rc = scram_server_client_final(&s, fin, fin_len, server_final, sizeof(server_final));
	scf_assert(rc == -1 || rc == 0 || rc == 46);
	scf_assert(rc != 46 || (right && strncmp(server_final, "v=", 2) == 0));
	scram_server_reset(&s);
	return 0;
}
