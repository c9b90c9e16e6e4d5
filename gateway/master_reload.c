/*
 * master_reload.c - SIGHUP in the master: ask the reload process, take the
 * files it hands over (configuration, certificate chain, /etc/passwd), pass
 * the queue its copy of the configuration, and switch. Sessions already
 * running keep what they were forked with; new ones get the new settings
 * and the new certificate (its key generation tells auth which key signs).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conf_change.h"
#include "fdmap.h"
#include "log.h"
#include "master_int.h"

static struct conf master_next_conf;

void master_reload_request(void)
{
	if (ipc_send(master.reload_fd, PROTO_RELOAD_REQUEST, NULL, 0, -1) < 0) {
		log_err("SIGHUP: cannot reach the reload process: %s", strerror(errno));
		return;
	}
	log_info("SIGHUP: reloading %s", master.conf.file);
}

/* Local users named in local_sender lines that /etc/passwd does not know: say so. */
static void master_reload_check_senders(const struct conf *c)
{
	for (unsigned i = 0; i < c->nlocal_sender; i++) {
		int known = 0;

		for (unsigned u = 0; u < master.local_users.n && !known; u++) {
			known = strcmp(master.local_users.user[u].name, c->local_sender[i].name) == 0;
		}
		if (!known) {
			log_warn("%s: local_sender: no such local user '%s'", c->file, c->local_sender[i].name);
		}
	}
}

/* Every file is in the fd map: parse, check, switch. */
static void master_reload_apply(void)
{
	static struct tls_creds creds;
	char err[CONF_PATH_MAX + 96];

	if (conf_load(&master_next_conf, master.conf.file) < 0) {
		log_err("reload failed: %s: %s; still running with the previous settings", master.conf.file,
			master_next_conf.first_error);
		return;
	}
	conf_change_keep_start_keys(&master_next_conf, &master.conf);
	if (tls_creds_load(&creds, master_next_conf.tls_cert, err, sizeof(err)) < 0) {
		log_err("reload failed: %s; still running with the previous settings", err);
		return;
	}
	if (local_users_load(&master.local_users, "/etc/passwd") < 0) {
		log_warn("reload: cannot read /etc/passwd: %s; local users as before", strerror(errno));
	}
	tls_creds_free(&master.creds);
	master.creds = creds;
	master.conf = master_next_conf;
	master.key_generation++;
	master_reload_check_senders(&master.conf);
	if (ipc_send(master.queue_fd, PROTO_RELOAD_APPLY, &(struct proto_reload_apply){ .ok = 1 },
		     sizeof(struct proto_reload_apply), -1) < 0) {
		log_err("reload: cannot tell the queue: %s", strerror(errno));
	}
	log_info("reloaded %s: certificate %s (key generation %u), %u local users", master.conf.file,
		 master.conf.tls_cert, (unsigned)master.key_generation, master.local_users.n);
}

void master_reload_frame(void)
{
	static struct ipc_frame f;
	const struct proto_reload_file *file = (const struct proto_reload_file *)f.payload;
	struct proto_reload_apply *apply = (struct proto_reload_apply *)f.payload;
	int fd = -1;
	int rc = ipc_recv(master.reload_fd, &f, &fd);

	if (rc < 0 && errno == EPROTO) {
		log_err("reload process sent a malformed frame");
		return;
	}
	if (rc <= 0) {
		return; /* the reload process is gone: SIGCHLD says so */
	}
	if (f.hdr.type == PROTO_RESOLV_FILE && proto_reload_frame_ok(&f, fd)) {
		if (ipc_send(master.queue_fd, PROTO_RESOLV_FILE, f.payload, f.hdr.len, fd) < 0) {
			log_err("cannot pass the queue the relay's copy of hosts/resolv.conf: %s", strerror(errno));
		}
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	if (f.hdr.type == PROTO_RELOAD_FILE && proto_reload_frame_ok(&f, fd)) {
		struct proto_reload_file copy = *file;

		proto_terminate(copy.path);
		if (copy.for_queue) {
			if (ipc_send(master.queue_fd, PROTO_RELOAD_FILE, &copy, sizeof(copy), fd) < 0) {
				log_err("reload: cannot hand the configuration to the queue: %s", strerror(errno));
			}
			close(fd);
		} else if (fdmap_add(copy.path, fd) < 0) {
			log_err("reload: too many files handed over");
		}
		return;
	}
	if (f.hdr.type == PROTO_RELOAD_APPLY && proto_reload_frame_ok(&f, fd)) {
		proto_terminate(apply->message);
		if (apply->ok) {
			master_reload_apply();
		} else {
			log_err("reload failed: %s; still running with the previous settings", apply->message);
		}
	} else {
		log_err("reload process sent a malformed frame (type %u, %u bytes)", f.hdr.type, f.hdr.len);
		if (fd >= 0) {
			close(fd);
		}
	}
	fdmap_clear();
}
