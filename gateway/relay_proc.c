/*
 * relay_proc.c - the relay process: one job at a time from the queue (an id
 * and a read-only fd), one SMTP transaction per job over a connection that
 * is kept for CONFIG_RELAY_IDLE_SECONDS, and a result per recipient. The
 * process that holds the smarthost credentials (the keeper) runs the work
 * in a child (the worker) and restarts it when it dies.
 */
#include "relay_proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "alloc.h"
#include "clock.h"
#include "conf_change.h"
#include "fdmap.h"
#include "log.h"
#include "proto.h"
#include "relay_smtp.h"
#include "secret.h"
#include "spool_env.h"

struct relay_job {
	char id[SPOOL_ID_LEN + 1];
	int fd;
	struct spool_env env;
	uint64_t size;
	unsigned accepted[CONFIG_MAX_RECIPIENTS]; /* envelope indexes the smarthost took at RCPT */
	unsigned naccepted;
	int decided[CONFIG_MAX_RECIPIENTS]; /* a result was sent for this index */
};

static struct conf relay_conf_store; /* the keeper's copy: a reload replaces it, the next worker inherits it */
static struct tls_client_trust relay_trust_store;
static const struct conf *relay_conf = &relay_conf_store;
static const struct tls_client_trust *relay_trust = &relay_trust_store;
static struct relay_credentials relay_cred;
static int relay_reload_fd = -1;
static struct relay_link relay_link;
static struct relay_job relay_job;
static int relay_queue_fd;

static void relay_result(unsigned index, enum proto_r_outcome outcome, const char *status, const char *reply)
{
	struct proto_r_rcpt r;
	static const char *const names[] = { "sent", "deferred", "bounced" };
	const struct spool_env *e = &relay_job.env;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", relay_job.id);
	r.index = index;
	r.outcome = outcome;
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.reply, sizeof(r.reply), "%s", reply);
	relay_job.decided[index] = 1;
	log_info("%s: to=<%s>, relay=%s, delay=%llds, tls=%s, status=%s (%s)", relay_job.id, e->rcpt[index].addr,
		 relay_link.peer[0] ? relay_link.peer : relay_conf->smarthost_host,
		 (long long)(time(NULL) - e->arrival), relay_link.tls ? relay_link.tls_info : "none", names[outcome],
		 reply);
	if (ipc_send(relay_queue_fd, PROTO_R_RCPT, &r, sizeof(r), -1) < 0) {
		fatal(71, "relay: queue channel lost: %s", strerror(errno));
	}
}

/* Maps a reply to an outcome and reports it for one recipient. */
static void relay_result_reply(unsigned index, const struct smtp_reply *r)
{
	char text[sizeof(((struct proto_r_rcpt *)0)->reply)];
	const char *status = r->enhanced[0] ? r->enhanced : SMTP_REPLY_CLASS(r->code) == 5 ? "5.0.0" : "4.0.0";
	int n = snprintf(text, sizeof(text), "%d %s%s%s", r->code, r->enhanced, r->enhanced[0] ? " " : "", r->text);

	if (n < 0 || (size_t)n >= sizeof(text) || strlen(r->text) + 1 >= sizeof(r->text)) {
		memcpy(text + sizeof(text) - 4, "...", 4); /* cut here or by the reply parser: say so */
	}
	relay_result(index,
		     SMTP_REPLY_CLASS(r->code) == 2   ? PROTO_R_DELIVERED
		     : SMTP_REPLY_CLASS(r->code) == 5 ? PROTO_R_BOUNCED
						      : PROTO_R_DEFERRED,
		     status, text);
}

/* Every recipient without a result yet is deferred with `why`. */
static void relay_defer_rest(const char *why)
{
	for (unsigned i = 0; i < relay_job.env.nrcpt; i++) {
		if (relay_job.env.rcpt[i].state == 'P' && !relay_job.decided[i]) {
			relay_result(i, PROTO_R_DEFERRED, "4.4.1", why);
		}
	}
}

static void relay_done(int pause)
{
	struct proto_r_done d;

	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "%s", relay_job.id);
	d.pause = (uint32_t)pause;
	if (ipc_send(relay_queue_fd, PROTO_R_DONE, &d, sizeof(d), -1) < 0) {
		fatal(71, "relay: queue channel lost: %s", strerror(errno));
	}
}

/* 1 if the smarthost already said something on an idle connection: a 421, or its close. */
static int relay_link_went_away(void)
{
	struct pollfd p = { .fd = relay_link.conn.fd, .events = POLLIN };

	return conn_buffered(&relay_link.conn) > 0 || poll(&p, 1, 0) != 0;
}

