/*
 * ipc_raw.c - see ipc_raw.h (unit tests only).
 */
#include "ipc_raw.h"

#include <dirent.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ipc.h"

int ipc_raw_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	const struct dirent *e;
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

int ipc_raw_send(int sock, uint32_t type, int fd, size_t nfds, int split)
{
	static union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int)) * IPC_RAW_FDS_MAX];
	} control;
	struct ipc_header h = { .type = type, .len = 0 };
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf };
	struct cmsghdr *cm;

	if (nfds == 0 || nfds > IPC_RAW_FDS_MAX) {
		return -1;
	}
	memset(&control, 0, sizeof(control));
	msg.msg_controllen = split ? CMSG_SPACE(sizeof(int)) * nfds : CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(&msg);
	for (size_t i = 0; i < nfds; i++) {
		if (i == 0 || split) {
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * (split ? 1 : nfds));
		}
		memcpy(CMSG_DATA(cm) + (split ? 0 : i * sizeof(int)), &fd, sizeof(int));
		if (split) {
			cm = CMSG_NXTHDR(&msg, cm);
		}
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(h) ? 0 : -1;
}
