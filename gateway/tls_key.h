/*
 * tls_key.h - the server's TLS private key, held by the `auth` process alone
 * (DESIGN.md section 1): loading it at start and signing the handshake
 * hashes sessions send (the ServerKeyExchange of an ECDHE suite). Sessions
 * never see the key; see tls_server.c for their side.
 */
#ifndef SUBGATE_TLS_KEY_H
#define SUBGATE_TLS_KEY_H

#include <bearssl.h>
#include <stddef.h>

#define TLS_SIG_MAX  512 /* an RSA-4096 signature; ECDSA P-521 DER is 139 */
#define TLS_HASH_MAX 64

struct tls_key {
	int type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC; 0: none loaded */
	br_rsa_private_key rsa;
	br_ec_private_key ec;
	unsigned char buf[5 * 512 + 8]; /* the key's numbers: RSA p q dp dq iq, or the EC scalar */
};

/* Loads a PEM private key (start-up, before the jail). Returns 0 or -1 with a reason in err. */
int tls_key_load(struct tls_key *k, const char *path, char *err, size_t errcap);

/*
 * Signs a handshake hash. algo_id is BearSSL's (0xFF00 + hash id; id 0 is the
 * TLS 1.0 MD5+SHA-1 concatenation, RSA only). Returns the signature length,
 * or 0 when the request does not fit the key.
 */
size_t tls_key_sign(const struct tls_key *k, unsigned algo_id, const unsigned char *hv, size_t hv_len,
		    unsigned char *sig, size_t sig_cap);

/* Forgets the key. */
void tls_key_wipe(struct tls_key *k);

/* Moves a loaded key into dst (its numbers point into its own buf), then wipes src. */
void tls_key_move(struct tls_key *dst, struct tls_key *src);

#endif