static int relay_ensure_open(void)
{
	if (relay_link.open && !relay_link.conn.failed && !relay_link_went_away()) {
		return 0;
	}
	if (relay_link.open && !relay_link.conn.failed) {
		log_info("relay: %s closed the idle connection; reconnecting", relay_link.peer);
		relay_link.conn.failed = 1; /* no QUIT into a closed connection */
	}
	relay_smtp_close(&relay_link);
	if (relay_smtp_open(&relay_link, relay_conf, relay_trust, &relay_cred) < 0) {
		log_warn("relay: %s%s", relay_link.error,
			 relay_link.basic_auth_disabled ? RELAY_SMTP_BASIC_AUTH_HINT : "");
		return -1;
	}
	log_info("relay: connected to %s (%s)%s", relay_link.peer, relay_link.tls ? relay_link.tls_info : "no TLS",
		 relay_cred.set ? ", logged in" : "");
	return 0;
}

/* The address a local-only sender is rewritten to (masquerade lines), or NULL. */
static const char *relay_masquerade_target(const char *sender)
{
	for (unsigned i = 0; sender[0] != '\0' && i < relay_conf->nmasquerade; i++) {
		if (addr_matches_spec(sender, relay_conf->masquerade[i].pattern)) {
			return relay_conf->masquerade[i].target;
		}
	}
	return NULL;
}

/* A RCPT reply: accepted recipients wait for DATA, the others are decided now. */
static void relay_rcpt_reply(unsigned index, const struct smtp_reply *r)
{
	if (SMTP_REPLY_CLASS(r->code) == 2) {
		relay_job.accepted[relay_job.naccepted++] = index;
	} else {
		relay_result_reply(index, r);
	}
}

/* The reply after the end of data (or a refused DATA) decides every accepted recipient. */
static void relay_accepted_result(const struct smtp_reply *r)
{
	for (unsigned i = 0; i < relay_job.naccepted; i++) {
		relay_result_reply(relay_job.accepted[i], r);
	}
}

/* Reads the MAIL, RCPT and DATA replies of a pipelined batch. Returns 1 if the body may follow, 0 if not, -1. */
static int relay_read_pipelined(void)
{
	const struct spool_env *e = &relay_job.env;
	struct smtp_reply mail, r;

	if (relay_smtp_reply(&relay_link, relay_conf, &mail) < 0) {
		return -1;
	}
	for (unsigned i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].state != 'P') {
			continue;
		}
		if (relay_smtp_reply(&relay_link, relay_conf, &r) < 0) {
			return -1;
		}
		if (SMTP_REPLY_CLASS(mail.code) != 2) {
			relay_result_reply(i, &mail); /* the sender was refused: that is every recipient's fate */
		} else {
			relay_rcpt_reply(i, &r);
		}
	}
	if (relay_smtp_reply(&relay_link, relay_conf, &r) < 0) {
		return -1;
	}
	if (r.code == 354 && relay_job.naccepted == 0) { /* a server that says go ahead anyway: end it empty */
		return relay_smtp_command(&relay_link, 0, ".") < 0 || relay_smtp_reply(&relay_link, relay_conf, &r) < 0
			   ? -1
			   : 0;
	}
	if (r.code != 354) {
		relay_accepted_result(&r);
		return 0;
	}
	return 1;
}

/*
 * MAIL, every pending RCPT and DATA: in one batch when the smarthost offers
 * PIPELINING (RFC 2920), else one command per reply. Returns 1 when the
 * server waits for the body (354), 0 when there is nothing to send, -1 when
 * the connection failed.
 */
