/*
 * relay_smtp.h - the relay's SMTP client side: one connection to the
 * smarthost (TCP, implicit TLS or STARTTLS, EHLO, SASL PLAIN or LOGIN),
 * reply reading, and the dot-stuffed body stream from a spool file.
 * Relay process only; buffers are static, reused for every connection.
 */
#ifndef SUBGATE_RELAY_SMTP_H
#define SUBGATE_RELAY_SMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "conn.h"
#include "smtp_reply.h"
#include "tls_client.h"

/* Appended to the log line of a login refused with basic_auth_disabled. */
#define RELAY_SMTP_BASIC_AUTH_HINT                                                                     \
	": the smarthost has disabled basic authentication (password logins); holding the queue: the " \
	"account needs an OAuth2 login, not a password (see smarthost_auth in subgate.conf(5))"

struct relay_link {
	int open;
	struct conn conn;
	struct smtp_ehlo ehlo;
	int tls;
	char peer[ADDR_DOMAIN_MAX + 80]; /* host[addr]:port for logs */
	char tls_info[96];
	char error[300];         /* why the last step failed, for logs and deferrals */
	int auth_refused;        /* 535: our credentials are wrong */
	int basic_auth_disabled; /* a password login refused for good (smtp_reply.h) */
	int ehlo_capture;        /* feed reply lines to `ehlo` */
	int64_t last_used_ms;
};

struct relay_credentials {
	char user[256];
	char password[256];
	int set;
};

/* Reads the smarthost_auth file (one line user:password). Returns 0 or -1 (logged). */
int relay_smtp_load_credentials(const char *path, struct relay_credentials *cred);

/*
 * 1 if sa is a loopback address: 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped
 * into IPv6. Not 0.0.0.0 or :: (the kernel may route those to this host,
 * but they are not addresses a check can vouch for).
 */
int relay_smtp_addr_loopback(const struct sockaddr *sa);

/*
 * Connects, greets, TLS, EHLO, AUTH. Returns 0, or -1 with link->error set.
 * Without TLS (smarthost_tls = none) only loopback addresses of the
 * smarthost's name are connected to: what the name resolves to decides,
 * since "localhost" in a hosts file can point anywhere; no connection at
 * all means no mail and no AUTH in plaintext off this host.
 */
int relay_smtp_open(struct relay_link *l, const struct conf *c, const struct tls_client_trust *trust,
		    const struct relay_credentials *cred);

/* Sends QUIT (best effort) and closes. */
void relay_smtp_close(struct relay_link *l);

/* Writes a command line (CRLF added); flushes unless `more` (pipelining). Returns 0 or -1. */
int relay_smtp_command(struct relay_link *l, int more, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes text (len bytes, any length: a SASL response) and CRLF, and flushes. Returns 0 or -1. */
int relay_smtp_line(struct relay_link *l, const char *text, size_t len);

/* Sets the link's error text (for the log; never a secret in it). Returns -1. */
int relay_smtp_fail(struct relay_link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads one complete reply. Returns 0, or -1 with link->error set (timeout, EOF, malformed). */
int relay_smtp_reply(struct relay_link *l, const struct conf *c, struct smtp_reply *r);

/*
 * Streams the message (from offset to EOF) dot-stuffed, then ".". When
 * masq_from is set, From: header lines (and their continuations) have that
 * address replaced by masq_to (sender masquerading). Returns 0 or -1.
 */
int relay_smtp_body(struct relay_link *l, int fd, uint64_t offset, const char *masq_from, const char *masq_to);

#endif
