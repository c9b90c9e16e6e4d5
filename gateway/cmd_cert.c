/*
 * cmd_cert.c - `subgate cert --self-signed`: a working TLS key and
 * certificate on a device without OpenSSL (first boot, a lab, a LAN-only
 * gateway). Runs as root on the host, outside the daemon. Each file is
 * written to a temporary name created with O_EXCL, fsynced, then renamed
 * (--force) or hard-linked (never replaces a file that appeared meanwhile)
 * into place, and the directory is fsynced: both files complete, or the
 * command fails naming the file.
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "build_info.h"
#include "cert_self.h"
#include "cli.h"
#include "conf.h"
#include "conf_value.h"
#include "fs.h"
#include "secret.h"
#include "timefmt.h"

#define CERT_USAGE                                                                                  \
	"usage: subgate cert --self-signed [-c FILE] [--cert FILE] [--key FILE] [--hostname NAME] " \
	"[--days N] [--force]"
#define CERT_DAYS_DEFAULT 3650
#define CERT_DAYS_MAX     36500
#define CERT_DAY          86400LL
#define CERT_KEY_PEM_MAX  512 /* an RFC 5915 P-256 key is about 230 bytes of PEM */

struct cert_args {
	const char *cert;
	const char *key;
	const char *hostname;
	unsigned days;
	int force;
	int from_conf; /* the host name came from the configuration */
};

struct cert_file {
	const char *path;
	char tmp[CONF_PATH_MAX + 32];
	int tmp_exists;
};

static struct conf cert_conf;

static int cert_take(int *argc, char **argv, const char *name, const char **out)
{
	int missing;

	*out = cli_take_value(argc, argv, name, &missing);
	if (missing) {
		log_err("option %s needs a value", name);
		return -1;
	}
	return 0;
}

static int cert_parse_days(const char *s, unsigned *days)
{
	char *end;
	unsigned long v;

	*days = CERT_DAYS_DEFAULT;
	if (s == NULL) {
		return 0;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > CERT_DAYS_MAX) {
		log_err("--days takes a number of days from 1 to %d, not '%s'", CERT_DAYS_MAX, s);
		return -1;
	}
	*days = (unsigned)v;
	return 0;
}

static int cert_parse_args(int argc, char **argv, struct cert_args *a, const char **conf_path)
{
	const char *days = NULL;
	int self_signed;

	*conf_path = cli_take_config(&argc, argv);
	if (*conf_path == NULL || cert_take(&argc, argv, "--cert", &a->cert) < 0 ||
	    cert_take(&argc, argv, "--key", &a->key) < 0 || cert_take(&argc, argv, "--hostname", &a->hostname) < 0 ||
	    cert_take(&argc, argv, "--days", &days) < 0) {
		return EX_USAGE;
	}
	self_signed = cli_take_flag(&argc, argv, "--self-signed");
	a->force = cli_take_flag(&argc, argv, "--force");
	if (argc != 1 || !self_signed) {
		log_err("%s", CERT_USAGE);
		return EX_USAGE;
	}
	return cert_parse_days(days, &a->days) < 0 ? EX_USAGE : 0;
}

/* Fills what the command line left open from the configuration's tls_cert, tls_key and hostname. */
static int cert_defaults(struct cert_args *a, const char *conf_path)
{
	if (a->cert != NULL && a->key != NULL && a->hostname != NULL) {
		return 0; /* the configuration is not needed (and may not exist yet) */
	}
	if (conf_load(&cert_conf, conf_path) < 0) {
		log_err("%s: cannot take the defaults from it; fix it or give --cert, --key and --hostname", conf_path);
		return cert_conf.unreadable ? EX_NOINPUT : EX_CONFIG;
	}
	a->from_conf = a->hostname == NULL;
	a->cert = a->cert != NULL ? a->cert : cert_conf.tls_cert;
	a->key = a->key != NULL ? a->key : cert_conf.tls_key;
	a->hostname = a->hostname != NULL ? a->hostname : cert_conf.hostname;
	return 0;
}