static int relay_envelope(int pipe)
{
	const struct spool_env *e = &relay_job.env;
	struct smtp_reply r;
	char size[32] = "";

	if (relay_link.ehlo.has_size) {
		snprintf(size, sizeof(size), " SIZE=%llu", (unsigned long long)relay_job.size);
	}
	const char *masq = relay_masquerade_target(e->sender);

	if (relay_smtp_command(&relay_link, pipe, "MAIL FROM:<%s>%s", masq ? masq : e->sender, size) < 0 ||
	    (!pipe && relay_smtp_reply(&relay_link, relay_conf, &r) < 0)) {
		return -1;
	}
	for (unsigned i = 0; !pipe && SMTP_REPLY_CLASS(r.code) != 2 && i < e->nrcpt; i++) {
		if (e->rcpt[i].state == 'P') {
			relay_result_reply(i, &r);
		}
	}
	if (!pipe && SMTP_REPLY_CLASS(r.code) != 2) {
		return 0;
	}
	for (unsigned i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].state != 'P') {
			continue;
		}
		if (relay_smtp_command(&relay_link, pipe, "RCPT TO:<%s>", e->rcpt[i].addr) < 0 ||
		    (!pipe && relay_smtp_reply(&relay_link, relay_conf, &r) < 0)) {
			return -1;
		}
		if (!pipe) {
			relay_rcpt_reply(i, &r);
		}
	}
	if (pipe) {
		return relay_smtp_command(&relay_link, 0, "DATA") < 0 ? -1 : relay_read_pipelined();
	}
	if (relay_job.naccepted == 0) {
		return 0;
	}
	if (relay_smtp_command(&relay_link, 0, "DATA") < 0 || relay_smtp_reply(&relay_link, relay_conf, &r) < 0) {
		return -1;
	}
	if (r.code != 354) {
		relay_accepted_result(&r);
		return 0;
	}
	return 1;
}

/* One SMTP transaction for the job. Returns 0 when the connection is still usable, -1 when not. */
static int relay_transaction(void)
{
	struct smtp_reply r;
	int pipe = relay_link.ehlo.pipelining, rc;

	if (relay_link.ehlo.has_size && relay_link.ehlo.size > 0 && relay_job.size > relay_link.ehlo.size) {
		char why[160];

		snprintf(why, sizeof(why), "message size %llu exceeds the smarthost's limit of %llu bytes",
			 (unsigned long long)relay_job.size, (unsigned long long)relay_link.ehlo.size);
		for (unsigned i = 0; i < relay_job.env.nrcpt; i++) {
			if (relay_job.env.rcpt[i].state == 'P') {
				relay_result(i, PROTO_R_BOUNCED, "5.3.4", why);
			}
		}
		return 0;
	}
	rc = relay_envelope(pipe);
	if (rc < 0) {
		return -1;
	}
	if (rc == 1) {
		const char *masq = relay_masquerade_target(relay_job.env.sender);

		if (relay_smtp_body(&relay_link, relay_job.fd, relay_job.env.body_offset,
				    masq ? relay_job.env.sender : NULL, masq) < 0 ||
		    relay_smtp_reply(&relay_link, relay_conf, &r) < 0) {
			return -1;
		}
		relay_accepted_result(&r);
	}
	/* a transaction that did not end with a delivery is reset before the next one */
	if (rc != 1 &&
	    (relay_smtp_command(&relay_link, 0, "RSET") < 0 || relay_smtp_reply(&relay_link, relay_conf, &r) < 0)) {
		return -1;
	}
	return 0;
}

/* Delivers one job and reports every pending recipient. */
static void relay_deliver(void)
{
	struct spool_env *e = &relay_job.env;
	static char head[SPOOL_ENV_MAX];
	ssize_t n = pread(relay_job.fd, head, sizeof(head), 0);
	off_t end = lseek(relay_job.fd, 0, SEEK_END);

	if (n <= 0 || spool_env_parse(e, head, (size_t)n) < 0) {
		log_err("%s: relay: cannot read the spool file", relay_job.id);
		relay_done(0);
		return;
	}
	relay_job.size = end > (off_t)e->body_offset ? (uint64_t)(end - (off_t)e->body_offset) : 0;
	if (relay_ensure_open() < 0) {
		relay_defer_rest(relay_link.error);
		relay_done(relay_link.auth_refused);
		relay_smtp_close(&relay_link);
		return;
	}
	if (relay_transaction() < 0) {
		log_warn("%s: relay: %s", relay_job.id, relay_link.error);
		relay_defer_rest(relay_link.error);
		relay_smtp_close(&relay_link);
	}
	relay_link.last_used_ms = clock_now_ms();
	relay_done(0);
}

static int relay_job_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	memset(&relay_job, 0, sizeof(relay_job));
	memcpy(relay_job.id, ((const struct proto_r_job *)f->payload)->id, sizeof(relay_job.id));
	relay_job.fd = fd;
	relay_deliver();
	close(fd);
	return 0;
}

static const struct proto_row relay_queue_rows[] = {
	{ .type = PROTO_R_JOB,
	  PROTO_SIZE(struct proto_r_job),
	  .fd = PROTO_FD_ONE,
	  .strings = { PROTO_STR(struct proto_r_job, id) },
	  .handler = relay_job_frame },
};

/* The queue's jobs (the relay worker). A refused frame is skipped. */
const struct proto_table relay_proc_queue_frames = PROTO_TABLE("relay: from the queue", "skipped", relay_queue_rows);

