/*
 * dirscan.h - reads a directory's entries with getdents64(2) into the
 * caller's fixed buffer: opendir/fdopendir allocate their DIR with calloc,
 * which the steady state must not (alloc.h). The spool's scans use it
 * (queue process: scheduling, queue control; start-up counting).
 */
#ifndef SUBGATE_LIB_DIRSCAN_H
#define SUBGATE_LIB_DIRSCAN_H

#include <stddef.h>

#define DIRSCAN_BUF 2048 /* bytes of entries per getdents64 call (musl's DIR holds as many) */

struct dirscan {
	int fd;     /* our own descriptor of the directory, read from its start; -1 when closed */
	size_t pos; /* next entry in buf */
	size_t len; /* bytes of entries in buf */
	int error;  /* errno of a failed read, 0 */
	unsigned char buf[DIRSCAN_BUF] __attribute__((aligned(8)));
};

/* getdents64 calls made so far by this process (the tests count directory reads). */
extern unsigned long dirscan_reads;

/* Starts reading the directory dir_fd from its first entry. Returns 0, or -1 with errno. */
int dirscan_open(struct dirscan *d, int dir_fd);

/*
 * The next entry's name ("." and ".." skipped), valid until the next call; NULL
 * at the end, or on a read error (d->error and errno set; 0 at the end).
 */
const char *dirscan_next(struct dirscan *d);

/* Closes the scan's descriptor (also after the end; twice is harmless). */
void dirscan_close(struct dirscan *d);

#endif
