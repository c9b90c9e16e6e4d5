/*
 * conf_table_test.c - the key table of subgate.conf (conf_table.c) and its
 * per-type parsers and formatters (conf_type.c): well-formed rows, defaults
 * inside their bounds, every type's value printed back as a value that
 * parses to the same, and the scopes (a tool needs no complete file).
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_table.h"
#include "harness.h"

#define BASE "hostname = gw.example.net\nsmarthost = [smtp.example.com]:587\n"

static struct conf table_conf, table_again;

static int table_parse(struct conf *c, const char *text, enum conf_scope scope)
{
	return conf_parse_buffer_scope(c, "/etc/subgate/t.conf", text, strlen(text), scope);
}

TEST(conf_table_rows_are_well_formed)
{
	CHECK(conf_table_len > 0 && conf_table_len <= CONF_KEYS_MAX);
	for (size_t i = 0; i < conf_table_len; i++) {
		const struct conf_key *k = &conf_table[i];

		CHECK(k->name[0] != '\0' &&
		      strspn(k->name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(k->name));
		CHECK(conf_table_find(k->name) == k); /* also: no name twice */
		CHECK(conf_table_index(k) == i);
		CHECK(k->type < CONF_T_NTYPES && conf_type_name(k->type) != NULL);
		CHECK(k->help != NULL && k->help[0] != '\0' && strchr(k->help, '\t') == NULL);
		CHECK(k->min <= k->max);
		CHECK(k->type != CONF_T_DURATION || k->bare_unit >= 1);
		CHECK((k->type != CONF_T_LIST && k->type != CONF_T_ENUM) || k->variant != NULL);
		CHECK(k->off < sizeof(struct conf) && k->off + k->cap <= sizeof(struct conf));
	}
	CHECK(conf_table_find("no_such_key") == NULL);
}

TEST(conf_table_defaults_parse_within_bounds)
{
	char err[200];

	for (size_t i = 0; i < conf_table_len; i++) {
		const struct conf_key *k = &conf_table[i];

		memset(&table_conf, 0, sizeof(table_conf));
		if (k->def != NULL && conf_type_parse(&table_conf, k, k->def, err, sizeof(err)) < 0) {
			printf("  %s: default '%s': %s\n", k->name, k->def, err);
			harness_fail(__FILE__, __LINE__, "a built-in default does not parse");
		}
	}
}

/* Each printed value reads back as the same value. */
TEST(conf_table_values_print_as_they_parse)
{
	static const char text[] =
	    BASE "listen = [::1]:2465 starttls\nlisten = 127.0.0.1:2587 starttls\n"
		 "smarthost_tls = tls\nsmarthost_pin = sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
		 "command_timeout = 2m\nqueue_lifetime = 3\nmax_message_size = 1m\nrun_as = mail\n"
		 "alias = Root: a@example.com, b@example.com\nlocal_sender = bob: bob@example.org\n";
	char a[CONF_LINE_MAX], b[CONF_LINE_MAX], err[200];

	CHECK(table_parse(&table_conf, text, CONF_SCOPE_GATEWAY) == 0);
	for (size_t i = 0; i < conf_table_len; i++) {
		const struct conf_key *k = &conf_table[i];

		memset(&table_again, 0, sizeof(table_again));
		for (unsigned n = 0; conf_type_format(&table_conf, k, n, a, sizeof(a)); n++) {
			CHECK(conf_type_parse(&table_again, k, a, err, sizeof(err)) == 0);
			CHECK(conf_type_format(&table_again, k, n, b, sizeof(b)) == 1);
			CHECK_STR(a, b);
		}
	}
	CHECK(conf_type_format(&table_conf, conf_table_find("command_timeout"), 0, a, sizeof(a)) == 1);
	CHECK_STR(a, "120s");
	CHECK(conf_type_format(&table_conf, conf_table_find("queue_lifetime"), 0, a, sizeof(a)) == 1);
	CHECK_STR(a, "10800s");
	CHECK(conf_type_format(&table_conf, conf_table_find("alias"), 0, a, sizeof(a)) == 1);
	CHECK_STR(a, "root: a@example.com, b@example.com");
	CHECK(conf_type_format(&table_conf, conf_table_find("alias"), 1, a, sizeof(a)) == 0);
	CHECK(conf_type_format(&table_conf, conf_table_find("smarthost_auth"), 0, a, sizeof(a)) == 0);
}

TEST(conf_table_every_key_is_printed)
{
	static char out[8192];
	char line[64];
	FILE *f;

	CHECK(table_parse(&table_conf,
			  BASE "alias = root: a@example.com\nmasquerade = @gw.example.net: a@example.com\n"
			       "local_sender = bob: bob@example.org\n",
			  CONF_SCOPE_GATEWAY) == 0);
	f = fmemopen(out, sizeof(out), "w");
	conf_print(&table_conf, f);
	fclose(f);
	for (size_t i = 0; i < conf_table_len; i++) {
		snprintf(line, sizeof(line), "\n%s ", conf_table[i].name);
		if (strstr(out, line) == NULL) {
			snprintf(line, sizeof(line), "\n# %s ", conf_table[i].name);
			CHECK(strstr(out, line) != NULL);
		}
	}
	CHECK(strstr(out, "\n# local_submit_group is not set: every local user may submit\n") != NULL);
	CHECK(strstr(out, "\n# smarthost_pin  = (not set)\n") != NULL);
}

TEST(conf_tool_scope_needs_no_complete_file)
{
	CHECK(table_parse(&table_conf, "users = u.cdb\n", CONF_SCOPE_GATEWAY) < 0);
	CHECK_STR(table_conf.first_error, "smarthost is not set (e.g. smarthost = [smtp.example.com]:587)");
	CHECK(table_parse(&table_conf, "users = u.cdb\n", CONF_SCOPE_TOOL) == 0);
	CHECK_STR(table_conf.users, "/etc/subgate/u.cdb");
	CHECK_STR(table_conf.run_as, CONFIG_RUN_AS_USER);
	/* Still strict: syntax, unknown keys, values, and the rules between keys that are set. */
	CHECK(table_parse(&table_conf, "users = u.cdb\nusers_db = x\n", CONF_SCOPE_TOOL) < 0);
	CHECK_STR(table_conf.first_error, "unknown key 'users_db'");
	CHECK(table_parse(&table_conf, "users u.cdb\n", CONF_SCOPE_TOOL) < 0);
	CHECK(table_parse(&table_conf, "users = u.cdb\nretry_min = 2h\nretry_max = 1h\n", CONF_SCOPE_TOOL) < 0);
	CHECK(table_parse(&table_conf, "users = u.cdb\nsmarthost = mail.example.org\n", CONF_SCOPE_TOOL) < 0);
	CHECK(strstr(table_conf.first_error, "MX lookups are not supported") != NULL);
}

TEST(conf_table_keys_listing)
{
	static char out[8192];
	FILE *f = fmemopen(out, sizeof(out), "w");
	char want[128];

	conf_print_keys(f);
	fclose(f);
	snprintf(want, sizeof(want), "\ncommand_timeout\tduration\t%ds\t1s..3600s\t", CONFIG_COMMAND_TIMEOUT);
	CHECK(strstr(out, want) != NULL);
	CHECK(strncmp(out, "hostname\thost\t-\t-\t", 17) == 0);
	snprintf(want, sizeof(want), "\nmax_sessions\tcount\t%d\t1..%d\t", CONFIG_MAX_SESSIONS, CONFIG_MAX_SESSIONS);
	CHECK(strstr(out, want) != NULL);
}
