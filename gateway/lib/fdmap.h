/*
 * fdmap.h - files handed over as open descriptors. A jailed process cannot
 * open /etc/subgate/... again, so on SIGHUP the reload process opens the
 * files and passes the descriptors; the receiver registers each under the
 * path it stands for, and the usual loaders (conf_load, tls_key_load, ...)
 * read it through fdmap_open() as if they had opened the path. Each handed
 * descriptor is used once. A small fixed table; no allocation.
 */
#ifndef SUBGATE_FDMAP_H
#define SUBGATE_FDMAP_H

#define FDMAP_MAX 8

/* Registers fd as the contents of path (replacing an earlier one). Returns 0, or -1 when full (fd closed). */
int fdmap_add(const char *path, int fd);

/*
 * open(path, O_RDONLY | O_CLOEXEC), unless a descriptor was handed over for
 * path: then that one, rewound, and forgotten (the caller closes it).
 */
int fdmap_open(const char *path);

/* Closes and forgets every handed descriptor still unused. */
void fdmap_clear(void);

#endif
