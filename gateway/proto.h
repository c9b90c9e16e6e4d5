/*
 * proto.h - the frames processes exchange (DESIGN.md section 1). Every
 * payload is a fixed-size struct (PROTO_Q_BEGIN and PROTO_Q_DATA: up to a
 * size); the receiver checks each frame against its channel's table before
 * it looks inside, and the table's string fields are NUL-terminated before
 * use (proto_recv, below; the tables sit with their receivers).
 *
 *   master  -> auth, queue   PROTO_NEW_SESSION + the session's socket (fd)
 *   session -> auth          PROTO_AUTH_PLAIN | PROTO_AUTH_SCRAM_FIRST | PROTO_AUTH_SCRAM_FINAL
 *   auth    -> session       PROTO_AUTH_RESULT
 *   auth    -> queue         PROTO_AUTH_LOGIN on a successful login, before the session hears
 *                            of it, on a channel of their own that no session holds: the
 *                            queue checks the envelope's user and sender against it
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
	PROTO_AUTH_LOGIN,
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

/* Who logged in on a slot: the session (its id) and what auth allowed it. */
struct proto_auth_login {
	uint32_t slot;
	char session_id[12];
	char user[CONFIG_USERNAME_MAX + 1];
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
 * The frame carries only the used part of `strings` (envelope.c packs it).
 * The size of a `len` too large for `strings` matches no frame.
 */
static inline size_t proto_q_begin_size(const struct proto_q_begin *b)
{
	return offsetof(struct proto_q_begin, strings) +
	       (b->len <= sizeof(b->strings) ? (size_t)b->len : sizeof(b->strings) + 1);
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

/* Terminates a fixed-size string field of a local copy in place. */
#define proto_terminate(field) ((field)[sizeof(field) - 1] = '\0')

/*
 * Receiving (proto.c). Every receiving channel has one const table of the
 * frames it takes: per type the payload's length (minimum and maximum),
 * whether a descriptor comes with it, which fixed-size string fields to
 * terminate, and the handler. proto_recv() receives a frame, finds its row,
 * terminates the strings and runs the handler; a frame that matches no row
 * (unknown type, wrong length, a descriptor where none belongs or none
 * where one must come), or that its handler refuses, is a protocol error:
 * logged with the channel, type and length, its descriptor closed, never
 * used. What the receiver then does (skip it, drop the session, drop the
 * channel) stays with the caller, which sees -1 with errno EPROTO.
 */
enum proto_fd {
	PROTO_FD_NONE = 0, /* never a descriptor */
	PROTO_FD_ONE,      /* always exactly one */
	PROTO_FD_FLAGGED,  /* one exactly when the uint32_t at fd_flag in the payload is not 0 */
};

/* count string fields of size bytes each (a NUL in the last), the first at offset. */
struct proto_string {
	uint32_t offset;
	uint32_t size;
	uint32_t count;
};

#define PROTO_STRINGS_MAX 3

/*
 * Runs a frame that matched its row (strings terminated). fd: the frame's
 * descriptor (or -1), the handler's from then on. Returns 0, or -1 to
 * refuse what the table cannot say (fd untouched: proto_recv closes it).
 */
typedef int proto_handler(void *ctx, struct ipc_frame *f, int fd);

struct proto_row {
	uint32_t type;
	uint32_t min_len, max_len; /* payload bytes */
	enum proto_fd fd;
	uint32_t fd_flag;                               /* PROTO_FD_FLAGGED: offset of the flag */
	struct proto_string strings[PROTO_STRINGS_MAX]; /* size 0 ends the list */
	proto_handler *handler; /* NULL: a reply the caller waits for and reads itself (no descriptor) */
};

struct proto_table {
	const char *channel;    /* for the log: who hears from whom, "auth: session" (the peer's id follows) */
	const char *on_refusal; /* for the log: what the receiver does with a refused frame, or NULL */
	const struct proto_row *rows;
	size_t nrows;
};

#define PROTO_SIZE(type) .min_len = sizeof(type), .max_len = sizeof(type)
#define PROTO_STR(type, field)                                       \
	{                                                            \
		offsetof(type, field), sizeof(((type *)0)->field), 1 \
	}
#define PROTO_STRS(type, field)                                                \
	{                                                                      \
		offsetof(type, field), sizeof(((type *)0)->field[0]),          \
		    sizeof(((type *)0)->field) / sizeof(((type *)0)->field[0]) \
	}
#define PROTO_TABLE(channel, on_refusal, rows)                              \
	{                                                                   \
		channel, on_refusal, rows, sizeof(rows) / sizeof((rows)[0]) \
	}

/* The rows of the reload protocol, the same wherever it is received. */
#define PROTO_RELOAD_FILE_ROW(h)                                                                     \
	{                                                                                            \
		.type = PROTO_RELOAD_FILE, PROTO_SIZE(struct proto_reload_file), .fd = PROTO_FD_ONE, \
		.strings = { PROTO_STR(struct proto_reload_file, path) }, .handler = (h)             \
	}
#define PROTO_RELOAD_APPLY_ROW(h)                                                            \
	{                                                                                    \
		.type = PROTO_RELOAD_APPLY, PROTO_SIZE(struct proto_reload_apply),           \
		.strings = { PROTO_STR(struct proto_reload_apply, message) }, .handler = (h) \
	}
#define PROTO_RESOLV_FILE_ROW(h)                                                                         \
	{                                                                                                \
		.type = PROTO_RESOLV_FILE, PROTO_SIZE(struct proto_resolv_file), .fd = PROTO_FD_FLAGGED, \
		.fd_flag = offsetof(struct proto_resolv_file, present),                                  \
		.strings = { PROTO_STR(struct proto_resolv_file, name) }, .handler = (h)                 \
	}

enum proto_verdict {
	PROTO_MATCH,
	PROTO_UNKNOWN_TYPE,
	PROTO_BAD_LENGTH,
	PROTO_FD_UNEXPECTED,
	PROTO_FD_MISSING,
};

/* Pure: the row of t that f (with descriptor fd, or -1) matches, or NULL and why not. */
const struct proto_row *proto_match(const struct proto_table *t, const struct ipc_frame *f, int fd,
				    enum proto_verdict *why);

/* Terminates the row's string fields in f's payload (proto_match said it is long enough). */
void proto_terminate_strings(const struct proto_row *r, struct ipc_frame *f);

/*
 * Checks a frame already received (descriptor fd or -1) against t,
 * terminates its strings, runs its row's handler with ctx. peer: the
 * sender's id for the log, or NULL. Returns 1, or -1 with errno EPROTO
 * after logging and closing fd.
 */
int proto_dispatch(const struct proto_table *t, const char *peer, struct ipc_frame *f, int fd, void *ctx);

/*
 * Receives one frame on sock into f and dispatches it (proto_dispatch).
 * Returns 1, 0 at the channel's end, or -1 with errno: EPROTO for a
 * refused frame (ipc_recv's or the table's; logged, descriptors closed, the
 * channel still open), anything else from ipc_recv (not logged).
 */
int proto_recv(int sock, const struct proto_table *t, const char *peer, struct ipc_frame *f, void *ctx);

#endif
