/*
 * tls_pem.c - PEM and DER decoding of certificates and keys over BearSSL
 * (br_pem_decoder, br_x509_decoder, br_skey_decoder).
 */
#include "tls_pem.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdmap.h"
#include "secret.h"

#define TLS_PEM_FILE_MAX ((size_t)4 * 1024 * 1024)
#define TLS_PEM_KEY_MAX  ((size_t)64 * 1024)

struct tls_pem_der {
	unsigned char *buf;
	size_t len, cap;
	int overflow;
};

static void tls_pem_append(void *ctx, const void *data, size_t len)
{
	struct tls_pem_der *d = ctx;

	if (d->overflow || d->len + len > d->cap) {
		d->overflow = 1;
		return;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
}

static int tls_pem_event(br_pem_decoder_context *pc, struct tls_pem_der *d, char *label, size_t label_cap,
			 tls_pem_object_fn fn, void *ctx)
{
	switch (br_pem_decoder_event(pc)) {
	case BR_PEM_BEGIN_OBJ:
		snprintf(label, label_cap, "%s", br_pem_decoder_name(pc));
		d->len = 0;
		d->overflow = 0;
		br_pem_decoder_setdest(pc, tls_pem_append, d);
		return 0;
	case BR_PEM_END_OBJ:
		return d->overflow ? -1 : fn(label, d->buf, d->len, ctx) < 0 ? -1 : 1;
	case BR_PEM_ERROR:
		return -1;
	default:
		return 0;
	}
}

int tls_pem_decode(const char *text, size_t len, tls_pem_object_fn fn, void *ctx)
{
	br_pem_decoder_context pc;
	struct tls_pem_der d = { .cap = len };
	char label[128];
	int count = 0;

	d.buf = malloc(len ? len : 1);
	if (d.buf == NULL) {
		return -1;
	}
	br_pem_decoder_init(&pc);
	while (len > 0) {
		size_t n = br_pem_decoder_push(&pc, text, len);
		int rc = tls_pem_event(&pc, &d, label, sizeof(label), fn, ctx);

		if (rc < 0) {
			count = -1;
			break;
		}
		count += rc;
		text += n;
		len -= n;
	}
	secret_wipe(d.buf, d.cap);
	free(d.buf);
	return count;
}

char *tls_pem_read_file(const char *path, size_t max, size_t *len)
{
	int fd = fdmap_open(path);
	char *buf = NULL;
	ssize_t n;

	*len = 0;
	if (fd < 0) {
		return NULL;
	}
	buf = malloc(max + 1);
	while (buf != NULL && (n = read(fd, buf + *len, max + 1 - *len)) > 0) {
		*len += (size_t)n;
	}
	close(fd);
	if (buf != NULL && *len > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	return buf;
}

struct tls_pem_cert_count {
	int certs;
	int bad;
};

static int tls_pem_count_cert(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct tls_pem_cert_count *c = ctx;
	br_x509_decoder_context dc;

	if (strcmp(label, "CERTIFICATE") != 0 && strcmp(label, "X509 CERTIFICATE") != 0) {
		return 0;
	}
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	if (br_x509_decoder_last_error(&dc) != 0) {
		c->bad++;
	} else {
		c->certs++;
	}
	return 0;
}

int tls_pem_check_certs(const char *path, char *err, size_t errcap)
{
	struct tls_pem_cert_count count = { 0, 0 };
	size_t len;
	char *text = tls_pem_read_file(path, TLS_PEM_FILE_MAX, &len);
	int rc;

	if (text == NULL) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	rc = tls_pem_decode(text, len, tls_pem_count_cert, &count);
	free(text);
	if (rc < 0 || count.bad > 0 || count.certs == 0) {
		snprintf(err, errcap, "%s: %s", path,
			 rc < 0      ? "not valid PEM"
			 : count.bad ? "a certificate does not decode"
				     : "no certificate found");
		return -1;
	}
	return count.certs;
}

struct tls_pem_key_probe {
	enum tls_pem_key_type type;
	int objects;
};

static int tls_pem_probe_key(const char *label, const unsigned char *der, size_t len, void *ctx)
{
	struct tls_pem_key_probe *p = ctx;
	br_skey_decoder_context kc;

	if (strstr(label, "PRIVATE KEY") == NULL) {
		return 0;
	}
	p->objects++;
	br_skey_decoder_init(&kc);
	br_skey_decoder_push(&kc, der, len);
	if (br_skey_decoder_last_error(&kc) == 0) {
		p->type = br_skey_decoder_key_type(&kc) == BR_KEYTYPE_RSA ? TLS_PEM_KEY_RSA : TLS_PEM_KEY_EC;
	}
	secret_wipe(&kc, sizeof(kc));
	return 0;
}

enum tls_pem_key_type tls_pem_check_key(const char *path, char *err, size_t errcap)
{
	struct tls_pem_key_probe probe = { TLS_PEM_KEY_NONE, 0 };
	size_t len;
	char *text = tls_pem_read_file(path, TLS_PEM_KEY_MAX, &len);
	int rc;

	if (text == NULL) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
		return TLS_PEM_KEY_NONE;
	}
	rc = tls_pem_decode(text, len, tls_pem_probe_key, &probe);
	secret_wipe(text, len);
	free(text);
	if (rc < 0 || probe.objects != 1 || probe.type == TLS_PEM_KEY_NONE) {
		snprintf(err, errcap, "%s: %s", path,
			 rc < 0              ? "not valid PEM"
			 : probe.objects > 1 ? "more than one private key"
			 : probe.objects < 1 ? "no private key found"
					     : "private key does not decode (RSA or EC expected)");
		return TLS_PEM_KEY_NONE;
	}
	return probe.type;
}
