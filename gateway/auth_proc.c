/*
 * auth_proc.c - the `auth` process: request loop and credential checks.
 * Sessions reach it only through the socket the master handed over for
 * them; a session learns nothing but the verdict (and its senders).
 */
#include "auth_proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "auth_cache.h"
#include "auth_fail.h"
#include "base64.h"
#include "fdmap.h"
#include "log.h"
#include "proto.h"
#include "secret.h"
#include "service.h"
#include "tls_key.h"
#include "userdb.h"

struct auth_slot {
	struct scram_server scram;
	const char *sid;
	int fd;
	int scram_known_user;
	char client[PROTO_ADDR_STR];
	char fail_key[AUTH_FAIL_KEY_MAX]; /* the client's address (IPv6: prefix) for failure counting */
};

static struct service auth_service;
static struct auth_slot auth_slots[CONFIG_MAX_SESSIONS];
static struct userdb auth_db = { .fd = -1 };
static struct stat auth_db_stat;
static const char *auth_db_path; /* as the jailed process sees it */
static const char *auth_db_name; /* as the operator knows it, for logs */
/*
 * Fake SCRAM salts for unknown users: from users.cdb's fake-salt record, or,
 * for a database written before it existed, a per-start key.
 */
static struct userdb_fake auth_fake;
static unsigned char auth_fake_fallback[USERDB_FAKE_SECRET_LEN];
static struct ipc_frame auth_in;
static struct proto_auth_result auth_out;
/*
 * The TLS key of the current reload generation, and of the one before: a
 * session forked before a SIGHUP holds the old certificate and must get
 * signatures from the old key.
 */
static struct tls_key auth_tls_keys[2];
static uint32_t auth_key_generation;
static char auth_key_path[CONF_PATH_MAX];
static struct ipc_frame auth_reload_in;
static int auth_queue_fd = -1; /* tells the queue who logged in (proto.h PROTO_AUTH_LOGIN) */

/* Fake salts from the per-start key, with the build's parameters. */
static void auth_fake_per_start(void)
{
	memcpy(auth_fake.secret, auth_fake_fallback, sizeof(auth_fake.secret));
	auth_fake.iterations = CONFIG_AUTH_PBKDF2_ITERATIONS;
	auth_fake.salt_len = CONFIG_AUTH_SALT_LEN;
}

/* The fake-salt parameters of the database just opened (userdb_fake.h). */
static void auth_fake_load(void)
{
	int rc = userdb_fake_lookup(&auth_db, &auth_fake);

	if (rc == 1) {
		return;
	}
	if (rc < 0) {
		log_err("auth: corrupt fake-salt record in %s", auth_db_name);
	} else {
		log_info("auth: %s has no fake-salt record (written by an older subgate): the SCRAM salt of an "
			 "unknown user changes at each start until `subgate user` next changes the database",
			 auth_db_name);
	}
	auth_fake_per_start();
}

/* Reopens users.cdb when `subgate user` replaced it. Returns 0 or -1. */
static int auth_db_refresh(void)
{
	struct stat st;

	if (stat(auth_db_path, &st) < 0) {
		log_err("auth: cannot stat %s: %s", auth_db_name, strerror(errno));
		return auth_db.fd >= 0 ? 0 : -1;
	}
	if (auth_db.fd >= 0 && st.st_ino == auth_db_stat.st_ino && st.st_mtime == auth_db_stat.st_mtime &&
	    st.st_size == auth_db_stat.st_size) {
		return 0;
	}
	userdb_close(&auth_db);
	if (userdb_open(&auth_db, auth_db_path) < 0) {
		log_err("auth: cannot open %s: %s", auth_db_name, userdb_strerror(errno));
		return -1;
	}
	auth_db_stat = st;
	log_info("auth: user database %s loaded", auth_db_name);
	auth_fake_load();
	return 0;
}

