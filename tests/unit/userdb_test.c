/*
 * userdb_test.c - user records (encode/decode, sender rules) and the
 * database round trip through the atomic editor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "harness.h"
#include "userdb.h"
#include "userdb_edit.h"

static void sample_entry(struct userdb_entry *e, const char *password)
{
	memset(e, 0, sizeof(*e));
	scram_derive(password, strlen(password), "0123456789abcdef", 16, 4096, &e->cred);
	CHECK(userdb_entry_add_sender(e, "alice@Example.COM") == 0);
	CHECK(userdb_entry_add_sender(e, "@example.org") == 0);
}

TEST(userdb_usernames)
{
	CHECK(userdb_valid_username("alice"));
	CHECK(userdb_valid_username("scanner-3.lan"));
	CHECK(userdb_valid_username("bob@example.com"));
	CHECK(!userdb_valid_username(""));
	CHECK(!userdb_valid_username("a:b"));
	CHECK(!userdb_valid_username("a\nb"));
	CHECK(!userdb_valid_username("a b"));
	CHECK(!userdb_valid_username("-alice"));
	CHECK(!userdb_valid_username("al/ice"));
	char longname[CONFIG_USERNAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!userdb_valid_username(longname));
	longname[CONFIG_USERNAME_MAX] = '\0';
	CHECK(userdb_valid_username(longname));
}

TEST(userdb_record_round_trip)
{
	struct userdb_entry e, back;
	char rec[USERDB_RECORD_MAX];
	long n;

	sample_entry(&e, "secret");
	n = userdb_record_encode(&e, rec, sizeof(rec));
	CHECK(n > 0);
	CHECK(strncmp(rec, "scram-sha-256 4096 MDEyMzQ1Njc4OWFiY2RlZg== ", 44) == 0);
	CHECK(userdb_record_decode(rec, (size_t)n, &back) == 0);
	CHECK(back.cred.iterations == 4096 && back.cred.salt_len == 16);
	CHECK_BYTES(back.cred.stored_key, e.cred.stored_key, SCRAM_KEY_LEN);
	CHECK_BYTES(back.cred.server_key, e.cred.server_key, SCRAM_KEY_LEN);
	CHECK(back.nsenders == 2);
	CHECK_STR(back.senders[0], "alice@example.com");
	CHECK(scram_check_password(&back.cred, "secret", 6));
}

TEST(userdb_record_rejects_corruption)
{
	static const char *const bad[] = {
		"",
		"scram-sha-1 4096 MDEy AAAA AAAA",
		"scram-sha-256 0 MDEyMzQ1Njc4OWFiY2RlZg== " /* zero iterations */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"scram-sha-256 4096 MDEyMzQ1Njc4OWFiY2RlZg== AAAA AAAA",
		"scram-sha-256 4096 MDEyMzQ1Njc4OWFiY2RlZg== "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
		"not-an-address",
	};
	struct userdb_entry e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(userdb_record_decode(bad[i], strlen(bad[i]), &e) < 0);
	}
}

TEST(userdb_sender_rules)
{
	struct userdb_entry e;

	sample_entry(&e, "x");
	CHECK(userdb_sender_allowed(&e, "alice@example.com"));
	CHECK(userdb_sender_allowed(&e, "anyone@EXAMPLE.org"));
	CHECK(!userdb_sender_allowed(&e, "bob@example.com"));
	CHECK(!userdb_sender_allowed(&e, ""));
	CHECK(userdb_entry_add_sender(&e, "bad sender") < 0);
	CHECK(userdb_entry_add_sender(&e, "@example.org") == 0 && e.nsenders == 2); /* no duplicate */
}

static char userdb_dir[64];

static const char *temp_db(void)
{
	static char path[128];

	snprintf(userdb_dir, sizeof(userdb_dir), "/tmp/subgate-unit-XXXXXX");
	CHECK(mkdtemp(userdb_dir) != NULL);
	snprintf(path, sizeof(path), "%s/users.cdb", userdb_dir);
	return path;
}

static void remove_temp_db(const char *path)
{
	unlink(path);
	rmdir(userdb_dir);
}

static int count_user(const char *name, const struct userdb_entry *e, void *ctx)
{
	(void)name;
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

TEST(userdb_edit_round_trip)
{
	const char *path = temp_db();
	struct userdb_entry e, got;
	struct userdb db;
	int n = 0;

	sample_entry(&e, "first");
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_DELETE, "alice", NULL) == EX_NOUSER);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "alice", &e) == 0);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "bob", &e) == 0);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "alice", &e) == EX_DATAERR);
	sample_entry(&e, "second");
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_REPLACE, "alice", &e) == 0);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_REPLACE, "carol", &e) == EX_NOUSER);
	CHECK(userdb_open(&db, path) == 0);
	CHECK(userdb_lookup(&db, "alice", &got) == 1);
	CHECK(scram_check_password(&got.cred, "second", 6));
	CHECK(userdb_lookup(&db, "bob", &got) == 1);
	CHECK(scram_check_password(&got.cred, "first", 5));
	CHECK(userdb_lookup(&db, "carol", &got) == 0);
	CHECK(userdb_foreach(&db, count_user, &n) == 0 && n == 2);
	userdb_close(&db);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_DELETE, "bob", NULL) == 0);
	CHECK(userdb_open(&db, path) == 0);
	CHECK(userdb_lookup(&db, "bob", &got) == 0);
	userdb_close(&db);
	remove_temp_db(path);
}

