/*
 * ipc.c - frame transport for every process pair (master, session, auth,
 * queue, relay). One sendmsg/recvmsg per frame; truncation is an error,
 * and so is any descriptor beyond the one a frame may carry: every received
 * descriptor is either handed to the caller or closed, never left open.
 */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int ipc_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int ipc_send(int sock, uint32_t type, const void *payload, size_t len, int pass_fd)
{
	struct ipc_header hdr = { .type = type, .len = (uint32_t)len };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, len } };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (len > IPC_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (pass_fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -1;
	}
	return (size_t)n == sizeof(hdr) + len ? 0 : (errno = EPROTO, -1);
}

/*
 * Room for every descriptor one message can carry: Linux merges the SCM_RIGHTS
 * data of a sendmsg into one list of at most SCM_MAX_FD (253), so whatever a
 * peer packs in, in one control message or several, is seen here and closed.
 * More than the kernel can install is dropped by it and flagged MSG_CTRUNC.
 */
#define IPC_RECV_FDS_MAX 253

/*
 * Takes every descriptor out of the control data: the first goes to *first,
 * every other one is closed. Returns how many control items there were (a
 * descriptor, or a message that is not SCM_RIGHTS, counts one each).
 */
static size_t ipc_take_fds(struct msghdr *msg, int *first)
{
	size_t count = 0;

	*first = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0)) {
			count++;
			continue;
		}
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (count++ == 0) {
				*first = fd;
			} else {
				close(fd);
			}
		}
	}
	return count;
}

/* recvmsg gave 0 bytes: the peer's end is closed, or it sent an empty message (a malformed frame). */
static int ipc_peer_gone(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

int ipc_recv(int sock, struct ipc_frame *f, int *fd_out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * IPC_RECV_FDS_MAX)];
	} control;
	struct iovec iov = { f, sizeof(*f) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
	};
	ssize_t n;
	size_t items;
	int fd;

	if (fd_out != NULL) {
		*fd_out = -1;
	}
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -1;
	}
	items = ipc_take_fds(&msg, &fd);
	if (n == 0 && items == 0 && ipc_peer_gone(sock)) {
		return 0;
	}
	if (items > 1 || (items == 1 && (fd < 0 || fd_out == NULL)) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof(f->hdr) || f->hdr.len != (size_t)n - sizeof(f->hdr)) {
		if (fd >= 0) {
			close(fd);
		}
		errno = EPROTO;
		return -1;
	}
	if (fd_out != NULL) {
		*fd_out = fd;
	}
	return 1;
}
