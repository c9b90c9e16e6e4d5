/*
 * auth_proc.h - the `auth` process (DESIGN.md section 1): the only process
 * that reads users.cdb. It checks passwords for sessions (PLAIN, LOGIN and
 * SCRAM-SHA-256), counts failures per client address across connections,
 * caches successful checks, and reopens the database when it changes.
 */
#ifndef SUBGATE_AUTH_PROC_H
#define SUBGATE_AUTH_PROC_H

#include "conf.h"
#include "jail.h"
#include "proto.h"

/* Loads the TLS key, enters the jail, runs until the master's channel closes. */
/* reload_fd: the reload process hands over a new key there (SIGHUP), -1 if none. */
void auth_proc_main(const struct conf *c, const struct jail *j, int master_fd, int reload_fd, int queue_fd)
    __attribute__((noreturn));

/* The frames auth takes: from a session (ctx: its slot), from the reload process, from the master. */
extern const struct proto_table auth_proc_session_frames, auth_proc_reload_frames, auth_proc_master_frames;

#endif
