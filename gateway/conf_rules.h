/*
 * conf_rules.h - settings that depend on other settings: computed defaults
 * (hostname, helo_name, listeners, CA file) and cross-key rules (plaintext
 * relay only to loopback, CA or pin but not both) and the keys the gateway
 * requires, which the command-line tools do not.
 */
#ifndef SUBGATE_CONF_RULES_H
#define SUBGATE_CONF_RULES_H

#include "conf.h"

/* Computed defaults; a host name the gateway cannot do without is an error only in CONF_SCOPE_GATEWAY. */
void conf_rules_defaults(struct conf *c, enum conf_scope scope);

/* Rules between keys; the required keys (smarthost) are required only in CONF_SCOPE_GATEWAY. */
void conf_rules_check(struct conf *c, enum conf_scope scope);

#endif
