/*
 * proto_test.c - receiving frames by table (proto.c, proto.h): every
 * receiver's table is well formed; a frame of an unknown type, of a wrong
 * length, with a descriptor where none belongs or none where one must come
 * is refused (logged, its descriptor closed, no handler run); string fields
 * are terminated before use, every senders[] entry of auth's replies and
 * logins too; and every receiver of the reload protocol refuses a
 * PROTO_RELOAD_* frame of the wrong size.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "auth_proc.h"
#include "harness.h"
#include "ipc_raw.h"
#include "master_int.h"
#include "proto.h"
#include "queue_msg.h"
#include "queue_proc.h"
#include "queue_sched.h"
#include "relay_proc.h"
#include "reload_proc.h"
#include "service.h"
#include "session.h"

static const struct proto_table *const proto_tables[] = {
	&auth_proc_session_frames, &auth_proc_reload_frames,  &auth_proc_master_frames,   &service_master_frames,
	&queue_proc_master_frames, &queue_msg_session_frames, &queue_msg_auth_frames,     &queue_sched_relay_frames,
	&relay_proc_queue_frames,  &relay_proc_reload_frames, &reload_proc_master_frames, &reload_proc_auth_reply,
	&master_relay_frames,      &master_reload_frames,     &session_auth_replies,      &session_sign_reply,
	&session_queue_replies,
};

#define PROTO_NTABLES (sizeof(proto_tables) / sizeof(proto_tables[0]))

TEST(proto_q_begin_size_follows_len)
{
	static struct proto_q_begin b;
	const size_t head = offsetof(struct proto_q_begin, strings);

	CHECK(proto_q_begin_size(&b) == head);
	b.len = 12;
	CHECK(proto_q_begin_size(&b) == head + 12);
	b.len = sizeof(b.strings);
	CHECK(proto_q_begin_size(&b) == sizeof(b));
	b.len = sizeof(b.strings) + 1; /* claims more than the frame can hold: no valid frame has this size */
	CHECK(proto_q_begin_size(&b) > sizeof(b));
	b.len = UINT32_MAX;
	CHECK(proto_q_begin_size(&b) > sizeof(b));
}

/* A row's strings and flag lie inside every payload it accepts; a waited-for reply has no descriptor. */
static int proto_row_ok(const struct proto_row *r)
{
	if (r->min_len > r->max_len || r->max_len > IPC_PAYLOAD_MAX) {
		return 0;
	}
	if (r->fd == PROTO_FD_FLAGGED && r->fd_flag + sizeof(uint32_t) > r->min_len) {
		return 0;
	}
	if (r->handler == NULL && r->fd != PROTO_FD_NONE) {
		return 0;
	}
	for (size_t i = 0; i < PROTO_STRINGS_MAX && r->strings[i].size > 0; i++) {
		const struct proto_string *s = &r->strings[i];

		if (s->count == 0 || s->offset + (size_t)s->size * s->count > r->min_len) {
			return 0;
		}
	}
	return 1;
}

TEST(proto_every_table_is_well_formed)
{
	for (size_t t = 0; t < PROTO_NTABLES; t++) {
		const struct proto_table *tab = proto_tables[t];

		CHECK(tab->channel != NULL && tab->nrows > 0);
		for (size_t i = 0; i < tab->nrows; i++) {
			if (!proto_row_ok(&tab->rows[i])) {
				harness_fail(__FILE__, __LINE__, tab->channel);
			}
			for (size_t j = 0; j < i; j++) {
				CHECK(tab->rows[j].type != tab->rows[i].type); /* one row per type */
			}
		}
	}
}

static struct ipc_frame proto_frame;

/* A frame of type with len payload bytes of `fill` (the flag of a RESOLV_FILE: `present`). */
static struct ipc_frame *proto_make(uint32_t type, size_t len, int fill)
{
	memset(&proto_frame, fill, sizeof(proto_frame));
	proto_frame.hdr.type = type;
	proto_frame.hdr.len = (uint32_t)len;
	return &proto_frame;
}

