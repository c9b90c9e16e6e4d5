/*
 * queue_ctl_int.h - shared by queue_ctl.c (connections: reading requests,
 * sending answers without blocking), queue_ctl_cmd.c (parsing, and the
 * commands that change the spool) and queue_ctl_list.c (list and show, in
 * text and JSON): a connection's bounded answer buffer, and the resumable
 * answer that refills it.
 *
 * No answer is written at once. A connection owns CTL_OUT_MAX bytes of
 * output; the answer is produced into them step by step (a header, one
 * message of a listing, a piece of a message body), and a step that does
 * not fit is produced again once the client has read the buffer, its
 * first bytes skipped (ctl_out.skip), so no step needs more room than the
 * buffer has. The queue never waits for a client: the buffer (a wbuf) is
 * filled without flushing and flushed from the poll loop.
 */
#ifndef SUBGATE_QUEUE_CTL_INT_H
#define SUBGATE_QUEUE_CTL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dirscan.h"
#include "json.h"
#include "spool.h"
#include "wbuf.h"

#define CTL_OUT_MAX 8192

struct ctl_out {
	uint64_t skip;   /* bytes of the current step already sent: dropped as they come again */
	uint64_t placed; /* bytes of the current step put in buf by this attempt */
	int full;        /* the current step did not fit: the rest of it is dropped for now */
	struct wbuf w;   /* over buf, to the client's socket without waiting (EAGAIN: the poll loop resumes) */
	char buf[CTL_OUT_MAX];
};

enum ctl_job_kind {
	CTL_JOB_NONE, /* the answer is what buf holds */
	CTL_JOB_LIST,
	CTL_JOB_SHOW,
};

/* A list or show answer in progress (queue_ctl_list.c). */
struct ctl_job {
	enum ctl_job_kind kind;
	int json;
	int phase;
	int64_t only_uid;   /* list: -1, or only what this local uid submitted */
	uint64_t step_done; /* bytes of the current step sent in earlier attempts */
	struct json j;      /* the writer's state after the last finished step */
	struct json j_step; /* the writer while a step runs (its sink is the connection's ctl_out) */
	unsigned count;     /* list: the totals, counted when the request came */
	uint64_t bytes;
	unsigned dir;              /* list: which of queue/, defer/, hold/ is read; show: the message's spool_where */
	int scanning;              /* list: scan holds the directory dir */
	struct dirscan scan;       /* list: the directory being read */
	char id[SPOOL_ID_LEN + 1]; /* list: the message of the current step ("" between steps); show: the message */
	int fd;                    /* show: the message file, -1 when closed */
	off_t off;                 /* show: the next byte of the message body */
	int damaged;               /* show: the envelope could not be read; the whole file is the body */
	size_t keep;               /* show, JSON: bytes of an incomplete UTF-8 sequence left from the last piece */
	char keep_buf[4];
};

void queue_ctl_put(struct ctl_out *o, const char *p, size_t n);
void queue_ctl_printf(struct ctl_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text that came from the spool or the smarthost: control bytes become '?'. */
void queue_ctl_put_text(struct ctl_out *o, const char *s);

/* json.h sink writing to a ctl_out. */
int queue_ctl_json_sink(void *ctx, const char *data, size_t len);

/* The status line of a refusal; TEXT is one line. */
void queue_ctl_err(struct ctl_out *o, int code, const char *text);

/* One request line of the control socket, split in place (pointers into the line). */
struct ctl_request {
	const char *verb;
	const char *id; /* NULL for verbs without one */
	int json;
};

/*
 * Splits "VERB [ID] [json]" (single spaces) in place: a known verb, an ID
 * exactly where the verb takes one (16 lowercase hex digits), "json" last
 * or nothing. Returns 0, or -1 with err set. Pure (fuzzed: ctl_parse_fuzz).
 */
int queue_ctl_cmd_parse(char *line, struct ctl_request *r, const char **err);

/*
 * Answers one request line (without its "\n") into o (and job, for list
 * and show); only_uid >= 0 (SPOOL/public/showq) allows only `list`.
 * Returns the verb's name for the log ("?" if none).
 */
const char *queue_ctl_cmd_answer(struct spool *sp, char *line, int64_t only_uid, struct ctl_out *o,
				 struct ctl_job *job);

/*
 * Starts a list or show answer: list takes the totals now. Returns 0, or
 * for show a sysexits code with err filled (the message is not there).
 */
void queue_ctl_list_start(struct ctl_job *job, struct spool *sp, struct ctl_out *o, int json, int64_t only_uid);
int queue_ctl_list_show(struct ctl_job *job, struct spool *sp, struct ctl_out *o, const char *id, int json, char *err,
			size_t errcap);

/*
 * Produces more of the answer into o (which the connection has emptied, or
 * nearly). Returns 1 while more is to come, 0 when the answer is complete
 * (the job is then finished: its files are closed).
 */
int queue_ctl_list_more(struct ctl_job *job, struct spool *sp, struct ctl_out *o);

/* Ends a job early (the client went away): closes what it holds. */
void queue_ctl_list_end(struct ctl_job *job);

#endif
