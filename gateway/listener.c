/*
 * listener.c - opens the configured listening sockets (master, start-up).
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int listener_open(const struct conf_listen *l, struct listener *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

	memset(&ss, 0, sizeof(ss));
	if (l->ipv6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(l->port);
		inet_pton(AF_INET6, l->addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(l->port);
		inet_pton(AF_INET, l->addr, &a->sin_addr);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->ipv6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	out->fd = fd;
	out->implicit_tls = l->mode == CONF_LISTEN_TLS;
	snprintf(out->name, sizeof(out->name), l->ipv6 ? "[%s]:%u" : "%s:%u", l->addr, (unsigned)l->port);
	return 0;
}

int listener_open_all(const struct conf *c, struct listener *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nlisten && n < max; i++) {
		if (listener_open(&c->listen[i], &out[n]) < 0) {
			log_err("cannot listen on %s%s%s:%u: %s", c->listen[i].ipv6 ? "[" : "", c->listen[i].addr,
				c->listen[i].ipv6 ? "]" : "", (unsigned)c->listen[i].port, strerror(errno));
			while (n > 0) {
				close(out[--n].fd);
			}
			return -1;
		}
		log_info("listening on %s (%s)", out[n].name, out[n].implicit_tls ? "implicit TLS" : "STARTTLS");
		n++;
	}
	return (int)n;
}

void listener_peer_name(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, (socklen_t)cap);
		} else {
			inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)cap);
		}
	} else if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)cap);
	} else {
		snprintf(buf, cap, "unknown");
	}
}