static int cert_check_args(const struct cert_args *a)
{
	char host[ADDR_DOMAIN_MAX + 1], err[160];
	int bad = a->from_conf ? EX_CONFIG : EX_USAGE;

	if (conf_value_hostname(a->hostname, host, sizeof(host), err, sizeof(err)) < 0) {
		log_err("%s", err);
		return bad;
	}
	if (conf_host_is_ip(host)) {
		log_err("'%s' is an address; the certificate needs a DNS name (--hostname NAME)", host);
		return bad;
	}
	if (strlen(host) > CERT_SELF_CN_MAX) {
		log_err("host name '%s' is longer than %d characters, the limit of a certificate's common name", host,
			CERT_SELF_CN_MAX);
		return bad;
	}
	if (a->cert[0] == '\0' || a->key[0] == '\0' || strcmp(a->cert, a->key) == 0) {
		log_err("the certificate and the key need two different files (--cert FILE --key FILE)");
		return EX_USAGE;
	}
	return 0;
}

static int cert_refuse_existing(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		log_err("%s exists; use --force to replace it", path);
		return EX_CANTCREAT;
	}
	return 0;
}

/* Writes data to PATH.new.PID (O_EXCL, exactly mode, fsynced). */
static int cert_write_tmp(struct cert_file *f, const void *data, size_t len, mode_t mode)
{
	int fd, n = snprintf(f->tmp, sizeof(f->tmp), "%s.new.%ld", f->path, (long)getpid());

	if (n < 0 || (size_t)n >= sizeof(f->tmp)) {
		log_err("cannot create %s: the file name is too long", f->path);
		return EX_CANTCREAT;
	}
	fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		log_err("cannot create %s: %s", f->path, strerror(errno));
		return EX_CANTCREAT;
	}
	f->tmp_exists = 1;
	if (fchmod(fd, mode) < 0 || fs_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		log_err("cannot write %s: %s", f->path, strerror(errno));
		(void)close(fd);
		return EX_IOERR;
	}
	if (close(fd) < 0) {
		log_err("cannot write %s: %s", f->path, strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

/* Moves the temporary file into place: rename with --force, else link (fails if the file appeared). */
static int cert_install(struct cert_file *f, int force)
{
	int rc = force ? rename(f->tmp, f->path) : link(f->tmp, f->path);

	if (rc < 0 && !force && (errno == EPERM || errno == EOPNOTSUPP) && access(f->path, F_OK) < 0) {
		rc = rename(f->tmp, f->path); /* a file system without hard links */
	}
	if (rc < 0) {
		if (errno == EEXIST) {
			log_err("%s exists; use --force to replace it", f->path);
		} else {
			log_err("cannot create %s: %s", f->path, strerror(errno));
		}
		return EX_CANTCREAT;
	}
	return 0;
}

static int cert_write_pair(const struct cert_args *a, const char *key_pem, size_t key_len, const char *cert_pem,
			   size_t cert_len)
{
	struct cert_file key = { .path = a->key }, cert = { .path = a->cert };
	int rc = cert_write_tmp(&key, key_pem, key_len, 0600);

	if (rc == 0) {
		rc = cert_write_tmp(&cert, cert_pem, cert_len, 0644);
	}
	if (rc == 0) {
		rc = cert_install(&key, a->force);
	}
	if (rc == 0 && (rc = cert_install(&cert, a->force)) != 0) {
		if (a->force) {
			log_err("%s was replaced but %s was not: they do not match; run the command again", a->key,
				a->cert);
		} else {
			(void)unlink(a->key); /* made by this run: leave nothing half done */
		}
	}
	if (rc == 0 && (fs_sync_parent_dir(a->key) < 0 || fs_sync_parent_dir(a->cert) < 0)) {
		log_err("cannot sync the directory of %s or %s: %s", a->key, a->cert, strerror(errno));
		rc = EX_IOERR;
	}
	if (key.tmp_exists) {
		(void)unlink(key.tmp);
	}
	if (cert.tmp_exists) {
		(void)unlink(cert.tmp);
	}
	return rc;
}

static void cert_report(const struct cert_args *a, const struct cert_self_req *r, const unsigned char *der,
			size_t der_len, const unsigned char pin[32])
{
	unsigned char fp[br_sha256_SIZE];
	char from[TIMEFMT_RFC5322_LEN], until[TIMEFMT_RFC5322_LEN], pin64[BASE64_ENCODED_SIZE(32)];
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, der, der_len);
	br_sha256_out(&h, fp);
	timefmt_rfc5322((time_t)r->not_before, from, sizeof(from));
	timefmt_rfc5322((time_t)r->not_after, until, sizeof(until));
	if (base64_encode(pin, 32, pin64, sizeof(pin64)) < 0) {
		pin64[0] = '\0';
	}
	printf("key:         %s (EC P-256, mode 0600)\n", a->key);
	printf("certificate: %s (mode 0644, self-signed)\n", a->cert);
	printf("subject:     CN=%s, DNS:%s\n", r->hostname, r->hostname);
	printf("valid:       %s to %s\n", from, until);
	printf("sha256:      ");
	for (size_t i = 0; i < sizeof(fp); i++) {
		printf("%02X%s", fp[i], i + 1 < sizeof(fp) ? ":" : "\n");
	}
	printf("pin:         sha256/%s\n", pin64);
}

static int cert_make(const struct cert_args *a)
{
	struct cert_self_key key;
	struct cert_self_req req = { .hostname = a->hostname };
	unsigned char der[CERT_SELF_DER_MAX], pin[32];
	char key_pem[CERT_KEY_PEM_MAX], cert_pem[CERT_SELF_PEM_MAX];
	size_t key_len = 0, der_len = 0, cert_len = 0;
	long long now = (long long)time(NULL);
	int rc = 0;

	/* A device without a real-time clock may think it is 1970: never start before the build. */
	req.not_before = (now > SUBGATE_BUILD_EPOCH ? now : SUBGATE_BUILD_EPOCH) - CERT_DAY;
	req.not_after = req.not_before + (long long)a->days * CERT_DAY;
	if (cert_self_keygen(&key) < 0 || cert_self_serial(&req) < 0) {
		log_err("cannot make a key: %s", strerror(errno));
		return EX_OSERR;
	}
	key_len = cert_self_key_pem(&key, key_pem, sizeof(key_pem));
	der_len = cert_self_build(&req, &key, der, sizeof(der));
	cert_len = der_len != 0 ? cert_self_cert_pem(der, der_len, cert_pem, sizeof(cert_pem)) : 0;
	cert_self_spki_sha256(&key, pin);
	cert_self_key_wipe(&key);
	if (key_len == 0 || cert_len == 0) {
		log_err("cannot encode the key or the certificate for '%s'", a->hostname);
		rc = EX_SOFTWARE;
	}
	if (rc == 0) {
		rc = cert_write_pair(a, key_pem, key_len, cert_pem, cert_len);
	}
	secret_wipe(key_pem, sizeof(key_pem));
	if (rc == 0) {
		cert_report(a, &req, der, der_len, pin);
	}
	return rc;
}

int cmd_cert(int argc, char **argv)
{
	struct cert_args a;
	const char *conf_path;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = cert_parse_args(argc, argv, &a, &conf_path);
	if (rc == 0) {
		rc = cert_defaults(&a, conf_path);
	}
	if (rc == 0) {
		rc = cert_check_args(&a);
	}
	if (rc == 0 && !a.force) {
		rc = cert_refuse_existing(a.key);
		if (rc == 0) {
			rc = cert_refuse_existing(a.cert);
		}
	}
	return rc != 0 ? rc : cert_make(&a);
}
