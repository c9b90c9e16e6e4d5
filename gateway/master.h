/*
 * master.h - `subgate serve`: the master process (DESIGN.md section 1).
 * It parses the configuration, loads the TLS identity, opens the spool and
 * the listeners, starts `auth` and `queue`, then accepts connections,
 * enforces the connection limits, forks one session per connection with its
 * own channels to `auth` and `queue`, and supervises every child.
 */
#ifndef SUBGATE_MASTER_H
#define SUBGATE_MASTER_H

int cmd_serve(int argc, char **argv);

#endif
