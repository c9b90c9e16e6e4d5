/*
 * conf_change.h - what a SIGHUP may change. Listeners, the spool, the
 * accounts, the pid file, the users.cdb path and the submission socket's
 * group are fixed when the jail is built (they need root); a reload keeps
 * their old values and says so. Everything else takes the new values; the
 * relay process is restarted only when its own settings changed.
 */
#ifndef SUBGATE_CONF_CHANGE_H
#define SUBGATE_CONF_CHANGE_H

#include "conf.h"

/*
 * Copies the start-only keys of `now` into `next`, logging each that
 * differs ("FILE: KEY changed; it takes effect at the next start").
 * Returns how many differed.
 */
unsigned conf_change_keep_start_keys(struct conf *next, const struct conf *now);

/*
 * 1 when a and b give the relay the same settings: helo_name, the smarthost
 * (host, port, brackets, TLS mode, CA file path, pin, secret path),
 * relay_timeout and the masquerade lines. (The CA file's and the secret's
 * contents are compared by the relay itself.)
 */
int conf_change_relay_equal(const struct conf *a, const struct conf *b);

#endif
