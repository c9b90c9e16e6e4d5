/*
 * cli_password.h - reads a new password for `subgate user`: from the
 * terminal twice without echo, or one line from standard input (--stdin).
 * Bytes are read with read(2), never through stdio, so no copy is left in a
 * library buffer; the caller wipes its buffer.
 */
#ifndef SUBGATE_CLI_PASSWORD_H
#define SUBGATE_CLI_PASSWORD_H

#include <stddef.h>

/* Returns 0 with *len set, or a sysexits.h code (reason logged). cap must exceed CONFIG_PASSWORD_MAX. */
int cli_password_read(int from_stdin, char *buf, size_t cap, size_t *len);

/* 0 if the bytes are an acceptable password, else a reason. Pure; unit-tested. */
const char *cli_password_problem(const char *pw, size_t len);

#endif