static enum proto_verdict proto_verdict_of(const struct proto_table *t, uint32_t type, size_t len, int fd)
{
	enum proto_verdict why = PROTO_MATCH;
	const struct proto_row *r = proto_match(t, proto_make(type, len, 0), fd, &why);

	CHECK((r != NULL) == (why == PROTO_MATCH));
	return why;
}

TEST(proto_match_checks_type_length_and_descriptor)
{
	const struct proto_table *q = &queue_proc_master_frames;
	const size_t ns = sizeof(struct proto_new_session), ctl = sizeof(struct proto_control);
	const size_t resolv = sizeof(struct proto_resolv_file);
	struct proto_resolv_file *r = (struct proto_resolv_file *)proto_frame.payload;
	enum proto_verdict why;

	CHECK(proto_verdict_of(q, PROTO_NEW_SESSION, ns, 5) == PROTO_MATCH);
	CHECK(proto_verdict_of(q, PROTO_NEW_SESSION, ns - 1, 5) == PROTO_BAD_LENGTH);
	CHECK(proto_verdict_of(q, PROTO_NEW_SESSION, ns + 1, 5) == PROTO_BAD_LENGTH);
	CHECK(proto_verdict_of(q, PROTO_NEW_SESSION, ns, -1) == PROTO_FD_MISSING);
	CHECK(proto_verdict_of(q, PROTO_FLUSH, 0, -1) == PROTO_MATCH);
	CHECK(proto_verdict_of(q, PROTO_FLUSH, 0, 5) == PROTO_FD_UNEXPECTED);
	CHECK(proto_verdict_of(q, PROTO_FLUSH, 1, -1) == PROTO_BAD_LENGTH);
	CHECK(proto_verdict_of(q, PROTO_CONTROL, ctl, 5) == PROTO_MATCH);
	CHECK(proto_verdict_of(q, PROTO_Q_BEGIN, 100, -1) == PROTO_UNKNOWN_TYPE); /* a session's frame */
	CHECK(proto_verdict_of(q, 999, 0, -1) == PROTO_UNKNOWN_TYPE);
	/* RESOLV_FILE: a descriptor exactly when `present` */
	proto_make(PROTO_RESOLV_FILE, resolv, 0);
	r->present = 1;
	CHECK(proto_match(q, &proto_frame, 5, &why) != NULL && why == PROTO_MATCH);
	CHECK(proto_match(q, &proto_frame, -1, &why) == NULL && why == PROTO_FD_MISSING);
	r->present = 0;
	CHECK(proto_match(q, &proto_frame, -1, &why) != NULL && why == PROTO_MATCH);
	CHECK(proto_match(q, &proto_frame, 5, &why) == NULL && why == PROTO_FD_UNEXPECTED);
	/* the queue's session channel: an envelope between its head and the whole struct, DATA up to a frame */
	CHECK(proto_verdict_of(&queue_msg_session_frames, PROTO_Q_BEGIN, offsetof(struct proto_q_begin, strings), -1) ==
	      PROTO_MATCH);
	CHECK(proto_verdict_of(&queue_msg_session_frames, PROTO_Q_BEGIN, 4, -1) == PROTO_BAD_LENGTH);
	CHECK(proto_verdict_of(&queue_msg_session_frames, PROTO_Q_DATA, IPC_PAYLOAD_MAX, -1) == PROTO_MATCH);
	CHECK(proto_verdict_of(&queue_msg_session_frames, PROTO_Q_END, 1, -1) == PROTO_BAD_LENGTH);
}

/* proto.h promised it, the session did not do it before issue 13: every senders[] entry comes terminated. */
TEST(proto_auth_result_senders_are_terminated)
{
	static struct proto_auth_result res;
	const struct proto_auth_result *r = (const struct proto_auth_result *)proto_frame.payload;
	int sv[2];

	if (ipc_pair(sv) < 0) {
		CHECK(!"cannot set up");
		return;
	}
	memset(&res, 'x', sizeof(res)); /* no NUL anywhere */
	CHECK(ipc_send(sv[0], PROTO_AUTH_RESULT, &res, sizeof(res), -1) == 0);
	CHECK(proto_recv(sv[1], &session_auth_replies, "test", &proto_frame, NULL) == 1);
	CHECK(strlen(r->user) == sizeof(r->user) - 1);
	CHECK(strlen(r->server_message) == sizeof(r->server_message) - 1);
	for (size_t i = 0; i < CONFIG_USER_MAX_SENDERS; i++) {
		CHECK(strlen(r->senders[i]) == ADDR_MAX);
	}
	close(sv[0]);
	close(sv[1]);
}

