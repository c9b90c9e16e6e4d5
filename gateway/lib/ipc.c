/*
 * ipc.c - frame transport for every process pair (master, session, auth,
 * queue, relay). One sendmsg/recvmsg per frame; truncation is an error.
 */
#include "ipc.h"

#include <errno.h>
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

/* Takes the passed descriptor out of the control data, if any. */
static int ipc_take_fd(struct msghdr *msg)
{
	int fd = -1;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		}
	}
	return fd;
}

int ipc_recv(int sock, struct ipc_frame *f, int *fd_out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { f, sizeof(*f) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
	};
	ssize_t n;
	int fd;

	if (fd_out != NULL) {
		*fd_out = -1;
	}
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		return n == 0 ? 0 : -1;
	}
	fd = ipc_take_fd(&msg);
	if (fd >= 0 && fd_out == NULL) {
		close(fd);
		fd = -1;
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(f->hdr) ||
	    f->hdr.len != (size_t)n - sizeof(f->hdr)) {
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

int ipc_recv_expect(int sock, struct ipc_frame *f, uint32_t type, size_t len)
{
	int rc = ipc_recv(sock, f, NULL);

	if (rc == 1 && (f->hdr.type != type || f->hdr.len != len)) {
		errno = EPROTO;
		return -1;
	}
	return rc;
}
