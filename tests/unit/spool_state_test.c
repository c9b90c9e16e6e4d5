/*
 * spool_state_test.c - envelope parsing (spool_env.c) and what happens to a
 * committed message afterwards (spool_state.c): marks in place, deferral
 * with the next attempt as mtime, due-message selection, flush, removal.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dirscan.h"
#include "harness.h"
#include "spool_state.h"

static struct spool_env env_under_test;

TEST(spool_env_parses_and_locates_state_bytes)
{
	static const char file[] = "subgate-spool 1\narrival 1700000000\nsender a@example.com\nuser alice\n"
				   "client 127.0.0.1\nrcpt P b@example.org\nrcpt D c@example.org\n\nSubject: x\r\n";
	struct spool_env *e = &env_under_test;

	CHECK(spool_env_parse(e, file, sizeof(file) - 1) == 0);
	CHECK(e->arrival == 1700000000 && e->nrcpt == 2);
	CHECK_STR(e->sender, "a@example.com");
	CHECK_STR(e->rcpt[1].addr, "c@example.org");
	CHECK(e->rcpt[0].state == 'P' && e->rcpt[1].state == 'D');
	CHECK(file[e->rcpt[0].state_offset] == 'P' && file[e->rcpt[1].state_offset] == 'D');
	CHECK(memcmp(file + e->body_offset, "Subject: x", 10) == 0);
	CHECK(spool_env_pending(e) == 1);
}

TEST(spool_env_rejects_damage)
{
	static const char *const bad[] = {
		"subgate-spool 2\narrival 1\nsender \nuser u\nclient c\nrcpt P a@b\n\n",
		"subgate-spool 1\narrival x\nsender \nuser u\nclient c\nrcpt P a@b\n\n",
		"subgate-spool 1\narrival 1\nsender \nuser u\nclient c\n\n",             /* no recipient */
		"subgate-spool 1\narrival 1\nsender \nuser u\nclient c\nrcpt X a@b\n\n", /* unknown state */
		"subgate-spool 1\narrival 1\nsender \nuser u\nclient c\nrcpt P a@b\n",   /* no blank line */
		"subgate-spool 1\narrival 1\nuser u\nsender \nclient c\nrcpt P a@b\n\n", /* order */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(spool_env_parse(&env_under_test, bad[i], strlen(bad[i])) < 0);
	}
}

/* Fuzzing found it: a line starting with a NUL (a zeroed block on flash) read as the blank line. */
TEST(spool_env_rejects_nul_bytes_in_the_envelope)
{
	static const char lost_rcpt[] = "subgate-spool 1\narrival 1\nsender \nuser u\nclient c\nrcpt P a@b\n"
					"\0rcpt P c@d\n\nbody";
	static const char in_rcpt[] = "subgate-spool 1\narrival 1\nsender \nuser u\nclient c\nrcpt P a@b\0x\n\nbody";

	CHECK(spool_env_parse(&env_under_test, lost_rcpt, sizeof(lost_rcpt) - 1) < 0);
	CHECK(spool_env_parse(&env_under_test, in_rcpt, sizeof(in_rcpt) - 1) < 0);
}

static char state_dir[64];
static struct spool state_spool;

static void state_setup(void)
{
	struct spool_limits limits = { 100, 1 << 20, 0 };

	snprintf(state_dir, sizeof(state_dir), "/tmp/subgate-state-XXXXXX");
	CHECK(mkdtemp(state_dir) != NULL);
	CHECK(spool_open(&state_spool, state_dir, &limits) == 0);
}

static void state_teardown(void)
{
	char cmd[128];

	spool_close(&state_spool);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", state_dir);
	CHECK(system(cmd) == 0);
}

static void state_commit(char id[SPOOL_ID_LEN + 1])
{
	const char *rcpts[2] = { "b@example.org", "c@example.org" };
	struct spool_envelope env = { "a@example.com", "alice", "127.0.0.1", 2, rcpts, 1700000000 };
	struct spool_msg m;

	CHECK(spool_msg_create(&state_spool, &m, &env) == 0);
	CHECK(spool_msg_write(&state_spool, &m, "Subject: x\r\n\r\nbody\r\n", 20) == 0);
	CHECK(spool_msg_commit(&state_spool, &m) == 0);
	memcpy(id, m.id, SPOOL_ID_LEN + 1);
}

