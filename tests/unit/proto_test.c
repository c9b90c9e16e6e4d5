/*
 * proto_test.c - the inline helpers of proto.h: the envelope frame's size
 * follows its used bytes, a length beyond `strings` matches no frame, and
 * clearing resets the counters only; an auth result's strings (every
 * senders[] entry) are terminated on receipt; reload frames of the wrong
 * size, or with a descriptor where none belongs (or none where one does),
 * are refused.
 */
#include <stddef.h>
#include <string.h>

#include "harness.h"
#include "proto.h"

TEST(proto_q_begin_size_follows_len)
{
	static struct proto_q_begin b;
	const size_t head = offsetof(struct proto_q_begin, strings);

	CHECK(proto_q_begin_size(&b) == head);
	memcpy(b.strings, "a@x\0u\0c\0r@y", 12);
	b.len = 12;
	b.nrcpt = 1;
	CHECK(proto_q_begin_size(&b) == head + 12);
	b.len = sizeof(b.strings);
	CHECK(proto_q_begin_size(&b) == sizeof(b));
	b.len = sizeof(b.strings) + 1; /* claims more than the frame can hold: no valid frame has this size */
	CHECK(proto_q_begin_size(&b) > sizeof(b));
	b.len = UINT32_MAX;
	CHECK(proto_q_begin_size(&b) > sizeof(b));
	b.arrival = 1700000000;
	proto_q_begin_clear(&b);
	CHECK(b.nrcpt == 0 && b.len == 0 && b.arrival == 0 && proto_q_begin_size(&b) == head);
	CHECK(memcmp(b.strings, "a@x", 4) == 0); /* the strings stay: only `len` says what is used */
}

TEST(proto_auth_result_terminates_every_string)
{
	static struct proto_auth_result r;

	memset(&r, 'x', sizeof(r)); /* no NUL anywhere, a count beyond the array */
	proto_auth_result_terminate(&r);
	CHECK(strlen(r.user) == sizeof(r.user) - 1);
	CHECK(strlen(r.server_message) == sizeof(r.server_message) - 1);
	for (size_t i = 0; i < CONFIG_USER_MAX_SENDERS; i++) {
		CHECK(strlen(r.senders[i]) == ADDR_MAX);
	}
	CHECK(r.nsenders == CONFIG_USER_MAX_SENDERS);
	r.nsenders = 1;
	proto_auth_result_terminate(&r);
	CHECK(r.nsenders == 1);
}

/* A frame of `type` claiming `len` payload bytes (the payload itself does not matter here). */
static const struct ipc_frame *reload_frame(uint32_t type, size_t len, uint32_t present)
{
	static struct ipc_frame f;
	struct proto_resolv_file r = { .name = "hosts", .present = present };

	memset(&f, 0, sizeof(f));
	f.hdr.type = type;
	f.hdr.len = (uint32_t)len;
	memcpy(f.payload, &r, sizeof(r));
	return &f;
}

TEST(proto_reload_frames_are_checked)
{
	const size_t file = sizeof(struct proto_reload_file), apply = sizeof(struct proto_reload_apply);
	const size_t resolv = sizeof(struct proto_resolv_file);

	CHECK(proto_reload_frame_ok(reload_frame(PROTO_RELOAD_REQUEST, 0, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_REQUEST, 4, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_REQUEST, 0, 0), 5));
	CHECK(proto_reload_frame_ok(reload_frame(PROTO_RELOAD_FILE, file, 0), 5));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_FILE, file, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_FILE, file - 1, 0), 5));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_FILE, file + 1, 0), 5));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_FILE, 0, 0), 5));
	CHECK(proto_reload_frame_ok(reload_frame(PROTO_RELOAD_APPLY, apply, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_APPLY, 0, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_APPLY, apply - 1, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_APPLY, IPC_PAYLOAD_MAX, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RELOAD_APPLY, apply, 0), 5));
	CHECK(proto_reload_frame_ok(reload_frame(PROTO_RESOLV_FILE, resolv, 1), 5));
	CHECK(proto_reload_frame_ok(reload_frame(PROTO_RESOLV_FILE, resolv, 0), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RESOLV_FILE, resolv, 1), -1));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RESOLV_FILE, resolv, 0), 5));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_RESOLV_FILE, resolv - 4, 1), 5));
	CHECK(!proto_reload_frame_ok(reload_frame(PROTO_FLUSH, 0, 0), -1)); /* not a reload frame */
}
