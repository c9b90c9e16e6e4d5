/*
 * conf_rules.h - settings that depend on other settings: computed defaults
 * (hostname, helo_name, listeners, CA file) and cross-key rules (plaintext
 * relay only to loopback, CA or pin but not both, required keys).
 */
#ifndef SUBGATE_CONF_RULES_H
#define SUBGATE_CONF_RULES_H

#include "conf.h"

void conf_rules_defaults(struct conf *c);
void conf_rules_check(struct conf *c);

#endif
