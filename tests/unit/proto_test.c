/*
 * proto_test.c - the inline helpers of proto.h: the envelope frame's size
 * follows its used bytes, a length beyond `strings` matches no frame, and
 * clearing resets the counters only.
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
