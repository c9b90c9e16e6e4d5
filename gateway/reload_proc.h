/*
 * reload_proc.h - the reload process: on SIGHUP (the master asks) it reads
 * the configuration, certificate, key, smarthost secret and CA file again,
 * checks them, and hands them as open descriptors to the processes that use
 * them (auth: the key; relay keeper: config, secret, CA; master: config,
 * certificate, /etc/passwd). It is the one process that can still open
 * root's files after the jail: it runs as run_as with only
 * CAP_DAC_READ_SEARCH (read any file, nothing else), no chroot (it follows
 * the configured paths), under its own seccomp filter that allows opening
 * files read-only, never writing, connecting or executing. Between
 * requests it watches /etc/hosts and /etc/resolv.conf for the relay
 * (reload_resolv.h).
 */
#ifndef SUBGATE_RELOAD_PROC_H
#define SUBGATE_RELOAD_PROC_H

#include "jail.h"
#include "proto.h"

/* Runs forever (exits when the master goes away). conf_path: as given to serve, absolute. */
void reload_proc_main(const char *conf_path, const struct jail *j, int master_fd, int auth_fd, int relay_fd)
    __attribute__((noreturn));

/* The frames the reload process takes: the master's requests, and auth's answer to a new key. */
extern const struct proto_table reload_proc_master_frames, reload_proc_auth_reply;

#endif
