/*
 * conf_files.h - `subgate check`: the files a configuration names exist, have
 * safe modes and decode (certificate chain, private key, user database,
 * CA bundle, smarthost credentials), and the run_as account exists.
 */
#ifndef SUBGATE_CONF_FILES_H
#define SUBGATE_CONF_FILES_H

#include "conf.h"

/* Reports each problem through conf_error(); returns the number found. */
unsigned conf_check_files(struct conf *c);

/*
 * The checks a reload repeats: certificate, key, smarthost secret and CA.
 * No account lookups (the reload process may not talk to nscd; accounts
 * are fixed at start). Returns the number of errors.
 */
unsigned conf_check_reload_files(struct conf *c);

#endif
