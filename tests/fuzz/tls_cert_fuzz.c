/*
 * tls_cert_fuzz.c - libFuzzer target for tls_cert_spki() and
 * tls_cert_has_ip(), which walk the smarthost's leaf certificate (DER that
 * a hostile smarthost chooses; the relay reads it before the chain check
 * has finished). Checks: the SPKI found lies inside the input and starts
 * with a SEQUENCE tag; tls_cert_has_ip answers -1, 0 or 1, the same for
 * both address sizes' walks of the same bytes when the DER is malformed;
 * and whenever both the walker and BearSSL's own decoder accept the
 * certificate, the key BearSSL extracts lies inside the SPKI the walker
 * found (the pin hashes one, the handshake uses the other: they must be
 * the same key). Built by tests/fuzz/run.sh.
 */
#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tcf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static br_x509_decoder_context tcf_dc;

/* BearSSL's key for the certificate (what the handshake would use), or NULL. */
static const br_x509_pkey *tcf_bearssl_key(const uint8_t *data, size_t size)
{
	br_x509_decoder_init(&tcf_dc, NULL, NULL);
	br_x509_decoder_push(&tcf_dc, data, size);
	return br_x509_decoder_last_error(&tcf_dc) == 0 ? br_x509_decoder_get_pkey(&tcf_dc) : NULL;
}

/*
 * The pin hashes the bytes tls_cert_spki finds, the handshake uses the key
 * BearSSL decodes: the key's bytes must lie inside that span, or a
 * certificate could show the pinned SPKI to one and another key to the other.
 */
static void tcf_check_same_key(const br_x509_pkey *pk, const uint8_t *spki, size_t len)
{
	const unsigned char *k = pk->key_type == BR_KEYTYPE_RSA ? pk->key.rsa.n : pk->key.ec.q;
	size_t klen = pk->key_type == BR_KEYTYPE_RSA ? pk->key.rsa.nlen : pk->key.ec.qlen;

	tcf_assert(klen > 0 && memmem(spki, len, k, klen) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char v4[4] = { 127, 0, 0, 1 };
	static const unsigned char v6[16] = { [15] = 1 };
	static const unsigned char v4_long[5] = { 127, 0, 0, 1, 0 };
	size_t off = 0, spki_len = 0;
	int spki = tls_cert_spki(data, size, &off, &spki_len);

	const br_x509_pkey *pk = tcf_bearssl_key(data, size);

	if (spki == 0) {
		tcf_assert(off < size && spki_len >= 2 && spki_len <= size - off && data[off] == 0x30);
		if (pk != NULL) {
			tcf_check_same_key(pk, data + off, spki_len);
		}
	} else {
		/*
		 * The walker reads DER only; BearSSL's decoder also takes BER's
		 * non-minimal lengths (found by this target). Where the walker
		 * refuses, the pin and the IP check fail closed: the relay defers.
		 */
		tcf_assert(spki == -1);
	}
	int a = tls_cert_has_ip(data, size, v4, sizeof(v4));
	int b = tls_cert_has_ip(data, size, v6, sizeof(v6));
	tcf_assert(a >= -1 && a <= 1 && b >= -1 && b <= 1);
	tcf_assert((a == -1) == (b == -1));
	tcf_assert(tls_cert_has_ip(data, size, v4_long, sizeof(v4_long)) != 1);
	return 0;
}
