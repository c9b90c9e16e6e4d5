/*
 * proto.h - the frames processes exchange (DESIGN.md section 1). Every
 * payload is a fixed-size struct; the receiver checks type and exact size
 * (ipc_recv_expect) before it looks inside, and every string field is
 * NUL-terminated by the receiver before use (proto_terminate).
 *
 *   master  -> auth, queue   PROTO_NEW_SESSION + the session's socket (fd)
 *   session -> auth          PROTO_AUTH_PLAIN | PROTO_AUTH_SCRAM_FIRST | PROTO_AUTH_SCRAM_FINAL
 *   auth    -> session       PROTO_AUTH_RESULT
 *   session -> auth          PROTO_TLS_SIGN (the handshake hash to sign with the TLS key)
 *   auth    -> session       PROTO_TLS_SIGNATURE (empty on failure)
 *   session -> queue         PROTO_Q_CHECK, PROTO_Q_BEGIN, PROTO_Q_DATA..., PROTO_Q_END | PROTO_Q_ABORT
 *   queue   -> session       PROTO_Q_REPLY (after CHECK, BEGIN and END only)
 *   relay   -> master        PROTO_RELAY_CHANNEL + the queue's end of a new relay worker's socket (fd)
 *   master  -> queue         PROTO_RELAY_CHANNEL, forwarded as it came
 *   master  -> queue         PROTO_FLUSH (retry every deferred message now)
 *   master  -> queue         PROTO_CONTROL + a connection on SPOOL/private/control whose peer
 *                            is root (fd; SO_SNDTIMEO/SO_RCVTIMEO set): queue_ctl.h; or on
 *                            SPOOL/public/showq from anyone: restricted to listing the
 *                            messages the peer (a local uid) submitted
 *   queue   -> relay         PROTO_R_JOB + the message, opened read-only (fd)
 *   relay   -> queue         PROTO_R_RCPT per recipient tried, then PROTO_R_DONE
 *   SIGHUP (reload_proc.c):
 *   master  -> reload        PROTO_RELOAD_REQUEST
 *   reload  -> auth          PROTO_RELOAD_FILE (the key) then PROTO_RELOAD_APPLY; auth answers APPLY
 *   reload  -> relay keeper  PROTO_RELOAD_FILE (config, secret, CA) then PROTO_RELOAD_APPLY
 *   reload  -> master        PROTO_RELOAD_FILE (config twice, certificate, passwd) then PROTO_RELOAD_APPLY
 *   master  -> queue         PROTO_RELOAD_FILE (config) then PROTO_RELOAD_APPLY
 *   On SIGHUP, and when the reload process sees /etc/hosts or /etc/resolv.conf change:
 *   reload  -> master        PROTO_RESOLV_FILE (+ the file, read-only, unless it is gone)
 *   master  -> queue         PROTO_RESOLV_FILE, forwarded as it came; the queue replaces
 *                            SPOOL/etc/NAME, which the relay's resolver reads
 */
#ifndef SUBGATE_PROTO_H
#define SUBGATE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "lib/ipc.h"
#include "scram.h"
#include "spool.h"
#include "tls_key.h"

#define PROTO_ADDR_STR 48 /* an IPv6 address in text, with room */

enum proto_type {
	PROTO_NEW_SESSION = 1,
	PROTO_AUTH_PLAIN,
	PROTO_AUTH_SCRAM_FIRST,
	PROTO_AUTH_SCRAM_FINAL,
	PROTO_AUTH_RESULT,
	PROTO_Q_CHECK,
	PROTO_Q_BEGIN,
	PROTO_Q_DATA,
	PROTO_Q_END,
	PROTO_Q_ABORT,
	PROTO_Q_REPLY,
	PROTO_RELAY_CHANNEL,
	PROTO_FLUSH,
	PROTO_R_JOB,
	PROTO_R_RCPT,
	PROTO_R_DONE,
	PROTO_TLS_SIGN,
	PROTO_TLS_SIGNATURE,
	PROTO_CONTROL,
	PROTO_RELOAD_REQUEST,
	PROTO_RELOAD_FILE,
	PROTO_RELOAD_APPLY,
	PROTO_RESOLV_FILE,
};

struct proto_new_session {
	uint32_t slot; /* 0..CONFIG_MAX_SESSIONS-1, unique among live sessions */
	char client[PROTO_ADDR_STR];
	char session_id[12];
};

struct proto_auth_plain {
	char mech[16]; /* PLAIN or LOGIN, for the log */
	char user[CONFIG_USERNAME_MAX + 1];
	char password[CONFIG_PASSWORD_MAX + 1];
};

struct proto_auth_scram {
	char message[SCRAM_MSG_MAX];
};

enum proto_auth_status {
	PROTO_AUTH_OK,        /* logged in; senders filled */
	PROTO_AUTH_CONTINUE,  /* SCRAM: send server_message and wait for the client */
	PROTO_AUTH_FAILED,    /* bad user or password: 535 5.7.8 */
	PROTO_AUTH_MALFORMED, /* SCRAM syntax: 501 5.5.2 */
	PROTO_AUTH_THROTTLED, /* too many failures from this address: 421 4.7.0 */
	PROTO_AUTH_TEMPFAIL,  /* user database unusable: 454 4.7.0 */
};

