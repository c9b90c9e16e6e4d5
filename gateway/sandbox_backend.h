/*
 * sandbox_backend.h - what sandbox.c needs from the backend the build chose
 * (Makefile: one of sandbox_builtin.c, sandbox_libseccomp.c, sandbox_none.c).
 */
#ifndef SUBGATE_SANDBOX_BACKEND_H
#define SUBGATE_SANDBOX_BACKEND_H

#include <linux/filter.h>

#include "sandbox_policy.h"

/* Prepares every role's filter (master, start-up). Returns 0 or -1. */
int sandbox_backend_init(void);

/* The role's BPF and its length in instructions (0 and NULL: no filter). */
const struct sock_filter *sandbox_backend_code(enum sandbox_role role, unsigned short *len);

#endif
