/*
 * ipc_raw.h - test helpers for frames no subgate process would send: a raw
 * sendmsg with any number of descriptors in one or several control
 * messages, and the count of this process's open descriptors.
 */
#ifndef SUBGATE_IPC_RAW_H
#define SUBGATE_IPC_RAW_H

#include <stddef.h>
#include <stdint.h>

#define IPC_RAW_FDS_MAX 200

/* Open descriptors of this process, as /proc/self/fd lists them (-1: unknown). */
int ipc_raw_fd_count(void);

/*
 * Sends a header-only frame of `type`, carrying `fd` `nfds` times (at most
 * IPC_RAW_FDS_MAX): in one SCM_RIGHTS message, or (split) in one message each.
 * Returns 0 or -1.
 */
int ipc_raw_send(int sock, uint32_t type, int fd, size_t nfds, int split);

#endif