/* Looks a user up; 1 found, 0 unknown, -1 database trouble. */
static int auth_lookup(const char *user, struct userdb_entry *e)
{
	if (auth_db_refresh() < 0) {
		return -1;
	}
	int rc = userdb_lookup(&auth_db, user, e);
	if (rc < 0) {
		log_err("auth: corrupt record for user %s in %s", user, auth_db_name);
	}
	return rc;
}

static void auth_reply(struct auth_slot *s, enum proto_auth_status status)
{
	auth_out.status = status;
	if (ipc_send(s->fd, PROTO_AUTH_RESULT, &auth_out, sizeof(auth_out), -1) < 0) {
		log_warn("auth: session %s: cannot reply: %s", s->sid, strerror(errno));
	}
	secret_wipe(&auth_out, sizeof(auth_out));
}

/* Tells the queue first: when the session hears of the login, the queue has heard already. */
static void auth_tell_queue(const struct auth_slot *s, const char *user, const struct userdb_entry *e)
{
	static struct proto_auth_login login;

	memset(&login, 0, sizeof(login));
	login.slot = (uint32_t)(s - auth_slots);
	snprintf(login.session_id, sizeof(login.session_id), "%s", s->sid);
	snprintf(login.user, sizeof(login.user), "%s", user);
	login.nsenders = e->nsenders;
	memcpy(login.senders, e->senders, sizeof(login.senders));
	if (ipc_send(auth_queue_fd, PROTO_AUTH_LOGIN, &login, sizeof(login), -1) < 0) {
		/* the queue will refuse this session's mail (451): closed, not open */
		log_err("auth: session %s: cannot tell the queue about the login: %s", s->sid, strerror(errno));
	}
}

static void auth_success(struct auth_slot *s, const char *user, const struct userdb_entry *e)
{
	auth_fail_success(user);
	auth_tell_queue(s, user, e);
	snprintf(auth_out.user, sizeof(auth_out.user), "%s", user);
	auth_out.nsenders = e->nsenders;
	memcpy(auth_out.senders, e->senders, sizeof(auth_out.senders));
	auth_reply(s, PROTO_AUTH_OK);
}

static void auth_failure(struct auth_slot *s, const char *user, const char *mech)
{
	unsigned n = auth_fail_record(s->fail_key, user, time(NULL));

	char safe_user[CONFIG_USERNAME_MAX + 1], safe_mech[16];

	log_printable(user, safe_user, sizeof(safe_user));
	log_printable(mech, safe_mech, sizeof(safe_mech));
	log_warn("%s: client=[%s], sasl_method=%s, sasl_username=%s: authentication failed (%u from this address)",
		 s->sid, s->client, safe_mech, safe_user, n);
	auth_reply(s, PROTO_AUTH_FAILED);
}

/* A login refused before any check: the address is shut out (421), or unknown while every tracked one is (454). */
static void auth_throttled(struct auth_slot *s, enum auth_fail_verdict verdict)
{
	static time_t last_logged;

	if (verdict == AUTH_FAIL_FULL && time(NULL) != last_logged) { /* at most one line a second */
		last_logged = time(NULL);
		log_warn("%s: client=[%s]: every tracked address is shut out for failed logins; "
			 "refusing AUTH from a new one for now",
			 s->sid, s->client);
	}
	auth_reply(s, verdict == AUTH_FAIL_FULL ? PROTO_AUTH_TEMPFAIL : PROTO_AUTH_THROTTLED);
}

/* Whether a login request may be checked at all; if not, the session has its answer. */
static int auth_allowed(struct auth_slot *s)
{
	enum auth_fail_verdict verdict = auth_fail_check(s->fail_key, time(NULL));

	if (verdict != AUTH_FAIL_ALLOW) {
		auth_throttled(s, verdict); /* no password is checked */
		return 0;
	}
	return 1;
}

