/*
 * addr.h - mail address syntax (RFC 5321 section 4.1.2 and 4.5.3.1 limits).
 * Pure functions used by the config parser, the user database and the SMTP
 * session. Quoted local parts and address literals are not accepted.
 */
#ifndef SUBGATE_ADDR_H
#define SUBGATE_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX  64
#define ADDR_DOMAIN_MAX 255
#define ADDR_MAX        254 /* 256-octet path minus the angle brackets */

/* 1 if s is a syntactically valid host or domain name (LDH labels, dots between). */
int addr_valid_domain(const char *s, size_t len);

/* 1 if s is a valid dot-atom local part. */
int addr_valid_local(const char *s, size_t len);

/* 1 if s is local@domain within the RFC 5321 limits. */
int addr_valid_mailbox(const char *s, size_t len);

/* 1 if s is a mailbox or "@domain" (an allowed-sender entry). */
int addr_valid_sender_spec(const char *s, size_t len);

/*
 * 1 if address is covered by spec: equal mailbox (local part exact, domain
 * case-insensitive), or spec "@domain" matching the address's domain.
 */
int addr_matches_spec(const char *address, const char *spec);

#endif
