/*
 * envelope_test.c - the session's envelope (envelope.c): packed into the
 * PROTO_Q_BEGIN frame and unpacked by the queue it comes back the same;
 * it takes recipients up to CONFIG_MAX_RECIPIENTS and what one frame holds,
 * no more; clearing empties it; the queue refuses an envelope whose counts
 * and strings disagree.
 */
#include <string.h>

#include "envelope.h"
#include "harness.h"

static struct envelope env_e;
static struct proto_q_begin env_b;
static const char *env_rcpts[CONFIG_MAX_RECIPIENTS];

TEST(envelope_round_trip)
{
	struct spool_envelope out;

	envelope_start(&env_e, "alice@example.com", "alice", "192.0.2.7");
	CHECK(envelope_add_rcpt(&env_e, "bob@example.org") == 0);
	CHECK(envelope_add_rcpt(&env_e, "") == 0 || CONFIG_MAX_RECIPIENTS < 2);
	env_e.arrival = 1700000000;
	CHECK(envelope_pack(&env_e, &env_b) == proto_q_begin_size(&env_b));
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) == 0);
	CHECK_STR(out.sender, "alice@example.com");
	CHECK_STR(out.user, "alice");
	CHECK_STR(out.client, "192.0.2.7");
	CHECK(out.nrcpt == env_e.nrcpt && out.arrival == 1700000000 && out.rcpts == env_rcpts);
	CHECK_STR(out.rcpts[0], "bob@example.org");
	/* the null sender and no user (the local socket) */
	envelope_start(&env_e, "", "", "local uid=0 (root)");
	CHECK(envelope_add_rcpt(&env_e, "root@example.org") == 0);
	envelope_pack(&env_e, &env_b);
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) == 0);
	CHECK_STR(out.sender, "");
	CHECK_STR(out.user, "");
	CHECK(out.nrcpt == 1);
	CHECK_STR(out.rcpts[0], "root@example.org");
	envelope_clear(&env_e);
	CHECK(env_e.nrcpt == 0 && env_e.rcpts_len == 0 && env_e.sender[0] == '\0' && env_e.arrival == 0);
}

TEST(envelope_takes_what_one_frame_holds)
{
	static char addr[ADDR_MAX + 1];
	struct spool_envelope out;
	unsigned n = 0;

	memset(addr, 'r', ADDR_MAX);
	addr[ADDR_MAX - 12] = '@';
	envelope_start(&env_e, "alice@example.com", "alice", "192.0.2.7");
	while (envelope_add_rcpt(&env_e, addr) == 0) {
		n++;
	}
	CHECK(n == env_e.nrcpt && n > 0);
	CHECK(n == CONFIG_MAX_RECIPIENTS ||
	      envelope_pack(&env_e, &env_b) + ADDR_MAX + 1 > sizeof(struct proto_q_begin)); /* the frame was full */
	CHECK(envelope_pack(&env_e, &env_b) <= sizeof(struct proto_q_begin));
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) == 0 && out.nrcpt == n);
	CHECK(strcmp(out.rcpts[n - 1], addr) == 0);
}

TEST(envelope_unpack_refuses_what_disagrees)
{
	struct spool_envelope out;

	envelope_start(&env_e, "a@x", "u", "c");
	CHECK(envelope_add_rcpt(&env_e, "r@y") == 0);
	envelope_pack(&env_e, &env_b);
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) == 0);
	env_b.nrcpt = 2; /* more recipients than strings */
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) < 0);
	env_b.nrcpt = 0;
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) < 0);
	env_b.nrcpt = CONFIG_MAX_RECIPIENTS + 1;
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) < 0);
	env_b.nrcpt = 1;
	env_b.len--; /* the last string has no NUL */
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) < 0);
	env_b.strings[env_b.len++] = '\0';
	env_b.strings[env_b.len++] = 'z'; /* bytes after the last recipient */
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) < 0);
	env_b.len = sizeof(env_b.strings) + 1;
	CHECK(envelope_unpack(&env_b, &out, env_rcpts) < 0);
}
