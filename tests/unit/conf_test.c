/*
 * conf_test.c - the subgate.conf parser: values, defaults, and every kind of
 * error naming the right line. Table-driven.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_value.h"
#include "harness.h"

#define BASE "hostname = gw.example.net\nsmarthost = [smtp.example.com]:587\n"

static struct conf conf_under_test;

static int parse(const char *text)
{
	return conf_parse_buffer(&conf_under_test, "/etc/subgate/test.conf", text, strlen(text));
}

TEST(conf_minimal_with_defaults)
{
	struct conf *c = &conf_under_test;

	CHECK(parse(BASE) == 0);
	CHECK_STR(c->hostname, "gw.example.net");
	CHECK_STR(c->helo_name, "gw.example.net");
	CHECK_STR(c->smarthost_host, "smtp.example.com");
	CHECK(c->smarthost_port == 587 && c->smarthost_bracketed);
	CHECK(c->smarthost_tls == CONF_SMARTHOST_STARTTLS);
	CHECK_STR(c->smarthost_ca, CONFIG_RELAY_DEFAULT_CA_FILE);
	CHECK_STR(c->spool, CONFIG_SPOOL_DIR);
	CHECK_STR(c->run_as, CONFIG_RUN_AS_USER);
	CHECK(c->max_message_size == CONFIG_MESSAGE_SIZE_DEFAULT);
	CHECK(c->spool_max_size == (uint64_t)CONFIG_SPOOL_MAX_KBYTES * 1024);
	CHECK(c->nlisten == 1 + CONFIG_LISTEN_SMTPS);
	CHECK(c->listen[0].port == CONFIG_SUBMISSION_PORT && c->listen[0].mode == CONF_LISTEN_STARTTLS);
}

TEST(conf_full_example)
{
	struct conf *c = &conf_under_test;
	static const char text[] = "# comment\n"
				   "hostname = gw.example.net   # trailing comment\n"
				   "listen = 127.0.0.1:2587 starttls\n"
				   "listen = [::1]:2465 tls\n"
				   "\t users = users.cdb\r\n"
				   "max_message_size = 20m\n"
				   "smarthost = 192.0.2.7\n"
				   "smarthost_tls = tls\n"
				   "smarthost_pin = sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
				   "alias = root: admin@example.com, ops@example.com\n"
				   "alias = Postmaster: admin@example.com\n";

	CHECK(parse(text) == 0);
	CHECK(c->nlisten == 2);
	CHECK_STR(c->listen[1].addr, "::1");
	CHECK(c->listen[1].ipv6 && c->listen[1].mode == CONF_LISTEN_TLS && c->listen[1].port == 2465);
	CHECK_STR(c->users, "/etc/subgate/users.cdb"); /* relative to the config file */
	CHECK(c->max_message_size == (uint64_t)20 * 1024 * 1024);
	CHECK(!c->smarthost_bracketed && c->smarthost_port == 587);
	CHECK_STR(c->smarthost_host, "192.0.2.7");
	CHECK(c->smarthost_has_pin && c->smarthost_ca[0] == '\0');
	CHECK(c->nalias == 2);
	CHECK_STR(c->alias[0].targets, "admin@example.com, ops@example.com");
	CHECK_STR(c->alias[1].name, "postmaster");
}

struct conf_bad_case {
	const char *text;
	unsigned line;
	const char *error_part;
};

