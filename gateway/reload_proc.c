/*
 * reload_proc.c - the reload process (see reload_proc.h). One request at a
 * time: load and check everything first, then hand over; the key goes to
 * auth first and auth confirms, so that a session never holds a new
 * certificate that auth cannot sign for.
 */
#include "reload_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "alloc.h"
#include "conf_files.h"
#include "log.h"
#include "proto.h"
#include "reload_resolv.h"

#define RELOAD_AUTH_WAIT_MS 10000

static struct conf reload_next;
static struct ipc_frame reload_frame, reload_auth_in;
static char reload_conf_path[CONF_PATH_MAX];

/* The channels a request is served over (the master's, auth's, the relay keeper's), and whether to watch resolv files.
 */
struct reload_channels {
	int master_fd, auth_fd, relay_fd, watch;
};

static const struct proto_row reload_auth_rows[] = {
	PROTO_RELOAD_APPLY_ROW(NULL),
};

/* auth's answer to the new key, waited for. */
const struct proto_table reload_proc_auth_reply = PROTO_TABLE("reload: from auth", NULL, reload_auth_rows);

/* Opens path read-only and hands it over. Returns 0, or -1 with the reason in err. */
static int reload_hand(int sock, const char *path, int for_queue, char *err, size_t errcap)
{
	struct proto_reload_file f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc;

	if (fd < 0) {
		snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	memset(&f, 0, sizeof(f));
	snprintf(f.path, sizeof(f.path), "%s", path);
	f.for_queue = (uint32_t)for_queue;
	rc = ipc_send(sock, PROTO_RELOAD_FILE, &f, sizeof(f), fd);
	close(fd);
	if (rc < 0) {
		snprintf(err, errcap, "cannot hand over %s: %s", path, strerror(errno));
	}
	return rc;
}

static int reload_apply(int sock, int ok, const char *message)
{
	struct proto_reload_apply a;

	memset(&a, 0, sizeof(a));
	a.ok = ok;
	snprintf(a.message, sizeof(a.message), "%s", message);
	return ipc_send(sock, PROTO_RELOAD_APPLY, &a, sizeof(a), -1);
}

/* The key to auth, and its answer. Returns 0, or -1 with the reason in err. */
static int reload_auth(int auth_fd, char *err, size_t errcap)
{
	const struct proto_reload_apply *a = (const struct proto_reload_apply *)reload_auth_in.payload;
	struct pollfd p = { .fd = auth_fd, .events = POLLIN };

	if (reload_hand(auth_fd, reload_next.tls_key, 0, err, errcap) < 0 || reload_apply(auth_fd, 1, "") < 0) {
		return -1;
	}
	if (poll(&p, 1, RELOAD_AUTH_WAIT_MS) != 1 ||
	    proto_recv(auth_fd, &reload_proc_auth_reply, NULL, &reload_auth_in, NULL) != 1) {
		snprintf(err, errcap, "the auth process did not confirm the new key");
		return -1;
	}
	if (!a->ok) {
		snprintf(err, errcap, "auth: %.200s", a->message);
		return -1;
	}
	return 0;
}

/* Config, secret and CA to the relay keeper. Returns 0 or -1 (err). */
static int reload_relay(int relay_fd, char *err, size_t errcap)
{
	const struct conf *c = &reload_next;

	if (reload_hand(relay_fd, c->file, 0, err, errcap) < 0 ||
	    (c->smarthost_auth[0] != '\0' && reload_hand(relay_fd, c->smarthost_auth, 0, err, errcap) < 0) ||
	    (c->smarthost_tls != CONF_SMARTHOST_NONE && !c->smarthost_has_pin &&
	     reload_hand(relay_fd, c->smarthost_ca, 0, err, errcap) < 0)) {
		return -1;
	}
	return reload_apply(relay_fd, 1, "");
}

/* Config (for itself and for the queue), certificate and passwd to the master, then its go. */
static int reload_master(int master_fd, char *err, size_t errcap)
{
	const struct conf *c = &reload_next;

	if (reload_hand(master_fd, c->file, 0, err, errcap) < 0 ||
	    reload_hand(master_fd, c->file, 1, err, errcap) < 0 ||
	    reload_hand(master_fd, c->tls_cert, 0, err, errcap) < 0 ||
	    reload_hand(master_fd, "/etc/passwd", 0, err, errcap) < 0) {
		return -1;
	}
	return reload_apply(master_fd, 1, "");
}

static void reload_once(int master_fd, int auth_fd, int relay_fd)
{
	char err[320];

	if (conf_load(&reload_next, reload_conf_path) < 0 || conf_check_reload_files(&reload_next) > 0) {
		snprintf(err, sizeof(err), "%.100s: %.180s (line logged above)", reload_next.file,
			 reload_next.first_error);
		reload_apply(master_fd, 0, err);
		return;
	}
	if (reload_auth(auth_fd, err, sizeof(err)) < 0 || reload_relay(relay_fd, err, sizeof(err)) < 0 ||
	    reload_master(master_fd, err, sizeof(err)) < 0) {
		reload_apply(master_fd, 0, err);
	}
}

/* Waits for the master's next request; meanwhile (jailed) watches hosts and resolv.conf. */
static int reload_wait(int master_fd, int watch)
{
	struct pollfd p = { .fd = master_fd, .events = POLLIN };
	int rc;

	for (;;) {
		rc = poll(&p, 1, watch ? reload_resolv_interval_ms() : -1);
		if (rc > 0) {
			return 0;
		}
		if (rc < 0 && errno != EINTR) {
			return -1;
		}
		if (rc == 0) {
			reload_resolv_check(master_fd, 0);
		}
	}
}

/* SIGHUP: one reload, then a look at hosts and resolv.conf. */
static int reload_request_frame(void *ctx, struct ipc_frame *f, int fd)
{
	const struct reload_channels *ch = ctx;

	(void)f;
	(void)fd;
	reload_once(ch->master_fd, ch->auth_fd, ch->relay_fd);
	if (ch->watch) {
		reload_resolv_check(ch->master_fd, 1);
	}
	return 0;
}

static const struct proto_row reload_master_rows[] = {
	{ .type = PROTO_RELOAD_REQUEST, .handler = reload_request_frame },
};

/* The master's requests (ctx: struct reload_channels). A refused frame is skipped. */
const struct proto_table reload_proc_master_frames =
    PROTO_TABLE("reload: from the master", "skipped", reload_master_rows);

void reload_proc_main(const char *conf_path, const struct jail *j, int master_fd, int auth_fd, int relay_fd)
{
	/* without a jail the relay reads the host's files itself: nothing to copy */
	struct reload_channels ch = { master_fd, auth_fd, relay_fd, j->enabled };

	snprintf(reload_conf_path, sizeof(reload_conf_path), "%s", conf_path);
	jail_enter(j, SANDBOX_RELOAD);
	if (ch.watch) {
		reload_resolv_init();
	}
	alloc_freeze("reload");
	for (;;) {
		int rc = reload_wait(master_fd, ch.watch) < 0
			     ? -1
			     : proto_recv(master_fd, &reload_proc_master_frames, NULL, &reload_frame, &ch);

		if (rc == 0 || (rc < 0 && errno != EINTR && errno != EPROTO && errno != EAGAIN)) {
			exit(rc == 0 ? 0 : EX_OSERR);
		}
	}
}
