/*
 * relay_addr_test.c - which addresses the relay may talk to without TLS
 * (relay_smtp_addr_loopback): the connected address, not the configured
 * name, decides.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "relay_smtp.h"

static int loopback(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(25);
		if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) {
			return -1;
		}
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(25);
		if (inet_pton(AF_INET, text, &in->sin_addr) != 1) {
			return -1;
		}
	}
	return relay_smtp_addr_loopback((const struct sockaddr *)&ss);
}

TEST(relay_addr_loopback_ipv4)
{
	CHECK(loopback("127.0.0.1") == 1);
	CHECK(loopback("127.0.10.7") == 1);
	CHECK(loopback("127.255.255.254") == 1);
	CHECK(loopback("128.0.0.1") == 0);
	CHECK(loopback("126.255.255.255") == 0);
	CHECK(loopback("10.0.0.1") == 0);
	CHECK(loopback("192.0.2.2") == 0);
	CHECK(loopback("0.0.0.0") == 0); /* Linux connects it to this host; no check can vouch for it */
	CHECK(loopback("255.255.255.255") == 0);
}

TEST(relay_addr_loopback_ipv6)
{
	CHECK(loopback("::1") == 1);
	CHECK(loopback("::ffff:127.0.0.1") == 1);
	CHECK(loopback("::ffff:127.1.2.3") == 1);
	CHECK(loopback("::") == 0);
	CHECK(loopback("::2") == 0);
	CHECK(loopback("::ffff:10.0.0.1") == 0);
	CHECK(loopback("::ffff:0.0.0.0") == 0);
	CHECK(loopback("::127.0.0.1") == 0); /* IPv4-compatible (deprecated), not mapped */
	CHECK(loopback("0:0:0:0:0:1:7f00:1") == 0);
	CHECK(loopback("fe80::1") == 0);
	CHECK(loopback("fd00::2") == 0);
	CHECK(loopback("2001:db8::1") == 0);
}

TEST(relay_addr_loopback_other_families)
{
	struct sockaddr_un un;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK(relay_smtp_addr_loopback((const struct sockaddr *)&un) == 0);
}
