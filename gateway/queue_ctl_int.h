/*
 * queue_ctl_int.h - shared by queue_ctl.c (connections, requests, the
 * commands that change the spool) and queue_ctl_list.c (list and show, in
 * text and JSON): the buffered, blocking answer writer.
 */
#ifndef SUBGATE_QUEUE_CTL_INT_H
#define SUBGATE_QUEUE_CTL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "spool.h"

struct ctl_out {
	int fd;
	int failed;       /* a write failed or took too long: the rest is dropped */
	int64_t deadline; /* monotonic ms by which the whole answer must be written */
	size_t len;
	char buf[4096];
};

/* Monotonic milliseconds. */
int64_t ctl_now_ms(void);

void ctl_put(struct ctl_out *o, const char *p, size_t n);
void ctl_printf(struct ctl_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text that came from the spool or the smarthost: control bytes become '?'. */
void ctl_put_text(struct ctl_out *o, const char *s);

/* json.h sink writing to a ctl_out. */
int ctl_json_sink(void *ctx, const char *data, size_t len);

/* Writes what is buffered. Returns 0 or -1 (o->failed). */
int ctl_flush(struct ctl_out *o);

/*
 * The answers to list and show (the "ok" line is theirs to write). Return 0,
 * or a sysexits code. only_uid (list): -1 for every message, else only those
 * that local uid submitted (envelope client "local uid=UID ..."; totals too).
 */
int ctl_list(struct ctl_out *o, struct spool *sp, int json, int64_t only_uid);
int ctl_show(struct ctl_out *o, struct spool *sp, const char *id, int json, char *err, size_t errcap);

#endif
