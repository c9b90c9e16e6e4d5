/*
 * queue_ctl_cmd.c - the requests of the queue control protocol (queue
 * process; protocol in queue_ctl.h): parses a request line against a table
 * of verbs and runs it: flush, delete, hold and release here, answered at
 * once into the connection's buffer (status too, from queue_ctl_status.c); list and show start a job that
 * queue_ctl_list.c carries on as the client reads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "queue_ctl.h"
#include "queue_ctl_int.h"
#include "queue_ctl_status.h"
#include "queue_sched.h"
#include "spool_state.h"

struct ctl_verb {
	const char *name;
	int takes_id;
	void (*run)(struct ctl_out *o, const struct ctl_request *r);
};

/* The request being answered: its spool, who asks, and where a list or show goes on. */
static struct spool *ctl_spool;
static int64_t ctl_only_uid = -1;
static struct ctl_job *ctl_job_now;

/* The status line of a refusal; TEXT is one line. */
void queue_ctl_err(struct ctl_out *o, int code, const char *text)
{
	queue_ctl_printf(o, "err %d ", code);
	queue_ctl_put_text(o, text);
	queue_ctl_put(o, "\n", 1);
}

/* An action's result: a line of text, or {"id":ID,"result":WHAT}. */
static void ctl_done(struct ctl_out *o, const struct ctl_request *r, const char *what, const char *text)
{
	struct json j;

	queue_ctl_put(o, "ok\n", 3);
	if (!r->json) {
		queue_ctl_printf(o, "%s: %s\n", r->id, text);
		return;
	}
	json_init(&j, queue_ctl_json_sink, o);
	json_object_begin(&j);
	json_key(&j, "id");
	json_string(&j, r->id);
	json_key(&j, "result");
	json_string(&j, what);
	json_object_end(&j);
	(void)json_finish(&j);
	queue_ctl_put(o, "\n", 1);
}

/* Finds the message for delete, hold, release; answers the refusal itself. Returns 1 if found. */
static int ctl_find(struct ctl_out *o, const struct ctl_request *r, enum spool_where *where, int may_be_active)
{
	const char *active = queue_sched_active();
	char text[96];
	int rc = spool_locate(ctl_spool, r->id, where);

	if (rc < 0) {
		snprintf(text, sizeof(text), "%s: cannot look up the message: %s", r->id, strerror(errno));
		queue_ctl_err(o, EX_IOERR, text);
		return 0;
	}
	if (rc == 0) {
		snprintf(text, sizeof(text), "no message %s in the queue", r->id);
		queue_ctl_err(o, EX_NOUSER, text);
		return 0;
	}
	if (!may_be_active && active != NULL && strcmp(active, r->id) == 0) {
		snprintf(text, sizeof(text), "%s is being delivered now; try again", r->id);
		queue_ctl_err(o, EX_TEMPFAIL, text);
		return 0;
	}
	return 1;
}

/* A spool step failed after the message was found. */
static void ctl_failed(struct ctl_out *o, const struct ctl_request *r, const char *what)
{
	char text[128];

	log_err("%s: cannot %s: %s", r->id, what, strerror(errno));
	snprintf(text, sizeof(text), "%s: cannot %s: %s", r->id, what, strerror(errno));
	queue_ctl_err(o, EX_IOERR, text);
}

static void ctl_run_delete(struct ctl_out *o, const struct ctl_request *r)
{
	enum spool_where where;

	if (!ctl_find(o, r, &where, 0)) {
		return;
	}
	if (spool_delete(ctl_spool, r->id, where) < 0) {
		ctl_failed(o, r, "delete");
		return;
	}
	log_info("%s: removed (deleted by the operator)", r->id);
	ctl_done(o, r, "deleted", "deleted");
}

static void ctl_run_hold(struct ctl_out *o, const struct ctl_request *r)
{
	enum spool_where where;

	if (!ctl_find(o, r, &where, 0)) {
		return;
	}
	if (where != SPOOL_IN_HOLD && spool_hold(ctl_spool, r->id, where) < 0) {
		ctl_failed(o, r, "put on hold");
		return;
	}
	if (where != SPOOL_IN_HOLD) {
		log_info("%s: placed on hold by the operator", r->id);
	}
	ctl_done(o, r, "held", where == SPOOL_IN_HOLD ? "already on hold" : "placed on hold");
}

