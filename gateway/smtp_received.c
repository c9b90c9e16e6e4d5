/*
 * smtp_received.c - builds the Received: header of a submitted message; see
 * smtp_received.h. Owns nothing but its formatting rules.
 */
#include "smtp_received.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"

#define SR_SHORT 64  /* the free-form fields' width when the whole header does not fit */
#define SR_FULL  900 /* any field's width: every folded line stays under 998 characters */

static int sr_helo_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '[' || c == ']' || c == ':';
}

void smtp_received_helo(char *out, size_t cap, const char *helo)
{
	size_t i = 0;

	for (; helo[i] != '\0' && i + 1 < cap; i++) {
		out[i] = helo[i];
		if (!sr_helo_char(helo[i])) {
			out[i] = '?';
		}
	}
	out[i] = '\0';
}

/* One attempt: fields cut to width bytes (0: whole); with_for adds the recipient. Returns snprintf's count. */
static int sr_try(char *out, size_t cap, const struct smtp_received *r, const char *helo, int width, int with_for)
{
	int w = width > 0 ? width : SR_FULL;

	return snprintf(out, cap,
			"Received: from %.*s ([%.*s])\r\n\t(using %.*s)\r\n\t(Authenticated sender: %.*s)\r\n"
			"\tby %.*s (subgate) with ESMTPSA id %.*s%s%.*s%s;\r\n\t%.*s\r\n",
			w, helo, SR_FULL, r->client, w, r->tls, w, r->user, w, r->by, SR_FULL, r->id,
			with_for ? "\r\n\tfor <" : "", SR_FULL, with_for ? r->rcpt : "", with_for ? ">" : "", SR_FULL,
			r->date);
}

size_t smtp_received_format(char *out, size_t cap, const struct smtp_received *r)
{
	char helo[ADDR_DOMAIN_MAX + 1];
	int n;

	if (cap == 0) {
		return 0;
	}
	smtp_received_helo(helo, sizeof(helo), r->helo);
	n = sr_try(out, cap, r, helo, 0, r->rcpt != NULL);
	if (n < 0 || (size_t)n >= cap) {
		n = sr_try(out, cap, r, helo, 0, 0);
	}
	if (n < 0 || (size_t)n >= cap) {
		n = sr_try(out, cap, r, helo, SR_SHORT, 0);
	}
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
