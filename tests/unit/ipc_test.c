/*
 * ipc_test.c - frames over SOCK_SEQPACKET: payload round trip, descriptor
 * passing, size limits, type/size checks, EOF; frames crafted with a raw
 * sendmsg (extra descriptors, several control messages, an empty message)
 * are refused and leave no descriptor behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "ipc.h"
#include "ipc_raw.h"

static struct ipc_frame frame;

TEST(ipc_round_trip_with_fd)
{
	int sv[2], p[2], got_fd;
	char c = 0;

	CHECK(ipc_pair(sv) == 0);
	CHECK(pipe(p) == 0);
	CHECK(ipc_send(sv[0], 7, "hello", 5, p[1]) == 0);
	CHECK(ipc_recv(sv[1], &frame, &got_fd) == 1);
	CHECK(frame.hdr.type == 7 && frame.hdr.len == 5 && memcmp(frame.payload, "hello", 5) == 0);
	CHECK(got_fd >= 0 && got_fd != p[1]);
	CHECK(write(got_fd, "x", 1) == 1); /* the passed descriptor is the pipe's write end */
	CHECK(read(p[0], &c, 1) == 1 && c == 'x');
	CHECK((fcntl(got_fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(got_fd);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TEST(ipc_checks_sizes_and_types)
{
	int sv[2];
	static unsigned char big[IPC_PAYLOAD_MAX + 1];

	CHECK(ipc_pair(sv) == 0);
	CHECK(ipc_send(sv[0], 1, big, sizeof(big), -1) < 0 && errno == EMSGSIZE);
	CHECK(ipc_send(sv[0], 1, big, IPC_PAYLOAD_MAX, -1) == 0);
	CHECK(ipc_recv(sv[1], &frame, NULL) == 1 && frame.hdr.len == IPC_PAYLOAD_MAX);
	/* the header says what came; whether the type and size are right is the table's (proto_test.c) */
	CHECK(ipc_send(sv[0], 2, "abc", 3, -1) == 0);
	CHECK(ipc_recv(sv[1], &frame, NULL) == 1 && frame.hdr.type == 2 && frame.hdr.len == 3);
	CHECK(memcmp(frame.payload, "abc", 3) == 0);
	CHECK(ipc_send(sv[0], 2, NULL, 0, -1) == 0);
	CHECK(ipc_recv(sv[1], &frame, NULL) == 1 && frame.hdr.type == 2 && frame.hdr.len == 0);
	close(sv[0]);
	CHECK(ipc_recv(sv[1], &frame, NULL) == 0); /* peer gone */
	close(sv[1]);
}

TEST(ipc_rejects_forged_length)
{
	int sv[2];
	struct ipc_header h = { .type = 1, .len = 100 }; /* claims 100 bytes, carries 2 */
	unsigned char raw[sizeof(h) + 2];

	CHECK(ipc_pair(sv) == 0);
	memcpy(raw, &h, sizeof(h));
	raw[sizeof(h)] = 'h';
	raw[sizeof(h) + 1] = 'i';
	CHECK(write(sv[0], raw, sizeof(raw)) == (ssize_t)sizeof(raw));
	CHECK(ipc_recv(sv[1], &frame, NULL) < 0 && errno == EPROTO);
	CHECK(write(sv[0], "abc", 3) == 3); /* shorter than a header */
	CHECK(ipc_recv(sv[1], &frame, NULL) < 0 && errno == EPROTO);
	close(sv[0]);
	close(sv[1]);
}

/* Sends the crafted frame, receives it: refused (EPROTO), nothing handed over, no descriptor left open. */
static void check_refused(int sv[2], int fd, size_t nfds, int split, int want_fd)
{
	int before, got_fd = 7;

	CHECK(ipc_raw_send(sv[0], 9, fd, nfds, split) == 0);
	before = ipc_raw_fd_count(); /* descriptors in flight are in no table yet */
	errno = 0;
	CHECK(ipc_recv(sv[1], &frame, want_fd ? &got_fd : NULL) < 0 && errno == EPROTO);
	CHECK(!want_fd || got_fd == -1);
	CHECK(ipc_raw_fd_count() == before);
}

TEST(ipc_refuses_extra_descriptors)
{
	int sv[2], p[2], got_fd;

	CHECK(ipc_pair(sv) == 0);
	CHECK(pipe(p) == 0);
	check_refused(sv, p[1], 2, 0, 1);               /* two in one control message: fits CMSG_SPACE(int) on LP64 */
	check_refused(sv, p[1], 2, 1, 1);               /* two control messages of one each */
	check_refused(sv, p[1], 3, 0, 1);               /* more than the old buffer held: MSG_CTRUNC */
	check_refused(sv, p[1], IPC_RAW_FDS_MAX, 0, 1); /* many */
	check_refused(sv, p[1], 8, 1, 1);
	check_refused(sv, p[1], 1, 0, 0); /* one where none is expected */
	CHECK(ipc_raw_send(sv[0], 9, p[1], 1, 0) == 0);
	CHECK(ipc_recv(sv[1], &frame, NULL) < 0 && errno == EPROTO);
	/* the channel still works: one descriptor where one is expected */
	CHECK(ipc_raw_send(sv[0], 9, p[1], 1, 0) == 0);
	CHECK(ipc_recv(sv[1], &frame, &got_fd) == 1 && frame.hdr.type == 9 && got_fd >= 0);
	close(got_fd);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TEST(ipc_empty_message_is_not_eof)
{
	int sv[2];
	struct iovec iov = { &frame, 0 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	CHECK(ipc_pair(sv) == 0);
	CHECK(sendmsg(sv[0], &msg, 0) == 0);
	CHECK(ipc_recv(sv[1], &frame, NULL) < 0 && errno == EPROTO); /* the peer is still there */
	CHECK(ipc_send(sv[0], 4, "ok", 2, -1) == 0);
	CHECK(ipc_recv(sv[1], &frame, NULL) == 1 && frame.hdr.type == 4);
	CHECK(sendmsg(sv[0], &msg, 0) == 0);
	close(sv[0]);
	CHECK(ipc_recv(sv[1], &frame, NULL) == 0); /* an empty message, then the end: gone */
	close(sv[1]);
}