TEST(spool_state_mark_defer_due_flush_remove)
{
	char id[SPOOL_ID_LEN + 1], got[SPOOL_ID_LEN + 1];
	enum spool_where where;
	time_t next;
	struct stat st;
	int fd;

	state_setup();
	state_commit(id);
	CHECK(spool_next_due(&state_spool, 1000, "", got, &where, &next) == 1 && where == SPOOL_IN_QUEUE);
	CHECK_STR(got, id);
	CHECK(spool_next_due(&state_spool, 1000, id, got, &where, &next) == 0); /* in flight: skipped */
	fd = spool_open_msg(&state_spool, id, SPOOL_IN_QUEUE);
	CHECK(fd >= 0 && spool_read_env(fd, &env_under_test) == 0);
	CHECK(spool_mark_rcpt(fd, &env_under_test.rcpt[0], SPOOL_RCPT_DONE) == 0);
	CHECK(spool_read_env(fd, &env_under_test) == 0 && env_under_test.rcpt[0].state == 'D');
	CHECK(spool_defer(&state_spool, fd, id, SPOOL_IN_QUEUE, 5000) == 0);
	CHECK(fstatat(state_spool.defer_fd, id, &st, 0) == 0 && st.st_mtime == 5000);
	CHECK(spool_next_due(&state_spool, 4999, "", got, &where, &next) == 0 && next == 5000);
	CHECK(spool_next_due(&state_spool, 5000, "", got, &where, &next) == 1 && where == SPOOL_IN_DEFER);
	CHECK(spool_flush_deferred(&state_spool, id) == 0); /* in flight: stays in defer/ */
	CHECK(spool_flush_deferred(&state_spool, "") == 1);
	CHECK(spool_next_due(&state_spool, 0, "", got, &where, &next) == 1 && where == SPOOL_IN_QUEUE);
	CHECK(state_spool.nmessages == 1);
	CHECK(spool_remove(&state_spool, fd, id, SPOOL_IN_QUEUE) == 0);
	CHECK(state_spool.nmessages == 0 && state_spool.nbytes == 0);
	CHECK(spool_next_due(&state_spool, 0, "", got, &where, &next) == 0 && next == 0);
	close(fd);
	state_teardown();
}

TEST(spool_state_picks_oldest_queued_first)
{
	char first[SPOOL_ID_LEN + 1], second[SPOOL_ID_LEN + 1], got[SPOOL_ID_LEN + 1];
	enum spool_where where;
	time_t next;

	state_setup();
	state_commit(first);
	state_commit(second);
	CHECK(strcmp(first, second) < 0);
	CHECK(spool_next_due(&state_spool, 0, "", got, &where, &next) == 1);
	CHECK_STR(got, first);
	CHECK(spool_next_due(&state_spool, 0, first, got, &where, &next) == 1);
	CHECK_STR(got, second);
	state_teardown();
}

TEST(spool_state_hold_is_never_due_and_release_makes_it_due)
{
	char id[SPOOL_ID_LEN + 1], got[SPOOL_ID_LEN + 1];
	enum spool_where where;
	time_t next;
	struct stat st;
	uint64_t bytes;

	state_setup();
	state_commit(id);
	bytes = state_spool.nbytes;
	CHECK(spool_locate(&state_spool, id, &where) == 1 && where == SPOOL_IN_QUEUE);
	CHECK(spool_hold(&state_spool, id, SPOOL_IN_QUEUE) == 0);
	CHECK(spool_locate(&state_spool, id, &where) == 1 && where == SPOOL_IN_HOLD);
	CHECK(fstatat(state_spool.hold_fd, id, &st, 0) == 0);
	CHECK(spool_next_due(&state_spool, (time_t)1 << 40, "", got, &where, &next) == 0 && next == 0);
	CHECK(spool_hold(&state_spool, id, SPOOL_IN_HOLD) < 0);
	CHECK(state_spool.nmessages == 1 && state_spool.nbytes == bytes); /* still counted */

	/* held mail counts against the quota after a restart too */
	spool_close(&state_spool);
	{
		struct spool_limits limits = { 100, 1 << 20, 0 };

		CHECK(spool_open(&state_spool, state_dir, &limits) == 0);
	}
	CHECK(state_spool.nmessages == 1 && state_spool.nbytes == bytes);

	CHECK(spool_release(&state_spool, id) == 0);
	CHECK(spool_next_due(&state_spool, 0, "", got, &where, &next) == 1 && where == SPOOL_IN_QUEUE);
	CHECK_STR(got, id);
	CHECK(spool_release(&state_spool, id) < 0); /* not held any more */
	state_teardown();
}

