/*
 * sandbox.h - installs a role's seccomp filter in the calling process. The
 * filters are compiled once at start (from sandbox_policy.c, with libseccomp)
 * or at build time (CONFIG_SANDBOX_SECCOMP_BUILD_TIME: BPF embedded in the
 * binary, no libseccomp linked); either way each process loads ready BPF.
 */
#ifndef SUBGATE_SANDBOX_H
#define SUBGATE_SANDBOX_H

#include "sandbox_policy.h"

/* Prepares every role's filter. At start, before the first fork. Returns 0 or -1 (errno). */
int sandbox_init(void);

/* PR_SET_NO_NEW_PRIVS, then the role's filter (when seccomp is built in). Returns 0 or -1. */
int sandbox_enter(enum sandbox_role role);

/* The role's name ("master", "session", ...). */
const char *sandbox_role_name(enum sandbox_role role);

/* Number of BPF instructions in the role's filter (0 when seccomp is not built in). */
unsigned sandbox_filter_length(enum sandbox_role role);

#endif
