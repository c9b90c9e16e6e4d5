/*
 * addr_test.c - address syntax and sender matching.
 */
#include <string.h>

#include "addr.h"
#include "harness.h"

#define VALID_MAILBOX(s) addr_valid_mailbox((s), strlen(s))
#define VALID_DOMAIN(s)  addr_valid_domain((s), strlen(s))

TEST(addr_mailboxes)
{
	CHECK(VALID_MAILBOX("alice@example.com"));
	CHECK(VALID_MAILBOX("a.b+tag@sub.example.co.uk"));
	CHECK(VALID_MAILBOX("x@localhost"));
	CHECK(!VALID_MAILBOX("alice"));
	CHECK(!VALID_MAILBOX("@example.com"));
	CHECK(!VALID_MAILBOX("alice@"));
	CHECK(!VALID_MAILBOX(".alice@example.com"));
	CHECK(!VALID_MAILBOX("al..ice@example.com"));
	CHECK(!VALID_MAILBOX("al ice@example.com"));
	CHECK(!VALID_MAILBOX("alice@exa mple.com"));
	CHECK(!VALID_MAILBOX("alice@-example.com"));
	CHECK(!VALID_MAILBOX("alice@example..com"));
	CHECK(!VALID_MAILBOX("\"q\"@example.com"));
	CHECK(!addr_valid_mailbox("a\0b@example.com", 15));
}

TEST(addr_length_limits)
{
	char local[70], domain[300], mailbox[400];

	memset(local, 'a', 64);
	local[64] = '\0';
	CHECK(addr_valid_local(local, 64));
	memset(local, 'a', 65);
	CHECK(!addr_valid_local(local, 65));
	memset(domain, 'b', 63);
	memcpy(domain + 63, ".com", 5);
	CHECK(VALID_DOMAIN(domain));
	memset(domain, 'b', 64);
	memcpy(domain + 64, ".com", 5);
	CHECK(!VALID_DOMAIN(domain)); /* label of 64 */
	memset(mailbox, 'c', 64);
	mailbox[64] = '@';
	for (int i = 0; i < 4; i++) {
		memset(mailbox + 65 + (size_t)i * 50, 'd', 49);
		mailbox[65 + i * 50 + 49] = '.';
	}
	memcpy(mailbox + 265, "com", 4);
	CHECK(!VALID_MAILBOX(mailbox)); /* longer than 254 */
}

TEST(addr_sender_specs)
{
	CHECK(addr_valid_sender_spec("@example.com", 12));
	CHECK(!addr_valid_sender_spec("@", 1));
	CHECK(!addr_valid_sender_spec("@@example.com", 13));
	CHECK(addr_matches_spec("alice@Example.COM", "alice@example.com"));
	CHECK(!addr_matches_spec("Alice@example.com", "alice@example.com")); /* local part is exact */
	CHECK(addr_matches_spec("bob@example.com", "@EXAMPLE.com"));
	CHECK(!addr_matches_spec("bob@sub.example.com", "@example.com"));
	CHECK(!addr_matches_spec("bob@example.com.evil", "@example.com"));
	CHECK(!addr_matches_spec("alice@example.com", "alic@example.com"));
	CHECK(!addr_matches_spec("nobody", "@example.com"));
}
