/*
 * tls_engine_test.c - the one table of BearSSL error texts (tls_engine.c):
 * what the session's and the relay's log lines say for each named code, the
 * alert and X.509 ranges with the peer named, the fallback, and a buffer too
 * small for the numbered texts.
 */
#include <bearssl.h>
#include <string.h>

#include "harness.h"
#include "tls_engine.h"

TEST(tls_engine_error_names_codes_once_for_both_sides)
{
	static const struct {
		int err;
		const char *peer;
		const char *text;
	} cases[] = {
		{ BR_ERR_OK, "client", "connection closed" },
		{ BR_ERR_IO, "server", "I/O error" },
		{ BR_ERR_BAD_VERSION, "client", "unsupported protocol version" },
		{ BR_ERR_UNSUPPORTED_VERSION, "server", "unsupported protocol version" },
		{ BR_ERR_BAD_CIPHER_SUITE, "client", "no shared cipher suite" },
		{ BR_ERR_NO_CLIENT_AUTH, "client", "no shared cipher suite" },
		{ BR_ERR_UNEXPECTED, "client", "unexpected message" },
		{ BR_ERR_BAD_MAC, "server", "bad record MAC" },
		{ BR_ERR_WRONG_KEY_USAGE, "server", "certificate key does not fit the cipher suite" },
		{ BR_ERR_X509_EXPIRED, "server", "certificate expired or not yet valid" },
		{ BR_ERR_X509_NOT_TRUSTED, "server", "unknown CA" },
		{ BR_ERR_X509_BAD_SERVER_NAME, "server", "host name mismatch" },
		{ BR_ERR_X509_LIMIT_EXCEEDED, "server", "certificate or chain too large" },
		{ BR_ERR_X509_BAD_SIGNATURE, "server", "bad certificate (X.509 error 52)" },
		{ BR_ERR_RECV_FATAL_ALERT + 40, "server", "server sent fatal alert 40" },
		{ BR_ERR_RECV_FATAL_ALERT + 46, "client", "client sent fatal alert 46" },
		{ BR_ERR_SEND_FATAL_ALERT + 80, "client", "sent fatal alert 80" },
		{ BR_ERR_BAD_PARAM, "client", "TLS error 1" },
		{ 200, "client", "TLS error 200" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		CHECK_STR(tls_engine_error(cases[i].err, cases[i].peer, buf, sizeof(buf)), cases[i].text);
	}
}

TEST(tls_engine_error_numbered_text_fits_the_buffer)
{
	char buf[8];

	CHECK_STR(tls_engine_error(BR_ERR_RECV_FATAL_ALERT + 40, "server", buf, sizeof(buf)), "server ");
	CHECK_STR(tls_engine_error(BR_ERR_OK, "server", buf, 1), "connection closed"); /* named: no buffer used */
}
