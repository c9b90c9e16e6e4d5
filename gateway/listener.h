/*
 * listener.h - the listening sockets of `listen =` lines, opened by the
 * master before anything else (so that privileged ports need root only at
 * start).
 */
#ifndef SUBGATE_LISTENER_H
#define SUBGATE_LISTENER_H

#include <sys/socket.h>

#include "conf.h"

struct listener {
	int fd;
	int implicit_tls;
	char name[64]; /* "127.0.0.1:587" for logs */
};

/* Opens every listener of c (non-blocking, close-on-exec). Returns the count, or -1 (logged). */
int listener_open_all(const struct conf *c, struct listener *out, unsigned max);

/* The peer address as text; IPv4-mapped IPv6 addresses are shown as IPv4. */
void listener_peer_name(const struct sockaddr_storage *ss, char *buf, size_t cap);

#endif