/* The queue's copy of a login (PROTO_AUTH_LOGIN) is terminated by the table as well. */
TEST(proto_auth_login_senders_are_terminated)
{
	const struct proto_auth_login *l = (const struct proto_auth_login *)proto_frame.payload;
	const struct proto_row *row;
	enum proto_verdict why;

	row = proto_match(&queue_msg_auth_frames, proto_make(PROTO_AUTH_LOGIN, sizeof(*l), 'x'), -1, &why);
	CHECK(row != NULL);
	if (row != NULL) {
		proto_terminate_strings(row, &proto_frame);
	}
	CHECK(strlen(l->session_id) == sizeof(l->session_id) - 1);
	CHECK(strlen(l->user) == sizeof(l->user) - 1);
	for (size_t i = 0; i < CONFIG_USER_MAX_SENDERS; i++) {
		CHECK(strlen(l->senders[i]) == ADDR_MAX);
	}
}

/* Sends a frame of type with len zero bytes (and fd) and has t receive it: refused, fd closed. */
static int proto_refused(const struct proto_table *t, uint32_t type, size_t len, int fd)
{
	static unsigned char zero[IPC_PAYLOAD_MAX];
	int sv[2], before, refused;

	if (ipc_pair(sv) < 0) {
		return 0;
	}
	before = ipc_raw_fd_count();
	refused = ipc_send(sv[0], type, zero, len, fd) == 0 && proto_recv(sv[1], t, NULL, &proto_frame, NULL) < 0 &&
		  errno == EPROTO;
	refused = refused && ipc_raw_fd_count() == before; /* a passed descriptor was not kept */
	close(sv[0]);
	close(sv[1]);
	return refused;
}

/*
 * Before issue 13, auth and the relay keeper took a RELOAD_APPLY of any
 * length, and the reload process a RELOAD_REQUEST: each table now says the
 * size, and a frame of another size is refused before any handler runs.
 */
TEST(proto_reload_frames_of_the_wrong_size_are_refused)
{
	const struct proto_table *apply_takers[] = { &auth_proc_reload_frames, &relay_proc_reload_frames,
						     &master_reload_frames, &queue_proc_master_frames,
						     &reload_proc_auth_reply };
	const size_t apply = sizeof(struct proto_reload_apply), file = sizeof(struct proto_reload_file);
	const size_t resolv = sizeof(struct proto_resolv_file);
	int p[2];

	if (pipe(p) < 0) {
		CHECK(!"cannot set up");
		return;
	}
	for (size_t i = 0; i < sizeof(apply_takers) / sizeof(apply_takers[0]); i++) {
		const struct proto_table *t = apply_takers[i];

		CHECK(proto_refused(t, PROTO_RELOAD_APPLY, 0, -1));
		CHECK(proto_refused(t, PROTO_RELOAD_APPLY, apply - 1, -1));
		CHECK(proto_refused(t, PROTO_RELOAD_APPLY, apply + 1, -1));
		CHECK(proto_refused(t, PROTO_RELOAD_APPLY, IPC_PAYLOAD_MAX, -1));
		CHECK(proto_refused(t, PROTO_RELOAD_APPLY, apply, p[0])); /* a descriptor where none belongs */
		if (t != &reload_proc_auth_reply) {
			CHECK(proto_refused(t, PROTO_RELOAD_FILE, file, -1)); /* the file is missing */
			CHECK(proto_refused(t, PROTO_RELOAD_FILE, file - 1, p[0]));
			CHECK(proto_refused(t, PROTO_RELOAD_FILE, file + 1, p[0]));
		}
	}
	CHECK(proto_refused(&reload_proc_master_frames, PROTO_RELOAD_REQUEST, 4, -1));
	CHECK(proto_refused(&reload_proc_master_frames, PROTO_RELOAD_REQUEST, 0, p[0]));
	CHECK(proto_refused(&reload_proc_master_frames, PROTO_FLUSH, 0, -1));
	CHECK(proto_refused(&master_reload_frames, PROTO_RESOLV_FILE, resolv - 4, -1));
	CHECK(proto_refused(&master_reload_frames, PROTO_RESOLV_FILE, resolv, p[0])); /* present 0, yet a file */
	close(p[0]);
	close(p[1]);
}

