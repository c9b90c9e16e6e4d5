/*
 * ipc.h - typed frames between subgate's processes over SOCK_SEQPACKET
 * socketpairs (OpenSMTPD mproc.c is the model). A frame is a fixed header
 * {type, length} and at most IPC_PAYLOAD_MAX bytes of payload, optionally
 * with one file descriptor (SCM_RIGHTS). The kernel keeps frame boundaries;
 * the receiver checks the length against what the type allows before use.
 * No allocation: callers own their frame buffers.
 */
#ifndef SUBGATE_IPC_H
#define SUBGATE_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_PAYLOAD_MAX 16384

struct ipc_header {
	uint32_t type;
	uint32_t len;
};

struct ipc_frame {
	struct ipc_header hdr;
	unsigned char payload[IPC_PAYLOAD_MAX];
};

/* Creates a SOCK_SEQPACKET socketpair with O_CLOEXEC. Returns 0 or -1 with errno. */
int ipc_pair(int fds[2]);

/* Sends one frame (and pass_fd if >= 0). Retries EINTR. Returns 0 or -1 with errno. */
int ipc_send(int sock, uint32_t type, const void *payload, size_t len, int pass_fd);

/*
 * Receives one frame into f. If fd_out is not NULL, a passed descriptor is
 * stored there (else -1). Returns 1 on a frame, 0 on EOF (peer gone), -1 on
 * error (errno). EPROTO: the frame was refused and consumed, and every
 * descriptor it carried closed: truncated, length not matching its header,
 * empty, more than one descriptor (in one control message or several), or a
 * descriptor when fd_out is NULL. EPROTO is the peer's fault, never its end:
 * the channel is still open.
 */
int ipc_recv(int sock, struct ipc_frame *f, int *fd_out);

#endif
