/*
 * master.h - the daemon's start (master.c): `subgate serve` (cmd_serve.c)
 * hands it the configuration's absolute path and its two flags.
 */
#ifndef SUBGATE_MASTER_H
#define SUBGATE_MASTER_H

/* Loads PATH, builds the jail, forks the processes and runs the master's loop; returns an exit code on failure. */
int master_run(const char *path, int foreground, int no_jail);

#endif