static unsigned proto_test_calls;

static int proto_test_handler(void *ctx, struct ipc_frame *f, int fd)
{
	proto_test_calls++;
	CHECK(ctx == &proto_test_calls);
	if (fd >= 0) {
		close(fd);
	}
	return f->payload[0] == 'n' ? -1 : 0; /* "n...": refused by the handler */
}

static int proto_test_refuser(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	(void)f;
	(void)fd;
	proto_test_calls++;
	return -1; /* leaves fd to proto_dispatch */
}

static const struct proto_row proto_test_rows[] = {
	{ .type = 1, .min_len = 4, .max_len = 8, .strings = { { 0, 4, 1 } }, .handler = proto_test_handler },
	{ .type = 2, .fd = PROTO_FD_ONE, .handler = proto_test_refuser },
};

static const struct proto_table proto_test_table = PROTO_TABLE("test: channel", "skipped", proto_test_rows);

TEST(proto_dispatch_runs_the_row_or_refuses)
{
	int sv[2], p[2], before;

	if (ipc_pair(sv) < 0 || pipe(p) < 0) {
		CHECK(!"cannot set up");
		return;
	}
	before = ipc_raw_fd_count();
	CHECK(ipc_send(sv[0], 1, "abcdefg", 7, -1) == 0);
	proto_test_calls = 0;
	CHECK(proto_recv(sv[1], &proto_test_table, NULL, &proto_frame, &proto_test_calls) == 1);
	CHECK(proto_test_calls == 1 && memcmp(proto_frame.payload, "abc\0efg", 7) == 0); /* terminated at 3 */
	CHECK(ipc_send(sv[0], 1, "nope", 4, -1) == 0);
	CHECK(proto_recv(sv[1], &proto_test_table, "peer", &proto_frame, &proto_test_calls) < 0 && errno == EPROTO);
	CHECK(proto_test_calls == 2);
	CHECK(ipc_send(sv[0], 2, NULL, 0, p[0]) == 0); /* the handler refuses: its descriptor is closed for it */
	CHECK(proto_recv(sv[1], &proto_test_table, NULL, &proto_frame, &proto_test_calls) < 0 && errno == EPROTO);
	CHECK(proto_test_calls == 3 && ipc_raw_fd_count() == before);
	CHECK(ipc_send(sv[0], 1, "abc", 3, -1) == 0); /* too short: no handler */
	CHECK(ipc_send(sv[0], 3, NULL, 0, -1) == 0);  /* unknown */
	CHECK(ipc_send(sv[0], 1, "abcd", 4, p[0]) == 0);
	CHECK(ipc_raw_send(sv[0], 1, p[0], 2, 0) == 0); /* two descriptors: ipc_recv refuses it */
	for (int i = 0; i < 4; i++) {
		CHECK(proto_recv(sv[1], &proto_test_table, NULL, &proto_frame, &proto_test_calls) < 0 &&
		      errno == EPROTO);
	}
	CHECK(proto_test_calls == 3 && ipc_raw_fd_count() == before);
	CHECK(ipc_send(sv[0], 1, "abcd", 4, -1) == 0); /* the channel still works */
	CHECK(proto_recv(sv[1], &proto_test_table, NULL, &proto_frame, &proto_test_calls) == 1);
	close(sv[0]);
	CHECK(proto_recv(sv[1], &proto_test_table, NULL, &proto_frame, &proto_test_calls) == 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}