static void ctl_run_release(struct ctl_out *o, const struct ctl_request *r)
{
	enum spool_where where;
	char text[64];

	if (!ctl_find(o, r, &where, 1)) {
		return;
	}
	if (where != SPOOL_IN_HOLD) {
		snprintf(text, sizeof(text), "%s is not on hold", r->id);
		queue_ctl_err(o, EX_NOUSER, text);
		return;
	}
	if (spool_release(ctl_spool, r->id) < 0) {
		ctl_failed(o, r, "release");
		return;
	}
	log_info("%s: released from hold by the operator", r->id);
	queue_sched_dirty();
	ctl_done(o, r, "released", "released");
}

static void ctl_run_flush(struct ctl_out *o, const struct ctl_request *r)
{
	unsigned n = queue_sched_flush();
	struct json j;

	queue_ctl_put(o, "ok\n", 3);
	if (!r->json) {
		queue_ctl_printf(o, "flush: %u deferred message%s due now\n", n, n == 1 ? "" : "s");
		return;
	}
	json_init(&j, queue_ctl_json_sink, o);
	json_object_begin(&j);
	json_key(&j, "result");
	json_string(&j, "flushed");
	json_key(&j, "count");
	json_uint(&j, n);
	json_object_end(&j);
	(void)json_finish(&j);
	queue_ctl_put(o, "\n", 1);
}

static void ctl_run_list(struct ctl_out *o, const struct ctl_request *r)
{
	queue_ctl_list_start(ctl_job_now, ctl_spool, o, r->json, ctl_only_uid);
}

static void ctl_run_status(struct ctl_out *o, const struct ctl_request *r)
{
	queue_ctl_status_answer(o, r->json);
}

static void ctl_run_show(struct ctl_out *o, const struct ctl_request *r)
{
	char text[128];
	int code = queue_ctl_list_show(ctl_job_now, ctl_spool, o, r->id, r->json, text, sizeof(text));

	if (code != 0) {
		queue_ctl_err(o, code, text);
	}
}

static const struct ctl_verb ctl_verbs[] = {
	{ "list", 0, ctl_run_list },     { "show", 1, ctl_run_show }, { "flush", 0, ctl_run_flush },
	{ "delete", 1, ctl_run_delete }, { "hold", 1, ctl_run_hold }, { "release", 1, ctl_run_release },
	{ "status", 0, ctl_run_status },
};

static const struct ctl_verb *ctl_parse(char *line, struct ctl_request *r, const char **err)
{
	char *words[4];
	unsigned n = 0, want;
	const struct ctl_verb *v = NULL;

	memset(r, 0, sizeof(*r));
	for (char *p = line; n < 4;) {
		char *sp = strchr(p, ' ');

		words[n++] = p;
		if (sp == NULL) {
			break;
		}
		*sp = '\0';
		p = sp + 1;
	}
	for (size_t i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++) {
		if (strcmp(words[0], ctl_verbs[i].name) == 0) {
			v = &ctl_verbs[i];
		}
	}
	if (v == NULL) {
		*err =
		    "unknown request (list, show ID, flush, delete ID, hold ID, release ID, status; optionally json)";
		return NULL;
	}
	want = 1 + (unsigned)v->takes_id;
	r->json = n == want + 1 && strcmp(words[want], "json") == 0;
	if (n != want + (unsigned)r->json) {
		*err = v->takes_id ? "malformed request: expected VERB ID [json]"
				   : "malformed request: expected VERB [json]";
		return NULL;
	}
	if (v->takes_id && !spool_is_id(words[1])) {
		*err = "malformed queue id (16 lowercase hex digits)";
		return NULL;
	}
	r->verb = v->name;
	r->id = v->takes_id ? words[1] : NULL;
	return v;
}

int queue_ctl_cmd_parse(char *line, struct ctl_request *r, const char **err)
{
	return ctl_parse(line, r, err) != NULL ? 0 : -1;
}

/* Answers one complete request line (without its "\n"). */
const char *queue_ctl_cmd_answer(struct spool *sp, char *line, int64_t only_uid, struct ctl_out *o, struct ctl_job *job)
{
	struct ctl_request r;
	const char *err = NULL;
	const struct ctl_verb *v;
	size_t len = strlen(line);

	if (len > 0 && line[len - 1] == '\r') {
		line[len - 1] = '\0';
	}
	ctl_spool = sp;
	ctl_only_uid = only_uid;
	ctl_job_now = job;
	job->kind = CTL_JOB_NONE;
	v = ctl_parse(line, &r, &err);
	if (v == NULL) {
		queue_ctl_err(o, EX_USAGE, err);
	} else if (only_uid >= 0 && v->run != ctl_run_list) {
		queue_ctl_err(o, EX_NOPERM, "only root may do that; others may list their own messages");
	} else {
		v->run(o, &r);
	}
	ctl_only_uid = -1;
	ctl_job_now = NULL;
	return v != NULL ? v->name : "?";
}
