/*
 * relay_oauth.h - the relay's OAuth2 login to the smarthost: SASL XOAUTH2
 * or OAUTHBEARER with an access token, on a connection relay_smtp.c has
 * opened (greeting, TLS, EHLO done). Relay process only.
 */
#ifndef SUBGATE_RELAY_OAUTH_H
#define SUBGATE_RELAY_OAUTH_H

#include "conf.h"
#include "relay_smtp.h"
#include "smtp_sasl.h"

/*
 * Logs in as user with the access token. Returns 0 (2xx), or -1 with
 * l->error set: l->auth_refused when the smarthost refused the token (535:
 * the queue pauses, as for a refused password); any other refusal (4xx: try
 * later; 504: no such mechanism; a token too long for a response line) is a
 * failed connection. The token appears in no log line and in no l->error.
 */
int relay_oauth_login(struct relay_link *l, const struct conf *c, enum smtp_sasl_mech mech, const char *user,
		      const char *token);

#endif