static void relay_take_job(void)
{
	static struct ipc_frame f;
	int rc = proto_recv(relay_queue_fd, &relay_proc_queue_frames, NULL, &f, NULL);

	if (rc == 0 || (rc < 0 && errno != EPROTO && errno != EAGAIN)) { /* a refused frame is skipped */
		log_info("relay: queue channel closed, exiting");
		relay_smtp_close(&relay_link);
		secret_wipe(&relay_cred, sizeof(relay_cred));
		exit(0);
	}
}

/* Waits for a job; closes an idle smarthost connection on time. */
static void relay_wait(void)
{
	struct pollfd p = { .fd = relay_queue_fd, .events = POLLIN };
	int timeout = -1;

	if (relay_link.open) {
		int64_t left = relay_link.last_used_ms + (int64_t)CONFIG_RELAY_IDLE_SECONDS * 1000 - clock_now_ms();

		timeout = left > 0 ? (int)left : 0;
	}
	int rc = poll(&p, 1, timeout);
	if (rc == 0 && relay_link.open) {
		log_info("relay: closing idle connection to %s", relay_link.peer);
		relay_smtp_close(&relay_link);
	} else if (rc > 0) {
		relay_take_job();
	} else if (rc < 0 && errno != EINTR) {
		fatal(71, "relay: poll: %s", strerror(errno));
	}
}

/* The worker: serves jobs on its queue channel until it closes. */
static void __attribute__((noreturn)) relay_serve(const struct jail *j, int queue_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	jail_enter(j, SANDBOX_RELAY);
	relay_queue_fd = queue_fd;
	alloc_freeze("relay");
	for (;;) {
		relay_wait();
	}
}

/* Starts a worker and gives the queue (through the master) its channel. Returns its pid. */
static pid_t relay_start_worker(const struct jail *j, int master_fd)
{
	int pair[2];
	pid_t pid;

	if (ipc_pair(pair) < 0 || (pid = fork()) < 0) {
		fatal(71, "relay: cannot start a worker: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pair[0]);
		close(master_fd);
		close(relay_reload_fd); /* settings reach the worker through the keeper's memory, at its start */
		relay_serve(j, pair[1]);
	}
	close(pair[1]);
	if (ipc_send(master_fd, PROTO_RELAY_CHANNEL, NULL, 0, pair[0]) < 0) {
		fatal(71, "relay: the master is gone: %s", strerror(errno));
	}
	close(pair[0]);
	return pid;
}

static void relay_log_smarthost(const struct conf *c)
{
	log_info("relay: smarthost %s%s%s:%u (%s)", c->smarthost_bracketed ? "[" : "", c->smarthost_host,
		 c->smarthost_bracketed ? "]" : "", (unsigned)c->smarthost_port,
		 c->smarthost_tls == CONF_SMARTHOST_TLS        ? "implicit TLS"
		 : c->smarthost_tls == CONF_SMARTHOST_STARTTLS ? "STARTTLS"
							       : "plaintext, loopback");
}

/*
 * SIGHUP: the handed-over configuration, secret and CA replace the keeper's.
 * When the relay's own settings changed, the worker is stopped so that a new
 * one starts with them (a message it was sending is tried again, as after any
 * lost connection); otherwise it keeps running and its connection stays open.
 * Returns 1 when the worker must be restarted.
 */
static int relay_reload_apply(void)
{
	static struct conf next;
	static struct tls_client_trust trust;
	static struct relay_credentials cred;
	char err[CONF_PATH_MAX + 96];
	int same;

	if (conf_load(&next, relay_conf_store.file) < 0) {
		log_err("relay: reload: %s", next.first_error);
		return 0;
	}
	conf_change_keep_start_keys(&next, &relay_conf_store);
	memset(&trust, 0, sizeof(trust));
	trust.clock_floor = relay_trust_store.clock_floor;
	if (next.smarthost_has_pin) {
		tls_client_set_pin(&trust, next.smarthost_pin);
	} else if (next.smarthost_tls != CONF_SMARTHOST_NONE &&
		   tls_client_load_ca(&trust, next.smarthost_ca, err, sizeof(err)) < 0) {
		log_err("relay: reload: %s; keeping the previous settings", err);
		return 0;
	}
	if (next.smarthost_auth[0] != '\0' && relay_smtp_load_credentials(next.smarthost_auth, &cred) < 0) {
		tls_client_free_ca(&trust);
		log_err("relay: reload: keeping the previous settings");
		return 0;
	}
	same = conf_change_relay_equal(&next, &relay_conf_store) &&
	       tls_client_trust_equal(&trust, &relay_trust_store) && memcmp(&cred, &relay_cred, sizeof(cred)) == 0;
	tls_client_free_ca(&relay_trust_store);
	relay_trust_store = trust;
	secret_wipe(&relay_cred, sizeof(relay_cred));
	relay_cred = cred;
	secret_wipe(&cred, sizeof(cred));
	relay_conf_store = next;
	if (same) {
		log_info("relay: reload: the relay's settings are unchanged; the relay process keeps running");
		return 0;
	}
	relay_log_smarthost(relay_conf);
	return 1;
}

static int relay_reload_file_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)ctx;
	fdmap_add(((const struct proto_reload_file *)f->payload)->path, fd);
	return 0;
}

