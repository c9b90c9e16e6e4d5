/*
 * relay_oauth.c - the relay's OAuth2 login (relay process): AUTH XOAUTH2 or
 * OAUTHBEARER (messages from smtp_sasl.c). The initial response goes on the
 * AUTH line when the line fits in a command line (512 octets, RFC 4954 4);
 * otherwise, as curl does for Microsoft's 2-4 KB tokens, AUTH goes alone and
 * the response follows the server's empty 334 (up to 12288 octets). A
 * refused token comes back as a 334 with a base64 JSON error, answered with
 * the dummy response (empty for XOAUTH2, ^A for OAUTHBEARER, RFC 7628 3.2.3)
 * so that the server sends its final 535. The buffers that held the token
 * are wiped before returning.
 */
#include "relay_oauth.h"

#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "secret.h"

static char ro_message[SMTP_SASL_MESSAGE_MAX];
static char ro_line[sizeof("AUTH OAUTHBEARER ") + SMTP_SASL_LINE_MAX]; /* "AUTH MECH " then the base64 */

/* A refusal: 535 means the token was refused (the queue pauses). e: what the error challenge said, or NULL. */
static int ro_refused(struct relay_link *l, const char *mech, const struct smtp_reply *r,
		      const struct smtp_sasl_error *e)
{
	l->auth_refused = r->code == 535;
	if (e == NULL) {
		return relay_smtp_fail(l, "AUTH %s refused: %d %s%s%s", mech, r->code, r->enhanced,
				       r->enhanced[0] ? " " : "", r->text);
	}
	return relay_smtp_fail(l, "AUTH %s refused: %d %s%s%s (token error: status %s%s%s)", mech, r->code, r->enhanced,
			       r->enhanced[0] ? " " : "", r->text, e->status[0] ? e->status : "unknown",
			       e->scope[0] ? ", scope " : "", e->scope);
}

/* After a 334 error challenge: the dummy response, then the final reply. */
static int ro_failure_dance(struct relay_link *l, const struct conf *c, enum smtp_sasl_mech mech,
			    const struct smtp_reply *challenge)
{
	const char *ack = smtp_sasl_failure_ack(mech);
	struct smtp_sasl_error e;
	struct smtp_reply r;

	smtp_sasl_challenge(challenge->text, strlen(challenge->text), &e);
	if (relay_smtp_line(l, ack, strlen(ack)) < 0 || relay_smtp_reply(l, c, &r) < 0) {
		return -1;
	}
	if (r.code == 334 && (relay_smtp_line(l, "*", 1) < 0 || relay_smtp_reply(l, c, &r) < 0)) {
		return -1; /* it asks again: cancelled (RFC 4954 4) */
	}
	if (SMTP_REPLY_CLASS(r.code) == 2) {
		return 0;
	}
	return ro_refused(l, smtp_sasl_mech_name(mech), &r, &e);
}

/* The exchange for a message of mlen bytes in ro_message. */
static int ro_exchange(struct relay_link *l, const struct conf *c, enum smtp_sasl_mech mech, size_t mlen)
{
	const char *name = smtp_sasl_mech_name(mech);
	int plen = snprintf(ro_line, sizeof(ro_line), "AUTH %s ", name);
	long blen = base64_encode(ro_message, mlen, ro_line + plen, sizeof(ro_line) - (size_t)plen);
	struct smtp_reply r;

	if (blen < 0 || (size_t)blen + 2 > SMTP_SASL_LINE_MAX) {
		return relay_smtp_fail(l, "the OAuth response is too long for an AUTH line");
	}
	if ((size_t)plen + (size_t)blen + 2 <= SMTP_SASL_COMMAND_MAX) {
		if (relay_smtp_line(l, ro_line, (size_t)plen + (size_t)blen) < 0 || relay_smtp_reply(l, c, &r) < 0) {
			return -1;
		}
	} else {
		if (relay_smtp_line(l, ro_line, (size_t)plen - 1) < 0 || relay_smtp_reply(l, c, &r) < 0) {
			return -1;
		}
		if (r.code != 334) {
			return ro_refused(l, name, &r, NULL);
		}
		if (relay_smtp_line(l, ro_line + plen, (size_t)blen) < 0 || relay_smtp_reply(l, c, &r) < 0) {
			return -1;
		}
	}
	if (r.code == 334) {
		return ro_failure_dance(l, c, mech, &r);
	}
	return SMTP_REPLY_CLASS(r.code) == 2 ? 0 : ro_refused(l, name, &r, NULL);
}

int relay_oauth_login(struct relay_link *l, const struct conf *c, enum smtp_sasl_mech mech, const char *user,
		      const char *token)
{
	const char *name = smtp_sasl_mech_name(mech);
	long n;
	int rc;

	if (!(mech == SMTP_SASL_XOAUTH2 ? l->ehlo.auth_xoauth2 : l->ehlo.auth_oauthbearer)) {
		return relay_smtp_fail(l, "%s does not offer AUTH %s", l->peer, name);
	}
	n = mech == SMTP_SASL_XOAUTH2 ? smtp_sasl_xoauth2(ro_message, sizeof(ro_message), user, token)
				      : smtp_sasl_oauthbearer(ro_message, sizeof(ro_message), user, c->smarthost_host,
							      c->smarthost_port, token);
	if (n == SMTP_SASL_TOO_LONG) {
		rc = relay_smtp_fail(
		    l, "AUTH %s: the access token (%zu bytes) is too long for a response line (%d octets)", name,
		    strlen(token), SMTP_SASL_LINE_MAX);
	} else if (n < 0) {
		rc = relay_smtp_fail(l, "AUTH %s: the user name or the access token holds characters SASL cannot carry",
				     name);
	} else {
		rc = ro_exchange(l, c, mech, (size_t)n);
	}
	secret_wipe(ro_message, sizeof(ro_message));
	secret_wipe(ro_line, sizeof(ro_line));
	return rc;
}