static const struct conf_bad_case conf_bad_cases[] = {
	{ BASE "hostnme = x\n", 3, "unknown key 'hostnme'" },
	{ BASE "hostname gw\n", 3, "expected 'key = value'" },
	{ BASE "= value\n", 3, "expected 'key = value'" },
	{ BASE "spool =\n", 3, "empty value" },
	{ BASE "hostname = other.example\n", 3, "already set on line 1" },
	{ BASE "max_message_size = 12q\n", 3, "not a number" },
	{ BASE "max_message_size = 10\n", 3, "out of range" },
	{ BASE "max_message_size = 99999999999999999999999\n", 3, "out of range" },
	{ BASE "listen = 127.0.0.1 starttls\n", 3, "numeric ADDR:PORT" },
	{ BASE "listen = 127.0.0.1:587\n", 3, "expected ADDR:PORT" },
	{ BASE "listen = 127.0.0.1:587 smtps\n", 3, "not starttls or tls" },
	{ BASE "listen = host.example:587 starttls\n", 3, "numeric" },
	{ BASE "listen = 127.0.0.1:70000 starttls\n", 3, "numeric" },
	{ BASE "listen = 127.0.0.1:587 starttls\nlisten = 127.0.0.1:587 tls\n", 4, "listed twice" },
	{ BASE "smarthost_tls = plain\n", 3, "not starttls, tls or none" },
	{ BASE "local_sender = bob: a@example.com\nlocal_sender = bob: b@example.com\n", 4,
	  "local_sender for 'bob' is given twice" },
	{ BASE "smarthost_tls = none\n", 3, "only for a loopback" },
	{ BASE "smarthost_pin = sha1/abc\n", 3, "sha256/" },
	{ BASE "smarthost_pin = sha256/AAAA\n", 3, "sha256/" },
	{ BASE "smarthost_ca = /ca.pem\nsmarthost_pin = sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 4,
	  "not both" },
	{ BASE "alias = root admin@example.com\n", 3, "expected NAME:" },
	{ BASE "alias = root: admin\n", 3, "not a full address" },
	{ BASE "alias = root: a@example.com b@example.com\n", 3, "commas" },
	{ BASE "alias = root: a@example.com\nalias = ROOT: b@example.com\n", 4, "defined twice" },
	{ BASE "run_as = Root\n", 3, "account name" },
	{ BASE "hostname2 = x\n", 3, "unknown key" },
	{ BASE "tls_cert = /a\x01pem\n", 3, "control character" },
	{ "hostname = gw.example.net\n", 0, "smarthost is not set" },
	{ "hostname = bad_host!\nsmarthost = [a.example]:25\n", 1, "not a valid host name" },
	{ "hostname = gw.example.net\nsmarthost = [smtp.example.com\n", 2, "expected [HOST]:PORT" },
	{ "hostname = gw.example.net\nsmarthost = 2001:db8::1\n", 2, "expected [HOST]:PORT" },
	{ "hostname = gw.example.net\nsmarthost = mail.example.org:587\n", 2, "MX lookups are not supported" },
};

TEST(conf_errors_name_the_line)
{
	char text[2048];

	for (size_t i = 0; i < sizeof(conf_bad_cases) / sizeof(conf_bad_cases[0]); i++) {
		const struct conf_bad_case *t = &conf_bad_cases[i];

		snprintf(text, sizeof(text), "%s", t->text);
		if (parse(text) == 0) {
			harness_fail(__FILE__, __LINE__, t->text);
			continue;
		}
		if (strstr(conf_under_test.first_error, t->error_part) == NULL) {
			printf("  case %zu: first error '%s', wanted '%s'\n", i, conf_under_test.first_error,
			       t->error_part);
			harness_fail(__FILE__, __LINE__, "error text");
		}
	}
}

TEST(conf_repeatable_keys_are_bounded)
{
	char text[4096], want[96];
	size_t used = (size_t)snprintf(text, sizeof(text), "%s", BASE);

	for (unsigned i = 1; i <= CONFIG_MAX_LISTENERS + 1; i++) {
		used += (size_t)snprintf(text + used, sizeof(text) - used, "listen = 127.0.0.1:%u starttls\n", i);
	}
	CHECK(parse(text) < 0);
	snprintf(want, sizeof(want), "listen: more than %d listen lines (CONFIG_MAX_LISTENERS)", CONFIG_MAX_LISTENERS);
	CHECK_STR(conf_under_test.first_error, want);
	CHECK(conf_under_test.nlisten == CONFIG_MAX_LISTENERS);
}