/* ctx: where to say whether the worker must be restarted. */
static int relay_reload_apply_frame(void *ctx, struct ipc_frame *f, int fd)
{
	(void)f;
	(void)fd;
	*(int *)ctx = relay_reload_apply();
	fdmap_clear();
	return 0;
}

static const struct proto_row relay_reload_rows[] = {
	PROTO_RELOAD_FILE_ROW(relay_reload_file_frame),
	PROTO_RELOAD_APPLY_ROW(relay_reload_apply_frame),
};

/* SIGHUP (the relay keeper): config, secret and CA files, then the go. A refused frame is skipped. */
const struct proto_table relay_proc_reload_frames =
    PROTO_TABLE("relay: from the reload process", NULL, relay_reload_rows);

/* A frame from the reload process. Returns 1 when the worker must be restarted. */
static int relay_reload_frame(int *reload_fd)
{
	static struct ipc_frame f;
	int restart = 0;

	if (proto_recv(*reload_fd, &relay_proc_reload_frames, NULL, &f, &restart) == 0) {
		/* the master sees the reload process die and stops the daemon; stop watching */
		close(*reload_fd);
		*reload_fd = -1;
	}
	return restart;
}

/*
 * Waits for the worker to exit, serving reloads meanwhile. Returns its wait status.
 * The master closing its channel means it is stopping: its kill(2) and parent-death
 * signal cannot reach a keeper of another uid (CONFIG_SANDBOX_SEPARATE_UIDS). The
 * worker follows by its own parent-death signal.
 */
static int relay_supervise(pid_t pid, const sigset_t *wait_mask, int master_fd)
{
	struct pollfd p[2] = { { .fd = -1, .events = POLLIN }, { .fd = master_fd, .events = 0 } }; /* 0: hangup only */
	int status = 0;

	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid) {
			return status;
		}
		/* SIGCHLD is blocked except inside ppoll: a worker's exit cannot slip between the two */
		p[0].fd = relay_reload_fd;
		if (ppoll(p, 2, NULL, wait_mask) <= 0) {
			continue;
		}
		if (p[1].revents & (POLLHUP | POLLERR)) {
			log_info("relay: master gone, exiting");
			exit(0);
		}
		if ((p[0].revents & (POLLIN | POLLHUP)) && relay_reload_frame(&relay_reload_fd)) {
			log_info("relay: restarting the relay process (pid %d) with the new settings", (int)pid);
			kill(pid, SIGTERM);
		}
	}
}

static void relay_on_child(int signo)
{
	(void)signo; /* only wakes ppoll */
}

void relay_proc_main(const struct conf *c, const struct tls_client_trust *trust, const struct jail *j, int master_fd,
		     int reload_fd)
{
	struct sigaction sa;
	sigset_t block, wait_mask;

	relay_conf_store = *c;
	relay_trust_store = *trust;
	relay_reload_fd = reload_fd;
	if (c->smarthost_auth[0] != '\0' && relay_smtp_load_credentials(c->smarthost_auth, &relay_cred) < 0) {
		log_err("relay: delivering without logging in to the smarthost");
	}
	relay_log_smarthost(c);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relay_on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGCHLD);
	jail_enter(j, SANDBOX_RELAY_KEEPER);
	alloc_freeze("relay keeper");
	for (;;) {
		time_t started = time(NULL);
		pid_t pid = relay_start_worker(j, master_fd);
		int status;

		log_info("relay process started (pid %d)", (int)pid);
		status = relay_supervise(pid, &wait_mask, master_fd);
		log_err("relay process (pid %d) exited (%s %d); restarting it", (int)pid,
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (time(NULL) - started < 2) {
			sleep(1); /* a worker that dies at once must not spin */
		}
	}
}