TEST(spool_state_hold_from_defer_and_delete_everywhere)
{
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1];
	enum spool_where where;
	int fd;

	state_setup();
	state_commit(a);
	state_commit(b);
	fd = spool_open_msg(&state_spool, a, SPOOL_IN_QUEUE);
	CHECK(fd >= 0 && spool_defer(&state_spool, fd, a, SPOOL_IN_QUEUE, 5000) == 0);
	close(fd);
	CHECK(spool_locate(&state_spool, a, &where) == 1 && where == SPOOL_IN_DEFER);
	CHECK(spool_hold(&state_spool, a, SPOOL_IN_DEFER) == 0);
	CHECK(spool_delete(&state_spool, a, SPOOL_IN_HOLD) == 0);
	CHECK(spool_locate(&state_spool, a, &where) == 0);
	CHECK(spool_delete(&state_spool, b, SPOOL_IN_QUEUE) == 0);
	CHECK(state_spool.nmessages == 0 && state_spool.nbytes == 0);
	CHECK(spool_locate(&state_spool, "0123456789abcdef", &where) == 0);
	state_teardown();
}

TEST(spool_state_reason_lives_and_dies_with_the_message)
{
	char id[SPOOL_ID_LEN + 1], buf[SPOOL_REASON_MAX + 1], big[SPOOL_REASON_MAX + 100];
	struct stat st;
	int fd;

	state_setup();
	state_commit(id);
	CHECK(spool_reason_get(&state_spool, id, buf, sizeof(buf)) == 0 && buf[0] == '\0');
	CHECK(spool_reason_set(&state_spool, id, "451 4.3.0 try again later") == 0);
	CHECK(spool_reason_get(&state_spool, id, buf, sizeof(buf)) == 25);
	CHECK_STR(buf, "451 4.3.0 try again later");
	CHECK(spool_reason_set(&state_spool, id, "short") == 0); /* replaced, not appended */
	CHECK(spool_reason_get(&state_spool, id, buf, sizeof(buf)) == 5);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(spool_reason_set(&state_spool, id, big) == 0);
	CHECK(spool_reason_get(&state_spool, id, buf, sizeof(buf)) == SPOOL_REASON_MAX);
	CHECK(fstatat(state_spool.reason_fd, id, &st, 0) == 0 && st.st_size == SPOOL_REASON_MAX);

	fd = spool_open_msg(&state_spool, id, SPOOL_IN_QUEUE);
	CHECK(fd >= 0 && spool_remove(&state_spool, fd, id, SPOOL_IN_QUEUE) == 0);
	close(fd);
	CHECK(fstatat(state_spool.reason_fd, id, &st, 0) < 0);

	state_commit(id);
	CHECK(spool_reason_set(&state_spool, id, "x") == 0);
	CHECK(spool_delete(&state_spool, id, SPOOL_IN_QUEUE) == 0);
	CHECK(fstatat(state_spool.reason_fd, id, &st, 0) < 0);

	state_commit(id);
	CHECK(spool_reason_set(&state_spool, id, "x") == 0);
	CHECK(spool_quarantine(&state_spool, id, SPOOL_IN_QUEUE) == 0);
	CHECK(fstatat(state_spool.reason_fd, id, &st, 0) < 0);

	/* a crash between the two unlinks: the orphan goes at the next start, a live reason stays */
	state_commit(id);
	CHECK(spool_reason_set(&state_spool, id, "kept") == 0);
	CHECK(spool_reason_set(&state_spool, "00000000000000ff", "orphan") == 0);
	spool_close(&state_spool);
	{
		struct spool_limits limits = { 100, 1 << 20, 0 };

		CHECK(spool_open(&state_spool, state_dir, &limits) == 0);
	}
	CHECK(fstatat(state_spool.reason_fd, "00000000000000ff", &st, 0) < 0);
	CHECK(spool_reason_get(&state_spool, id, buf, sizeof(buf)) == 4);
	state_teardown();
}

