/*
 * proto.c - receiving frames by table (proto.h; OpenSMTPD's mproc
 * discipline): one check of type, length and descriptor for every
 * receiver in every process, string fields terminated before any handler
 * sees them, and one log line for every frame refused. The check
 * (proto_match) is pure; the tables live with their receivers.
 */
#include "proto.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Whether the row says a descriptor comes with this payload. */
static int proto_wants_fd(const struct proto_row *r, const struct ipc_frame *f)
{
	uint32_t flag;

	if (r->fd != PROTO_FD_FLAGGED) {
		return r->fd == PROTO_FD_ONE;
	}
	memcpy(&flag, f->payload + r->fd_flag, sizeof(flag)); /* within min_len: the table test checks */
	return flag != 0;
}

const struct proto_row *proto_match(const struct proto_table *t, const struct ipc_frame *f, int fd,
				    enum proto_verdict *why)
{
	for (size_t i = 0; i < t->nrows; i++) {
		const struct proto_row *r = &t->rows[i];

		if (r->type != f->hdr.type) {
			continue;
		}
		if (f->hdr.len < r->min_len || f->hdr.len > r->max_len) {
			*why = PROTO_BAD_LENGTH;
		} else if (proto_wants_fd(r, f) != (fd >= 0)) {
			*why = fd >= 0 ? PROTO_FD_UNEXPECTED : PROTO_FD_MISSING;
		} else {
			*why = PROTO_MATCH;
			return r;
		}
		return NULL;
	}
	*why = PROTO_UNKNOWN_TYPE;
	return NULL;
}

void proto_terminate_strings(const struct proto_row *r, struct ipc_frame *f)
{
	for (size_t i = 0; i < PROTO_STRINGS_MAX && r->strings[i].size > 0; i++) {
		const struct proto_string *s = &r->strings[i];

		for (uint32_t n = 0; n < s->count; n++) {
			f->payload[s->offset + n * s->size + s->size - 1] = '\0';
		}
	}
}

static const char *proto_reason(enum proto_verdict why)
{
	switch (why) {
	case PROTO_UNKNOWN_TYPE:
		return "not a frame of this channel";
	case PROTO_BAD_LENGTH:
		return "wrong length";
	case PROTO_FD_UNEXPECTED:
		return "a descriptor where none belongs";
	case PROTO_FD_MISSING:
		return "no descriptor";
	default:
		return "refused by its handler";
	}
}

/* Logs a refused frame (f NULL: ipc_recv refused it), closes its descriptor; errno EPROTO. */
static int proto_refuse(const struct proto_table *t, const char *peer, const struct ipc_frame *f, int fd,
			enum proto_verdict why)
{
	const char *sep = peer != NULL ? " " : "", *action = t->on_refusal != NULL ? t->on_refusal : "";

	if (f == NULL) {
		log_err("%s%s%s: refused a frame (%s)%s%s", t->channel, sep, peer != NULL ? peer : "", strerror(EPROTO),
			*action ? "; " : "", action);
	} else {
		log_err("%s%s%s: refused a frame (type %u, %u bytes%s: %s)%s%s", t->channel, sep,
			peer != NULL ? peer : "", (unsigned)f->hdr.type, (unsigned)f->hdr.len,
			fd >= 0 ? ", a descriptor" : "", proto_reason(why), *action ? "; " : "", action);
	}
	if (fd >= 0) {
		close(fd);
	}
	errno = EPROTO;
	return -1;
}

int proto_dispatch(const struct proto_table *t, const char *peer, struct ipc_frame *f, int fd, void *ctx)
{
	enum proto_verdict why;
	const struct proto_row *r = proto_match(t, f, fd, &why);

	if (r == NULL) {
		return proto_refuse(t, peer, f, fd, why);
	}
	proto_terminate_strings(r, f);
	if (r->handler == NULL) {
		if (fd >= 0) {
			close(fd); /* a waited-for reply carries none: the table test checks */
		}
		return 1;
	}
	if (r->handler(ctx, f, fd) < 0) {
		return proto_refuse(t, peer, f, fd, PROTO_MATCH);
	}
	return 1;
}

int proto_recv(int sock, const struct proto_table *t, const char *peer, struct ipc_frame *f, void *ctx)
{
	int fd = -1;
	int rc = ipc_recv(sock, f, &fd);

	if (rc < 0 && errno == EPROTO) {
		return proto_refuse(t, peer, NULL, -1, PROTO_MATCH);
	}
	if (rc <= 0) {
		return rc;
	}
	return proto_dispatch(t, peer, f, fd, ctx);
}