struct proto_auth_result {
	uint32_t status;
	char user[CONFIG_USERNAME_MAX + 1];
	char server_message[SCRAM_MSG_MAX];
	uint32_t nsenders;
	char senders[CONFIG_USER_MAX_SENDERS][ADDR_MAX + 1];
};

struct proto_tls_sign {
	uint32_t key_generation; /* the reload the session's certificate came from (0: the start) */
	uint32_t algo_id;        /* BearSSL's: 0xFF00 + hash id */
	uint32_t hv_len;
	unsigned char hv[TLS_HASH_MAX];
};

struct proto_tls_signature {
	uint32_t len; /* 0: the key could not sign this */
	unsigned char sig[TLS_SIG_MAX];
};

struct proto_q_check {
	uint64_t size;
};

/*
 * The envelope, packed: sender, user, client, then nrcpt recipients, each
 * NUL-terminated, in `strings` (used bytes: `len`).
 */
struct proto_q_begin {
	uint32_t nrcpt;
	uint32_t len;
	int64_t arrival;
	char strings[IPC_PAYLOAD_MAX - 16];
};

/*
 * The frame carries only the used part of `strings`, and clearing touches
 * only the counters: a session's envelope costs the pages it fills, not
 * 16 KiB. The size of a `len` too large for `strings` matches no frame.
 */
static inline size_t proto_q_begin_size(const struct proto_q_begin *b)
{
	return offsetof(struct proto_q_begin, strings) +
	       (b->len <= sizeof(b->strings) ? (size_t)b->len : sizeof(b->strings) + 1);
}

static inline void proto_q_begin_clear(struct proto_q_begin *b)
{
	b->nrcpt = 0;
	b->len = 0;
	b->arrival = 0;
}

struct proto_q_reply {
	int32_t error; /* 0, or an errno: ENOSPC/EDQUOT -> 452 4.3.1, other -> 451 4.3.0 */
	char id[SPOOL_ID_LEN + 1];
};

struct proto_r_job {
	char id[SPOOL_ID_LEN + 1];
};

enum proto_r_outcome {
	PROTO_R_DELIVERED, /* 2xx after DATA: mark D */
	PROTO_R_DEFERRED,  /* 4xx, or no answer: try again later */
	PROTO_R_BOUNCED,   /* 5xx: mark B and tell the sender */
};

struct proto_r_rcpt {
	char id[SPOOL_ID_LEN + 1];
	uint32_t index;   /* the recipient's position in the spool envelope */
	uint32_t outcome; /* enum proto_r_outcome */
	char status[16];  /* RFC 3463 code for a bounce, e.g. "5.1.1" */
	char reply[600];  /* the smarthost's reply (for logs and bounces), "..." when cut */
};

struct proto_r_done {
	char id[SPOOL_ID_LEN + 1];
	uint32_t pause; /* our own credentials were refused (535): hold the queue */
};

/* A file handed over (fd) as the contents of `path`; fdmap.h. */
struct proto_reload_file {
	char path[CONFIG_PATH_MAX_LEN];
	uint32_t for_queue; /* master: pass this one on to the queue */
};

/* restricted: only `list`, and only what local uid `uid` submitted (envelope client "local uid=UID ..."). */
struct proto_control {
	uint32_t restricted;
	uint32_t uid;
};

/* name: "hosts" or "resolv.conf"; present 0: the host has none, remove the copy. */
struct proto_resolv_file {
	char name[16];
	uint32_t present;
};

struct proto_reload_apply {
	int32_t ok;
	char message[256]; /* why not, for the log */
};

/* Terminates a received fixed-size string field in place. */
#define proto_terminate(field) ((field)[sizeof(field) - 1] = '\0')

/* Terminates every string of a received auth result (each of senders[] too) and bounds nsenders. */
static inline void proto_auth_result_terminate(struct proto_auth_result *r)
{
	proto_terminate(r->user);
	proto_terminate(r->server_message);
	for (size_t i = 0; i < CONFIG_USER_MAX_SENDERS; i++) {
		proto_terminate(r->senders[i]);
	}
	if (r->nsenders > CONFIG_USER_MAX_SENDERS) {
		r->nsenders = CONFIG_USER_MAX_SENDERS;
	}
}

/*
 * Checks a received frame of the reload protocol (PROTO_RELOAD_REQUEST,
 * _FILE, _APPLY, PROTO_RESOLV_FILE) before use: the exact size of its type,
 * and a descriptor exactly where the type carries one (always with a FILE,
 * with RESOLV_FILE when `present`, never otherwise). Returns 1, or 0 for a
 * frame to refuse (any other type too); the caller closes fd.
 */
static inline int proto_reload_frame_ok(const struct ipc_frame *f, int fd)
{
	switch (f->hdr.type) {
	case PROTO_RELOAD_REQUEST:
		return f->hdr.len == 0 && fd < 0;
	case PROTO_RELOAD_FILE:
		return f->hdr.len == sizeof(struct proto_reload_file) && fd >= 0;
	case PROTO_RELOAD_APPLY:
		return f->hdr.len == sizeof(struct proto_reload_apply) && fd < 0;
	case PROTO_RESOLV_FILE:
		return f->hdr.len == sizeof(struct proto_resolv_file) &&
		       (fd >= 0) == (((const struct proto_resolv_file *)f->payload)->present != 0);
	default:
		return 0;
	}
}

#endif
