/*
 * tls_pem.c - PEM and DER decoding of certificates and keys over BearSSL
 * (br_pem_decoder, br_x509_decoder, br_skey_decoder). Files are read in
 * pieces and each object decoded into one fixed buffer of
 * CONFIG_TLS_PEM_OBJECT_MAX bytes (wiped after each object: keys pass
 * through it): nothing is allocated, so a reload may load them again.
 */
#include "tls_pem.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fdmap.h"
#include "secret.h"

#define TLS_PEM_FILE_MAX ((size_t)4 * 1024 * 1024)
#define TLS_PEM_KEY_MAX  ((size_t)64 * 1024)

struct tls_pem_der {
	unsigned char *buf;
	size_t len, cap;
	int overflow;
};

/* One object's DER; the decoders are not re-entrant, and nothing here is either. */
static unsigned char tls_pem_der_buf[CONFIG_TLS_PEM_OBJECT_MAX];

static void tls_pem_append(void *ctx, const void *data, size_t len)
{
	struct tls_pem_der *d = ctx;

	if (d->overflow || len > d->cap - d->len) {
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

/* A PEM decoding under way: the decoder, the object's DER, its label, the count so far. */
struct tls_pem_run {
	br_pem_decoder_context pc;
	struct tls_pem_der d;
	char label[128];
	int count;
	tls_pem_object_fn fn;
	void *ctx;
};

static void tls_pem_run_init(struct tls_pem_run *r, tls_pem_object_fn fn, void *ctx)
{
	br_pem_decoder_init(&r->pc);
	r->d = (struct tls_pem_der){ tls_pem_der_buf, 0, sizeof(tls_pem_der_buf), 0 };
	r->count = 0;
	r->fn = fn;
	r->ctx = ctx;
}

/* Pushes text; returns 0, or -1 on bad PEM (or an object over the buffer, errno EFBIG). */
static int tls_pem_run_push(struct tls_pem_run *r, const char *text, size_t len)
{
	while (len > 0) {
		size_t n = br_pem_decoder_push(&r->pc, text, len);
		int rc = tls_pem_event(&r->pc, &r->d, r->label, sizeof(r->label), r->fn, r->ctx);

		if (rc < 0) {
			errno = r->d.overflow ? EFBIG : EINVAL;
			return -1;
		}
		r->count += rc;
		text += n;
		len -= n;
	}
	return 0;
}

int tls_pem_decode(const char *text, size_t len, tls_pem_object_fn fn, void *ctx)
{
	struct tls_pem_run r;
	int rc;

	tls_pem_run_init(&r, fn, ctx);
	rc = tls_pem_run_push(&r, text, len);
	secret_wipe(tls_pem_der_buf, sizeof(tls_pem_der_buf));
	return rc < 0 ? -1 : r.count;
}

int tls_pem_decode_file(const char *path, size_t max, tls_pem_object_fn fn, void *ctx)
{
	struct tls_pem_run r;
	char chunk[4096];
	size_t total = 0;
	ssize_t n;
	int fd = fdmap_open(path), rc = 0;

	if (fd < 0) {
		return -1;
	}
	tls_pem_run_init(&r, fn, ctx);
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		total += (size_t)n;
		rc = total > max ? (errno = EFBIG, -1) : tls_pem_run_push(&r, chunk, (size_t)n) < 0 ? -2 : 0;
	}
	if (rc == 0 && n < 0) {
		rc = -1;
	}
	if (rc == -2 && errno == EFBIG) {
		rc = -1; /* an object over CONFIG_TLS_PEM_OBJECT_MAX: too large, like the file */
	}
	secret_wipe(chunk, sizeof(chunk));
	secret_wipe(tls_pem_der_buf, sizeof(tls_pem_der_buf));
	close(fd);
	return rc < 0 ? rc : r.count;
}

ssize_t tls_pem_read_file(const char *path, char *buf, size_t cap)
{
	int fd = fdmap_open(path);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0 || cap == 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
	}
	close(fd);
	if (n < 0 || len >= cap) {
		secret_wipe(buf, cap);
		errno = n < 0 ? errno : EFBIG;
		return -1;
	}
	buf[len] = '\0';
	return (ssize_t)len;
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
	int rc = tls_pem_decode_file(path, TLS_PEM_FILE_MAX, tls_pem_count_cert, &count);

	if (rc == -1) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
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
	int rc = tls_pem_decode_file(path, TLS_PEM_KEY_MAX, tls_pem_probe_key, &probe);

	if (rc == -1) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
		return TLS_PEM_KEY_NONE;
	}
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
