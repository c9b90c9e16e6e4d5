/*
 * userdb_fake.c - the fake-salt record of users.cdb (format in the header)
 * and the credential it gives an unknown user.
 */
#include "userdb_fake.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "config.h"
#include "secret.h"

#define USERDB_FAKE_SCHEME "fake-salt-v1"

int userdb_fake_is_key(const void *key, size_t klen)
{
	return klen == USERDB_FAKE_KEY_LEN && memcmp(key, USERDB_FAKE_KEY, USERDB_FAKE_KEY_LEN) == 0;
}

long userdb_fake_encode(const struct userdb_fake *f, char *out, size_t cap)
{
	char secret[BASE64_ENCODED_SIZE(USERDB_FAKE_SECRET_LEN)];
	int n;

	base64_encode(f->secret, sizeof(f->secret), secret, sizeof(secret));
	n = snprintf(out, cap, "%s %u %u %s", USERDB_FAKE_SCHEME, (unsigned)f->iterations, (unsigned)f->salt_len,
		     secret);
	secret_wipe(secret, sizeof(secret));
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int userdb_fake_decode(const char *rec, size_t len, struct userdb_fake *f)
{
	char text[USERDB_FAKE_RECORD_MAX], secret[BASE64_ENCODED_SIZE(USERDB_FAKE_SECRET_LEN) + 1];
	unsigned iterations, salt_len;
	int used = 0;

	memset(f, 0, sizeof(*f));
	if (len >= sizeof(text) || memchr(rec, '\0', len) != NULL) {
		return -1;
	}
	memcpy(text, rec, len);
	text[len] = '\0';
	if (sscanf(text, USERDB_FAKE_SCHEME " %10u %3u %45s%n", &iterations, &salt_len, secret, &used) != 3 ||
	    (size_t)used != len || iterations == 0 || iterations > 100000000U || salt_len == 0 ||
	    salt_len > SCRAM_SALT_MAX ||
	    base64_decode(secret, strlen(secret), f->secret, sizeof(f->secret)) != USERDB_FAKE_SECRET_LEN) {
		secret_wipe(text, sizeof(text));
		secret_wipe(secret, sizeof(secret));
		return -1;
	}
	f->iterations = iterations;
	f->salt_len = salt_len;
	secret_wipe(text, sizeof(text));
	secret_wipe(secret, sizeof(secret));
	return 0;
}

void userdb_fake_tally_add(struct userdb_fake_tally *t, const struct scram_credential *c)
{
	for (unsigned i = 0; i < t->kinds; i++) {
		if (t->seen[i].iterations == c->iterations && t->seen[i].salt_len == c->salt_len) {
			t->seen[i].count++;
			return;
		}
	}
	if (t->kinds < USERDB_FAKE_TALLY_KINDS) {
		t->seen[t->kinds].iterations = c->iterations;
		t->seen[t->kinds].salt_len = c->salt_len;
		t->seen[t->kinds++].count = 1;
	}
}

void userdb_fake_tally_pick(const struct userdb_fake_tally *t, struct userdb_fake *f)
{
	unsigned best = 0;

	f->iterations = CONFIG_AUTH_PBKDF2_ITERATIONS;
	f->salt_len = CONFIG_AUTH_SALT_LEN;
	for (unsigned i = 0; i < t->kinds; i++) {
		if (t->seen[i].count > best) {
			best = t->seen[i].count;
			f->iterations = t->seen[i].iterations;
			f->salt_len = t->seen[i].salt_len;
		}
	}
}

/* HMAC-SHA256(secret, counter byte || user): 32 bytes of salt per counter. */
static void userdb_fake_mac(const struct userdb_fake *f, unsigned char counter, const char *user, unsigned char *out)
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, f->secret, sizeof(f->secret));
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, &counter, 1);
	br_hmac_update(&hc, user, strlen(user));
	br_hmac_out(&hc, out);
	secret_wipe(&kc, sizeof(kc));
	secret_wipe(&hc, sizeof(hc));
}

void userdb_fake_credential(const struct userdb_fake *f, const char *user, struct scram_credential *cred)
{
	unsigned char mac[2 * 32];

	_Static_assert(sizeof(mac) >= SCRAM_SALT_MAX, "two MACs fill the longest salt");
	userdb_fake_mac(f, 1, user, mac);
	userdb_fake_mac(f, 2, user, mac + 32);
	memset(cred, 0, sizeof(*cred));
	cred->iterations = f->iterations;
	cred->salt_len = f->salt_len <= SCRAM_SALT_MAX ? f->salt_len : SCRAM_SALT_MAX;
	memcpy(cred->salt, mac, cred->salt_len);
	secret_random(cred->stored_key, sizeof(cred->stored_key));
	secret_random(cred->server_key, sizeof(cred->server_key));
	secret_wipe(mac, sizeof(mac));
}
