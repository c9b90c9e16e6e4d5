/*
 * tls_anchors.h - trust anchors for the relay's TLS client from a PEM CA
 * bundle (smarthost_ca), as BearSSL's tools/ta.c builds them: one per
 * certificate with an RSA or EC key (subject name, key, CA flag); a non-CA
 * certificate is trusted directly, for its key. Fixed stores, no allocation.
 */
#ifndef SUBGATE_TLS_ANCHORS_H
#define SUBGATE_TLS_ANCHORS_H

#include <bearssl.h>
#include <stddef.h>

/*
 * Loads the bundle at path into a free one of the two stores: *anchors and *n.
 * Returns the count (>0), or -1 with a reason in err (nothing loaded). A third
 * load while two sets are in use fails.
 */
int tls_anchors_load(br_x509_trust_anchor **anchors, size_t *n, const char *path, char *err, size_t errcap);

/* Gives the store of *anchors back; *anchors NULL, *n 0 (again: harmless). */
void tls_anchors_free(br_x509_trust_anchor **anchors, size_t *n);

/* 1 when both hold the same anchors (names, flags, keys) in the same order. */
int tls_anchors_equal(const br_x509_trust_anchor *a, size_t na, const br_x509_trust_anchor *b, size_t nb);

#endif
