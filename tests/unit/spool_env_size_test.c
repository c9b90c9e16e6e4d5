/*
 * spool_env_size_test.c - every envelope a PROTO_Q_BEGIN frame can carry is
 * either committed readable (spool_read_env gives back every field) or
 * refused before the commit (EMSGSIZE), never written unreadable: with this
 * build's CONFIG_MAX_RECIPIENTS (scripts/test-configs.sh runs allyesconfig's
 * 1000 too).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "proto.h"
#include "spool_state.h"

#define FRAME_STRINGS sizeof(((struct proto_q_begin *)0)->strings)

static char size_dir[64];
static struct spool size_spool;
static struct spool_env size_env;
static char size_strings[FRAME_STRINGS]; /* the fields, packed as in the frame */
static const char *size_rcpts[CONFIG_MAX_RECIPIENTS];

static int size_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void size_setup(void)
{
	static const struct spool_limits roomy = { 1000, 1 << 30, 0 };

	snprintf(size_dir, sizeof(size_dir), "/tmp/spool_size_test.XXXXXX");
	CHECK(mkdtemp(size_dir) != NULL);
	CHECK(spool_open(&size_spool, size_dir, &roomy) == 0);
}

static void size_teardown(void)
{
	spool_close(&size_spool);
	CHECK(nftw(size_dir, size_remove, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

/* Appends a field of len bytes ('a'..., "@x" at the end) to the packed strings; returns it. */
static const char *size_field(size_t *used, size_t len, char fill)
{
	char *f = size_strings + *used;

	memset(f, fill, len);
	if (len > 3) {
		memcpy(f + len - 2, "@x", 2);
	}
	f[len] = '\0';
	*used += len + 1;
	return f;
}

/*
 * Builds the largest envelope of nrcpt recipients a frame holds, each
 * recipient at most rcpt_max bytes, and the longest arrival, into env.
 */
static void size_build(struct spool_envelope *env, unsigned nrcpt, size_t rcpt_max)
{
	size_t used = 0;

	env->sender = size_field(&used, ADDR_MAX, 's');
	env->user = size_field(&used, CONFIG_USERNAME_MAX, 'u');
	env->client = size_field(&used, PROTO_ADDR_STR - 1, 'c');
	env->arrival = (time_t)INT64_MIN;
	env->nrcpt = nrcpt;
	env->rcpts = size_rcpts;
	for (unsigned i = 0; i < nrcpt; i++) {
		size_t left = FRAME_STRINGS - used, fair = left / (nrcpt - i) - 1;

		size_rcpts[i] = size_field(&used, fair < rcpt_max ? fair : rcpt_max, (char)('a' + i % 26));
	}
	CHECK(used <= FRAME_STRINGS);
}

/* Commits env and reads it back; or it must be refused with EMSGSIZE and leave nothing. */
static void size_round_trip(const struct spool_envelope *env)
{
	struct spool_msg m;
	int fd;

	if (spool_msg_create(&size_spool, &m, env) < 0) {
		CHECK(errno == EMSGSIZE && size_spool.nmessages == 0);
		return;
	}
	CHECK(spool_msg_write(&size_spool, &m, "Subject: x\r\n\r\nbody\r\n", 20) == 0);
	CHECK(spool_msg_commit(&size_spool, &m) == 0);
	fd = spool_open_msg_ro(&size_spool, m.id, SPOOL_IN_QUEUE);
	CHECK(fd >= 0);
	CHECK(spool_read_env(fd, &size_env) == 0);
	CHECK(size_env.nrcpt == env->nrcpt);
	for (unsigned i = 0; i < size_env.nrcpt && i < env->nrcpt; i++) {
		CHECK_STR(size_env.rcpt[i].addr, env->rcpts[i]);
	}
	CHECK_STR(size_env.sender, env->sender);
	CHECK(size_env.arrival == env->arrival);
	close(fd);
}

TEST(spool_env_largest_frame_envelope_round_trips)
{
	struct spool_envelope env;

	size_setup();
	/* recipients of real address length: the frame is the limit beyond about 60 of them */
	size_build(&env, CONFIG_MAX_RECIPIENTS, ADDR_MAX);
	size_round_trip(&env);
	/* a forged frame: whatever lengths fill it, with every recipient allowed */
	size_build(&env, CONFIG_MAX_RECIPIENTS, FRAME_STRINGS);
	size_round_trip(&env);
	size_build(&env, 1, FRAME_STRINGS);
	size_round_trip(&env);
	size_teardown();
}

TEST(spool_env_too_large_is_refused_before_commit)
{
	static char huge[SPOOL_ENV_MAX + 1];
	const char *rcpt[1] = { huge };
	struct spool_envelope env = { "a@x", "alice", "127.0.0.1", 1, rcpt, 1700000000 };
	struct spool_msg m;

	memset(huge, 'r', sizeof(huge) - 1);
	size_setup();
	CHECK(spool_msg_create(&size_spool, &m, &env) < 0 && errno == EMSGSIZE);
	CHECK(size_spool.nmessages == 0 && size_spool.nbytes == 0);
	size_teardown();
}
