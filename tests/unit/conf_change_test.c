/*
 * conf_change_test.c - what a reload keeps (conf_change_keep_start_keys) and when
 * it must restart the relay (conf_change_relay_equal): every start-only key
 * is put back, and each relay setting, alone, counts as a change.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_change.h"
#include "harness.h"

#define BASE                                                                              \
	"hostname = gw.example.net\nsmarthost = [smtp.example.com]:587\n"                 \
	"spool = /var/spool/subgate\nrun_as = nobody\nlisten = 127.0.0.1:2587 starttls\n" \
	"masquerade = @gw.example.net: alerts@example.com\n"

static struct conf now, next;

static int load(struct conf *c, const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	return conf_parse_buffer(c, "/etc/subgate/subgate.conf", text, strlen(text));
}

TEST(conf_reload_keeps_start_only_keys)
{
	CHECK(load(&now, "") == 0);
	CHECK(load(&next, "") == 0);
	CHECK(conf_change_keep_start_keys(&next, &now) == 0);
	CHECK(load(&next, "users = /tmp/u.cdb\npid_file = /tmp/p\nlocal_submit_group = daemon\n"
			  "max_message_size = 2m\n") == 0);
	memcpy(next.spool, "/tmp/other", sizeof("/tmp/other"));
	memcpy(next.run_as, "daemon", sizeof("daemon"));
	next.listen[0].port = 3587;
	CHECK(conf_change_keep_start_keys(&next, &now) == 6);
	CHECK_STR(next.spool, "/var/spool/subgate");
	CHECK_STR(next.run_as, "nobody");
	CHECK(next.listen[0].port == 2587);
	CHECK_STR(next.users, now.users);
	CHECK_STR(next.pid_file, now.pid_file);
	CHECK_STR(next.local_submit_group, "");
	CHECK(next.max_message_size == (uint64_t)2 * 1024 * 1024); /* not start-only: the new value stays */
}

static const char *const relay_changes[] = {
	"helo_name = other.example.net\n",
	"relay_timeout = 5s\n",
	"smarthost_tls = tls\n",
	"smarthost_ca = /etc/ssl/other.pem\n",
	"smarthost_pin = sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	"smarthost_auth = /etc/subgate/smarthost.secret\n",
	"masquerade = @other.example.net: alerts@example.com\n",
};

TEST(conf_relay_settings_each_change_counts)
{
	CHECK(load(&now, "") == 0);
	CHECK(load(&next, "max_message_size = 2m\nalias = root: admin@example.com\nretry_min = 1m\n") == 0);
	CHECK(conf_change_relay_equal(&now, &next)); /* nothing the relay uses */
	for (size_t i = 0; i < sizeof(relay_changes) / sizeof(relay_changes[0]); i++) {
		CHECK(load(&next, relay_changes[i]) == 0);
		if (conf_change_relay_equal(&now, &next)) {
			harness_fail(__FILE__, __LINE__, relay_changes[i]);
		}
	}
}

TEST(conf_relay_settings_smarthost_address)
{
	static const char *const other[] = { "hostname = gw.example.net\nsmarthost = [192.0.2.7]:465\n",
					     "hostname = gw.example.net\nsmarthost = 192.0.2.7:465\n", /* brackets */
					     "hostname = gw.example.net\nsmarthost = [192.0.2.7]:587\n",
					     "hostname = gw.example.net\nsmarthost = [192.0.2.8]:465\n",
					     "hostname = gw.example.net\nsmarthost = [smtp.example.com]:465\n" };

	CHECK(conf_parse_buffer(&now, "t.conf", other[0], strlen(other[0])) == 0);
	for (size_t i = 1; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK(conf_parse_buffer(&next, "t.conf", other[i], strlen(other[i])) == 0);
		CHECK(!conf_change_relay_equal(&now, &next));
	}
	CHECK(conf_parse_buffer(&next, "t.conf", other[0], strlen(other[0])) == 0);
	CHECK(conf_change_relay_equal(&now, &next));
}
