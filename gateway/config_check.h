/*
 * config_check.h - rejects build configurations that Kconfig cannot express
 * (dropbear sysoptions.h style). Included once, by main.c.
 */
#ifndef SUBGATE_CONFIG_CHECK_H
#define SUBGATE_CONFIG_CHECK_H

#include "config.h"

#if CONFIG_TLS_PROFILE_FULL + CONFIG_TLS_PROFILE_EC_ONLY != 1
#error "exactly one TLS cipher profile must be chosen"
#endif
#if CONFIG_RETRY_MIN_SECONDS > CONFIG_RETRY_MAX_SECONDS
#error "CONFIG_RETRY_MIN_SECONDS must not exceed CONFIG_RETRY_MAX_SECONDS"
#endif
#if CONFIG_MESSAGE_SIZE_DEFAULT > CONFIG_MESSAGE_SIZE_MAX
#error "CONFIG_MESSAGE_SIZE_DEFAULT must not exceed CONFIG_MESSAGE_SIZE_MAX"
#endif
#if CONFIG_MAX_SESSIONS_PER_ADDR > CONFIG_MAX_SESSIONS
#error "CONFIG_MAX_SESSIONS_PER_ADDR must not exceed CONFIG_MAX_SESSIONS"
#endif
#if CONFIG_SANDBOX_SECCOMP_DEBUG && !CONFIG_SANDBOX_SECCOMP
#error "CONFIG_SANDBOX_SECCOMP_DEBUG needs CONFIG_SANDBOX_SECCOMP"
#endif

#endif