TEST(userdb_edit_keeps_mode_and_leaves_no_temp)
{
	const char *path = temp_db();
	struct userdb_entry e;
	struct stat st;
	char cmd[256];

	sample_entry(&e, "pw");
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "alice", &e) == 0);
	CHECK(chmod(path, 0600) == 0);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "bob", &e) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", userdb_dir);
	CHECK(system(cmd) == 0);
	remove_temp_db(path);
}

/* A new database is readable by the daemon's group (auth runs unprivileged); edits keep the group. */
TEST(userdb_edit_new_database_gets_the_daemon_group)
{
	const char *path = temp_db();
	struct userdb_entry e;
	struct stat st;
	gid_t group = getuid() == 0 ? 65534 : getgid(); /* as root: nogroup; else a group we are in */

	sample_entry(&e, "pw");
	CHECK(userdb_edit(path, group, USERDB_EDIT_ADD, "alice", &e) == 0);
	CHECK(stat(path, &st) == 0 && st.st_gid == group && (st.st_mode & 07777) == 0640);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "bob", &e) == 0);
	CHECK(stat(path, &st) == 0 && st.st_gid == group);
	remove_temp_db(path);
}

TEST(userdb_corrupt_file_is_an_error)
{
	const char *path = temp_db();
	struct userdb db;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, "garbage", 7) == 7);
	close(fd);
	CHECK(userdb_open(&db, path) < 0);
	CHECK(strstr(userdb_strerror(errno), "not a valid") != NULL);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "alice", NULL) != 0);
	remove_temp_db(path);
}

static void fake_params(const char *path, struct userdb_fake *f)
{
	struct userdb db;

	memset(f, 0, sizeof(*f));
	CHECK(userdb_open(&db, path) == 0);
	CHECK(userdb_fake_lookup(&db, f) == 1);
	userdb_close(&db);
}

TEST(userdb_fake_salt_record_is_kept_and_follows_real_records)
{
	const char *path = temp_db();
	struct userdb_entry slow, usual;
	struct userdb_fake first, f;
	struct scram_credential a, b;

	memset(&slow, 0, sizeof(slow));
	scram_derive("pw", 2, "0123456789abcdefghij", 20, 4100, &slow.cred);
	sample_entry(&usual, "pw");
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "alice", &slow) == 0);
	fake_params(path, &first);
	CHECK(first.iterations == 4100 && first.salt_len == 20);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "bob", &slow) == 0);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_ADD, "carol", &usual) == 0);
	fake_params(path, &f);
	CHECK(f.iterations == 4100 && f.salt_len == 20); /* what most records have */
	CHECK_BYTES(f.secret, first.secret, sizeof(f.secret));
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_DELETE, "alice", NULL) == 0);
	CHECK(userdb_edit(path, (gid_t)-1, USERDB_EDIT_DELETE, "bob", NULL) == 0);
	fake_params(path, &f);
	CHECK(f.iterations == 4096 && f.salt_len == 16);
	CHECK_BYTES(f.secret, first.secret, sizeof(f.secret)); /* kept across every edit */
	/* the salt depends on the name and the secret only */
	userdb_fake_credential(&f, "ghost", &a);
	userdb_fake_credential(&f, "ghost", &b);
	CHECK(a.iterations == 4096 && a.salt_len == 16);
	CHECK_BYTES(a.salt, b.salt, a.salt_len);
	userdb_fake_credential(&f, "ghost2", &b);
	CHECK(memcmp(a.salt, b.salt, a.salt_len) != 0);
	remove_temp_db(path);
}

TEST(userdb_fake_salt_record_decoding)
{
	struct userdb_fake f, back;
	char rec[USERDB_FAKE_RECORD_MAX];
	long n;

	memset(&f, 7, sizeof(f));
	f.iterations = 10000;
	f.salt_len = 32;
	n = userdb_fake_encode(&f, rec, sizeof(rec));
	CHECK(n > 0);
	CHECK(userdb_fake_decode(rec, (size_t)n, &back) == 0);
	CHECK(back.iterations == 10000 && back.salt_len == 32);
	CHECK_BYTES(back.secret, f.secret, sizeof(f.secret));
	CHECK(userdb_fake_decode(rec, (size_t)n - 1, &back) < 0); /* short secret */
	CHECK(userdb_fake_decode("fake-salt-v1 0 16 AAAA", 22, &back) < 0);
	CHECK(userdb_fake_decode("fake-salt-v1 4096 65 AAAA", 25, &back) < 0);
	CHECK(userdb_fake_decode("scram-sha-256 4096 16", 21, &back) < 0);
	CHECK(userdb_fake_is_key(USERDB_FAKE_KEY, USERDB_FAKE_KEY_LEN));
	CHECK(!userdb_fake_is_key("fake-salt", 9));
}