TEST(conf_rejects_nul_and_long_lines)
{
	char text[4096];
	size_t base = strlen(BASE);

	memcpy(text, BASE "users = a\0b\n", base + 12);
	CHECK(conf_parse_buffer(&conf_under_test, "t.conf", text, base + 12) < 0);
	CHECK(strstr(conf_under_test.first_error, "NUL") != NULL);
	memcpy(text, BASE, base);
	memset(text + base, 'x', 2000);
	CHECK(conf_parse_buffer(&conf_under_test, "t.conf", text, base + 2000) < 0);
	CHECK(strstr(conf_under_test.first_error, "longer than") != NULL);
}

TEST(conf_print_round_trips)
{
	static char first[8192], second[8192];
	static struct conf again;
	FILE *f;

	CHECK(parse(BASE "listen = [::]:465 tls\nalias = root: a@example.com\nsmarthost_auth = /s\n") == 0);
	f = fmemopen(first, sizeof(first), "w");
	conf_print(&conf_under_test, f);
	fclose(f);
	CHECK(conf_parse_buffer(&again, "/etc/subgate/test.conf", first, strlen(first)) == 0);
	f = fmemopen(second, sizeof(second), "w");
	conf_print(&again, f);
	fclose(f);
	CHECK_STR(first + strcspn(first, "\n"), second + strcspn(second, "\n"));
	CHECK(strstr(first, "listen           = [::]:465 tls\n") != NULL);
}

TEST(conf_every_time_key_takes_a_duration)
{
	struct conf *c = &conf_under_test;

	/* command_timeout = 5m was 5 MiB seconds ("out of range"), data_timeout = 90s "not a number". */
	CHECK(parse(BASE "command_timeout = 5m\ndata_timeout = 90s\nlogin_timeout = 1M\nstress_login_timeout = 0s\n"
			 "relay_timeout = 2m\nretry_min = 1h\nretry_max = 1d\nqueue_lifetime = 30m\n") == 0);
	CHECK(c->command_timeout == 300);
	CHECK(c->data_timeout == 90);
	CHECK(c->login_timeout == 60);
	CHECK(c->stress_login_timeout == 0);
	CHECK(c->relay_timeout == 120);
	CHECK(c->retry_min == 3600 && c->retry_max == 86400);
	CHECK(c->queue_lifetime == 1800);
	/* A bare number stays seconds (queue_lifetime: hours), as before. */
	CHECK(parse(BASE "command_timeout = 300\ndata_timeout = 180\nlogin_timeout = 30\nqueue_lifetime = 2\n") == 0);
	CHECK(c->command_timeout == 300 && c->data_timeout == 180 && c->login_timeout == 30);
	CHECK(c->queue_lifetime == 7200);
	CHECK(parse(BASE "command_timeout = 61m\n") < 0);
	CHECK_STR(conf_under_test.first_error, "command_timeout: 61m is out of range 1s..3600s");
	CHECK(parse(BASE "data_timeout = 5 min\n") < 0);
	CHECK(strstr(conf_under_test.first_error, "data_timeout: '5 min' is not a duration") != NULL);
}

TEST(conf_loopback_detection)
{
	CHECK(conf_host_is_loopback("127.0.0.1"));
	CHECK(conf_host_is_loopback("127.255.0.9"));
	CHECK(conf_host_is_loopback("::1"));
	CHECK(conf_host_is_loopback("LOCALHOST"));
	CHECK(!conf_host_is_loopback("128.0.0.1"));
	CHECK(!conf_host_is_loopback("::2"));
	CHECK(!conf_host_is_loopback("localhost.example.com"));
}

TEST(conf_sizes_with_suffixes)
{
	uint64_t v;
	char err[128];

	CHECK(conf_value_size("4k", 1, 1 << 20, &v, err, sizeof(err)) == 0 && v == 4096);
	CHECK(conf_value_size("1G", 1, UINT64_MAX, &v, err, sizeof(err)) == 0 && v == 1073741824ULL);
	CHECK(conf_value_size("1kb", 1, UINT64_MAX, &v, err, sizeof(err)) < 0);
	CHECK(conf_value_size("-1", 0, UINT64_MAX, &v, err, sizeof(err)) < 0);
	CHECK(conf_value_size("18446744073709551615k", 0, UINT64_MAX, &v, err, sizeof(err)) < 0);
}