static int auth_plain(void *ctx, struct ipc_frame *f, int fd)
{
	static struct userdb_entry e;
	static struct scram_credential dummy;
	struct auth_slot *s = ctx;
	struct proto_auth_plain *req = (struct proto_auth_plain *)f->payload;
	size_t len;
	int found;

	(void)fd;
	if (!auth_allowed(s)) {
		return 0;
	}
	len = strlen(req->password);
	found = auth_lookup(req->user, &e);
	if (found < 0) {
		auth_reply(s, PROTO_AUTH_TEMPFAIL);
	} else if (found == 0) {
		dummy.iterations = auth_fake.iterations; /* the same cost as a real check */
		dummy.salt_len = auth_fake.salt_len;
		scram_check_password(&dummy, req->password, len);
		auth_failure(s, req->user, req->mech);
	} else if (auth_cache_hit(req->user, &e.cred, req->password, len, time(NULL)) ||
		   scram_check_password(&e.cred, req->password, len)) {
		auth_cache_put(req->user, &e.cred, req->password, len, time(NULL));
		auth_success(s, req->user, &e);
	} else {
		auth_failure(s, req->user, req->mech);
	}
	secret_wipe(req, sizeof(*req));
	secret_wipe(&e, sizeof(e));
	return 0;
}

static int auth_scram_first(void *ctx, struct ipc_frame *f, int fd)
{
	static struct userdb_entry e;
	struct auth_slot *s = ctx;
	const struct proto_auth_scram *req = (const struct proto_auth_scram *)f->payload;
	unsigned char raw[24];
	char nonce[BASE64_ENCODED_SIZE(sizeof(raw))];
	int found;

	(void)fd;
	if (!auth_allowed(s)) {
		return 0;
	}
	if (scram_server_client_first(&s->scram, req->message, strlen(req->message)) < 0) {
		auth_reply(s, PROTO_AUTH_MALFORMED);
		return 0;
	}
	found = auth_lookup(s->scram.username, &e);
	if (found < 0) {
		auth_reply(s, PROTO_AUTH_TEMPFAIL);
		return 0;
	}
	s->scram_known_user = found;
	if (!found) {
		userdb_fake_credential(&auth_fake, s->scram.username, &e.cred);
	}
	secret_random(raw, sizeof(raw));
	base64_encode(raw, sizeof(raw), nonce, sizeof(nonce));
	if (scram_server_first(&s->scram, &e.cred, nonce, auth_out.server_message, sizeof(auth_out.server_message)) <
	    0) {
		auth_reply(s, PROTO_AUTH_MALFORMED);
	} else {
		auth_reply(s, PROTO_AUTH_CONTINUE);
	}
	secret_wipe(&e, sizeof(e));
	return 0;
}

static int auth_scram_final(void *ctx, struct ipc_frame *f, int fd)
{
	static struct userdb_entry e;
	struct auth_slot *s = ctx;
	const struct proto_auth_scram *req = (const struct proto_auth_scram *)f->payload;
	long rc;

	(void)fd;
	if (!auth_allowed(s)) {
		return 0;
	}
	rc = scram_server_client_final(&s->scram, req->message, strlen(req->message), auth_out.server_message,
				       sizeof(auth_out.server_message));
	if (rc < 0) {
		auth_reply(s, PROTO_AUTH_MALFORMED);
	} else if (rc == 0 || !s->scram_known_user || auth_lookup(s->scram.username, &e) != 1) {
		auth_failure(s, s->scram.username, "SCRAM-SHA-256");
	} else {
		auth_success(s, s->scram.username, &e);
	}
	scram_server_reset(&s->scram);
	secret_wipe(&e, sizeof(e));
	return 0;
}

