/*
 * userdb_record_fuzz.c - libFuzzer target for userdb_record_decode(), the
 * parser of one users.cdb record (a corrupt or hostile database must be
 * refused, never overrun). A record that decodes must keep the decoder's
 * promises (salt within its array, senders NUL-terminated and bounded) and
 * survive a round trip: encode, decode again, same entry, same text.
 * Each sender is also checked with userdb_sender_allowed() against itself.
 * The same bytes go to userdb_fake_decode() (the fake-salt record), whose
 * result must round-trip too. Built by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "userdb_fake.h"
#include "userdb_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void urf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static void urf_check_entry(const struct userdb_entry *e)
{
	urf_assert(e->cred.salt_len > 0 && e->cred.salt_len <= sizeof(e->cred.salt));
	urf_assert(e->cred.iterations > 0);
	urf_assert(e->nsenders <= CONFIG_USER_MAX_SENDERS);
	for (unsigned i = 0; i < e->nsenders; i++) {
		urf_assert(memchr(e->senders[i], '\0', sizeof(e->senders[i])) != NULL);
		urf_assert(e->senders[i][0] != '\0');
	}
}

static void urf_fake(const uint8_t *data, size_t size)
{
	static struct userdb_fake f, again;
	static char text[USERDB_FAKE_RECORD_MAX + 1];

	memset(&f, 0, sizeof(f));
	if (userdb_fake_decode((const char *)data, size, &f) < 0) {
		return;
	}
	urf_assert(f.iterations > 0 && f.salt_len > 0 && f.salt_len <= SCRAM_SALT_MAX);
	long n = userdb_fake_encode(&f, text, sizeof(text));
	urf_assert(n > 0 && (size_t)n < sizeof(text));
	memset(&again, 0, sizeof(again));
	urf_assert(userdb_fake_decode(text, (size_t)n, &again) == 0);
	urf_assert(again.iterations == f.iterations && again.salt_len == f.salt_len);
	urf_assert(memcmp(again.secret, f.secret, sizeof(f.secret)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct userdb_entry e, again;

	urf_fake(data, size);
	static char text[USERDB_RECORD_MAX + 1], text2[USERDB_RECORD_MAX + 1];

	memset(&e, 0, sizeof(e));
	if (userdb_record_decode((const char *)data, size, &e) < 0) {
		return 0;
	}
	urf_check_entry(&e);
	long n = userdb_record_encode(&e, text, sizeof(text));
	urf_assert(n > 0 && (size_t)n < sizeof(text));
	memset(&again, 0, sizeof(again));
	urf_assert(userdb_record_decode(text, (size_t)n, &again) == 0);
	urf_assert(again.cred.iterations == e.cred.iterations && again.cred.salt_len == e.cred.salt_len);
	urf_assert(memcmp(again.cred.salt, e.cred.salt, e.cred.salt_len) == 0);
	urf_assert(memcmp(again.cred.stored_key, e.cred.stored_key, SCRAM_KEY_LEN) == 0);
	urf_assert(memcmp(again.cred.server_key, e.cred.server_key, SCRAM_KEY_LEN) == 0);
	urf_assert(again.nsenders == e.nsenders);
	for (unsigned i = 0; i < e.nsenders; i++) {
		urf_assert(strcmp(again.senders[i], e.senders[i]) == 0);
		if (e.senders[i][0] != '@') {
			urf_assert(userdb_sender_allowed(&e, e.senders[i]) == 1);
		}
	}
	urf_assert(userdb_record_encode(&again, text2, sizeof(text2)) == n);
	urf_assert(memcmp(text, text2, (size_t)n) == 0);
	return 0;
}
