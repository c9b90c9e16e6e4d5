/*
 * base64_test.c - RFC 4648 section 10 vectors and strictness of the decoder.
 */
#include <string.h>

#include "base64.h"
#include "harness.h"

TEST(base64_rfc4648_vectors)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char enc[16];
	unsigned char dec[16];

	for (size_t i = 0; i < 7; i++) {
		size_t n = strlen(plain[i]);

		CHECK(base64_encode(plain[i], n, enc, sizeof(enc)) == (long)strlen(coded[i]));
		CHECK_STR(enc, coded[i]);
		CHECK(base64_decode(coded[i], strlen(coded[i]), dec, sizeof(dec)) == (long)n);
		CHECK(memcmp(dec, plain[i], n) == 0);
	}
}

TEST(base64_rejects_malformed)
{
	static const char *const bad[] = { "Zg=",  "Zg",     "Z===", "Zh==",     "Zm9=",
					   "Zm 9", "Zm9v\n", "=Zm9", "Zg==Zg==", "Zm-v" };
	unsigned char dec[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) == -1);
	}
}

TEST(base64_bounds)
{
	char enc[8];
	unsigned char dec[2];

	CHECK(base64_encode("foobar", 6, enc, 8) == -1); /* needs 9 with NUL */
	CHECK(base64_decode("Zm9v", 4, dec, sizeof(dec)) == -1);
	CHECK(BASE64_ENCODED_SIZE(32) == 45);
}