/* A session's TLS handshake: sign its ServerKeyExchange hash. Never throttled. */
static int auth_tls_sign(void *ctx, struct ipc_frame *f, int fd)
{
	static struct proto_tls_signature sig;
	const struct auth_slot *s = ctx;
	const struct proto_tls_sign *req = (const struct proto_tls_sign *)f->payload;

	(void)fd;
	memset(&sig, 0, sizeof(sig));
	if (req->hv_len <= sizeof(req->hv) &&
	    (req->key_generation == auth_key_generation ||
	     (auth_key_generation > 0 && req->key_generation == auth_key_generation - 1))) {
		const struct tls_key *k = &auth_tls_keys[req->key_generation & 1];

		sig.len = (uint32_t)tls_key_sign(k, req->algo_id, req->hv, req->hv_len, sig.sig, sizeof(sig.sig));
	}
	if (sig.len == 0) {
		log_warn("auth: session %s: cannot sign a TLS handshake (algorithm 0x%04x, key generation %u of %u)",
			 s->sid, (unsigned)req->algo_id, (unsigned)req->key_generation, (unsigned)auth_key_generation);
	}
	if (ipc_send(s->fd, PROTO_TLS_SIGNATURE, &sig, sizeof(sig), -1) < 0) {
		log_warn("auth: session %s: cannot reply: %s", s->sid, strerror(errno));
	}
	return 0;
}

static const struct proto_row auth_session_rows[] = {
	{ .type = PROTO_TLS_SIGN, PROTO_SIZE(struct proto_tls_sign), .handler = auth_tls_sign },
	{ .type = PROTO_AUTH_PLAIN,
	  PROTO_SIZE(struct proto_auth_plain),
	  .strings = { PROTO_STR(struct proto_auth_plain, mech), PROTO_STR(struct proto_auth_plain, user),
		       PROTO_STR(struct proto_auth_plain, password) },
	  .handler = auth_plain },
	{ .type = PROTO_AUTH_SCRAM_FIRST,
	  PROTO_SIZE(struct proto_auth_scram),
	  .strings = { PROTO_STR(struct proto_auth_scram, message) },
	  .handler = auth_scram_first },
	{ .type = PROTO_AUTH_SCRAM_FINAL,
	  PROTO_SIZE(struct proto_auth_scram),
	  .strings = { PROTO_STR(struct proto_auth_scram, message) },
	  .handler = auth_scram_final },
};

/* A session's requests: the TLS signature, and logins (each checked against the failure count first). */
const struct proto_table auth_proc_session_frames = PROTO_TABLE("auth: session", "dropping it", auth_session_rows);

static void auth_request(unsigned slot)
{
	struct auth_slot *s = &auth_slots[slot];
	int rc;

	memset(&auth_out, 0, sizeof(auth_out));
	rc = proto_recv(s->fd, &auth_proc_session_frames, s->sid, &auth_in, s);
	if (rc <= 0) {
		if (rc < 0 && errno != EPROTO) {
			log_err("auth: session %s: refused a frame (%s); dropping it", s->sid, strerror(errno));
		}
		service_drop(&auth_service, slot);
	}
	secret_wipe(&auth_in, sizeof(auth_in));
}

static void auth_adopt(unsigned slot, const struct proto_new_session *ns)
{
	struct auth_slot *s = &auth_slots[slot];

	s->fd = auth_service.fds[slot];
	s->sid = auth_service.sids[slot];
	memcpy(s->client, ns->client, sizeof(s->client)); /* terminated: service.c's table */
	auth_fail_key(s->client, s->fail_key, sizeof(s->fail_key));
	scram_server_reset(&s->scram);
}

static void auth_drop(unsigned slot)
{
	scram_server_reset(&auth_slots[slot].scram);
}