/*
 * Draining a backlog reads the directory once per batch, not once per message
 * (it read all of queue/ for every message before: 150 messages, ~800 reads).
 */
TEST(spool_state_drain_reads_the_directory_once_per_batch)
{
	char id[SPOOL_ID_LEN + 1], got[SPOOL_ID_LEN + 1], last[SPOOL_ID_LEN + 1] = "";
	enum spool_where where;
	time_t next;
	unsigned long reads;
	unsigned drained = 0;
	const unsigned n = 150;

	state_setup();
	state_spool.limits.max_messages = n;
	for (unsigned i = 0; i < n; i++) {
		state_commit(id);
	}
	reads = dirscan_reads;
	while (spool_next_due(&state_spool, 0, "", got, &where, &next) == 1) {
		CHECK(where == SPOOL_IN_QUEUE && strcmp(got, last) > 0); /* oldest first */
		memcpy(last, got, sizeof(last));
		CHECK(spool_delete(&state_spool, got, where) == 0);
		drained++;
	}
	reads = dirscan_reads - reads;
	CHECK(drained == n);
	CHECK(reads > 0); /* the scans go through dirscan: no DIR, no calloc */
	/* one scan per batch of CONFIG_SPOOL_DUE_BATCH, plus the scans that find queue/ and defer/ empty */
	CHECK(reads <= 8UL * ((n + CONFIG_SPOOL_DUE_BATCH - 1) / CONFIG_SPOOL_DUE_BATCH + 2));
	CHECK(reads < n / 4);
	state_teardown();
}

/* A message deleted or held after the scan is not handed out; new mail goes before deferred mail. */
TEST(spool_state_batch_skips_what_moved_and_yields_to_new_mail)
{
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], c[SPOOL_ID_LEN + 1], got[SPOOL_ID_LEN + 1];
	enum spool_where where;
	time_t next;
	int fd;

	state_setup();
	state_commit(a);
	state_commit(b);
	CHECK(spool_next_due(&state_spool, 0, "", got, &where, &next) == 1);
	CHECK_STR(got, a);
	CHECK(spool_hold(&state_spool, b, SPOOL_IN_QUEUE) == 0); /* b is in the batch, but held now */
	CHECK(spool_next_due(&state_spool, 0, a, got, &where, &next) == 0);
	/* a is deferred and due: a batch from defer/ */
	fd = spool_open_msg(&state_spool, a, SPOOL_IN_QUEUE);
	CHECK(fd >= 0 && spool_defer(&state_spool, fd, a, SPOOL_IN_QUEUE, 100) == 0);
	close(fd);
	CHECK(spool_release(&state_spool, b) == 0);
	CHECK(spool_next_due(&state_spool, 200, "", got, &where, &next) == 1 && where == SPOOL_IN_QUEUE);
	CHECK_STR(got, b);
	CHECK(spool_delete(&state_spool, b, SPOOL_IN_QUEUE) == 0);
	CHECK(spool_next_due(&state_spool, 200, "", got, &where, &next) == 1 && where == SPOOL_IN_DEFER);
	CHECK_STR(got, a);
	CHECK(spool_next_due(&state_spool, 200, a, got, &where, &next) == 0);
	/* a batch of deferred messages (a, deferred again but due) yields to new mail */
	fd = spool_open_msg(&state_spool, a, SPOOL_IN_DEFER);
	CHECK(fd >= 0 && spool_defer(&state_spool, fd, a, SPOOL_IN_DEFER, 150) == 0);
	close(fd);
	state_commit(c);
	spool_due_forget(&state_spool, 1);
	CHECK(spool_next_due(&state_spool, 200, "", got, &where, &next) == 1 && where == SPOOL_IN_QUEUE);
	CHECK_STR(got, c);
	state_teardown();
}
