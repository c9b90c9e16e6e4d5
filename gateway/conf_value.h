/*
 * conf_value.h - parsers for single configuration values. Pure: a string in,
 * a typed value out, or -1 with a human-readable reason in err.
 */
#ifndef SUBGATE_CONF_VALUE_H
#define SUBGATE_CONF_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

int conf_value_size(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errcap);
/* A duration: a number with an optional unit s, m, h or d; a bare number is in default_unit seconds. */
int conf_value_duration(const char *v, uint64_t default_unit, uint64_t min_s, uint64_t max_s, uint64_t *out, char *err,
			size_t errcap);
int conf_value_hostname(const char *v, char *out, size_t cap, char *err, size_t errcap);
int conf_value_path(const char *v, const char *base_dir, char *out, size_t cap, char *err, size_t errcap);
int conf_value_account(const char *v, char *out, size_t cap, char *err, size_t errcap);
int conf_value_listen(const char *v, struct conf_listen *out, char *err, size_t errcap);
int conf_value_smarthost(const char *v, char *host, size_t cap, uint16_t *port, int *bracketed, char *err,
			 size_t errcap);
int conf_value_smarthost_tls(const char *v, enum conf_smarthost_tls *out, char *err, size_t errcap);
int conf_value_pin(const char *v, unsigned char out[32], char *err, size_t errcap);
int conf_value_masquerade(const char *v, struct conf_masquerade *out, char *err, size_t errcap);
int conf_value_local_sender(const char *v, struct conf_local_sender *out, char *err, size_t errcap);
int conf_value_alias(const char *v, struct conf_alias *out, char *err, size_t errcap);

/* 1 if host is a loopback address literal (127.0.0.0/8, ::1) or "localhost". */
int conf_host_is_loopback(const char *host);

/* 1 if host is an IPv4 or IPv6 address literal. */
int conf_host_is_ip(const char *host);

#endif