/* The reload process's new key (SIGHUP): the next generation, then the answer. */
static int auth_reload_apply(void *ctx, struct ipc_frame *f, int fd)
{
	static struct tls_key next;
	struct proto_reload_apply answer;
	char err[CONF_PATH_MAX + 64] = "";

	(void)ctx;
	(void)f;
	(void)fd;
	memset(&answer, 0, sizeof(answer));
	answer.ok = tls_key_load(&next, auth_key_path, err, sizeof(err)) == 0;
	if (answer.ok) {
		struct tls_key *slot = &auth_tls_keys[(auth_key_generation + 1) & 1]; /* the generation before last */

		tls_key_move(slot, &next);
		auth_key_generation++;
		log_info("auth: TLS key %s loaded (generation %u)", auth_key_path, (unsigned)auth_key_generation);
	} else {
		snprintf(answer.message, sizeof(answer.message), "%.200s", err);
		log_err("auth: reload: %s; keeping the previous key", err);
	}
	tls_key_wipe(&next);
	fdmap_clear();
	unsigned locks = auth_fail_clear_all(time(NULL)); /* the operator's way to lift login locks */
	if (locks > 0) {
		log_info("auth: reload: %u login locks cleared", locks);
	}
	auth_db_stat.st_ino = 0; /* read users.cdb again too */
	auth_db_refresh();
	if (ipc_send(auth_service.extra_fd, PROTO_RELOAD_APPLY, &answer, sizeof(answer), -1) < 0) {
		log_err("auth: cannot answer the reload process: %s", strerror(errno));
	}
	return 0;
}

/* The new key's file (its path for the log and fdmap). */
static int auth_reload_file(void *ctx, struct ipc_frame *f, int fd)
{
	const struct proto_reload_file *file = (const struct proto_reload_file *)f->payload;

	(void)ctx;
	snprintf(auth_key_path, sizeof(auth_key_path), "%.*s", (int)sizeof(file->path) - 1, file->path);
	fdmap_add(auth_key_path, fd);
	return 0;
}

static const struct proto_row auth_reload_rows[] = {
	PROTO_RELOAD_FILE_ROW(auth_reload_file),
	PROTO_RELOAD_APPLY_ROW(auth_reload_apply),
};

/* SIGHUP: the key's file, then the go (answered). A refused frame is skipped. */
const struct proto_table auth_proc_reload_frames = PROTO_TABLE("auth: from the reload process", NULL, auth_reload_rows);

static const struct proto_row auth_master_rows[] = { SERVICE_NEW_SESSION_ROW };

/* The master's channel: new sessions only. */
const struct proto_table auth_proc_master_frames = PROTO_TABLE("auth: from the master", "skipped", auth_master_rows);

static void auth_reload_frame(void)
{
	int rc = proto_recv(auth_service.extra_fd, &auth_proc_reload_frames, NULL, &auth_reload_in, NULL);

	if (rc == 0) {
		/* the master sees the reload process die and stops the daemon; nothing to add here */
		close(auth_service.extra_fd);
		auth_service.extra_fd = -1;
	}
}

void auth_proc_main(const struct conf *c, const struct jail *j, int master_fd, int reload_fd, int queue_fd)
{
	char err[CONF_PATH_MAX + 64];

	if (tls_key_load(&auth_tls_keys[0], c->tls_key, err, sizeof(err)) < 0) {
		log_err("auth: %s", err);
		exit(EX_CONFIG);
	}
	auth_db_name = c->users;
	auth_queue_fd = queue_fd;
	jail_enter(j, SANDBOX_AUTH);
	service_init(&auth_service, "auth", master_fd);
	auth_service.master_frames = &auth_proc_master_frames;
	auth_service.adopt = auth_adopt;
	auth_service.request = auth_request;
	auth_service.drop = auth_drop;
	auth_service.extra_fd = reload_fd;
	auth_service.extra = auth_reload_frame;
	auth_db_path = j->users_file;
	if (secret_random(auth_fake_fallback, sizeof(auth_fake_fallback)) < 0 || auth_cache_init() < 0) {
		fatal(71, "auth: no random bytes: %s", strerror(errno));
	}
	auth_fake_per_start();
	if (auth_db_refresh() < 0) {
		log_err("auth: starting without a user database; every login will fail temporarily");
	}
	alloc_freeze("auth");
	service_run(&auth_service);
}
