/*
 * conf_rules.c - defaults computed from other keys or the system, and rules
 * that span keys. Errors name the line of the key at fault.
 */
#include "conf_rules.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf_value.h"

static void conf_default_listener(struct conf *c, const char *addr, unsigned port, enum conf_listen_mode mode)
{
	struct conf_listen *l = &c->listen[c->nlisten++];

	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->port = (uint16_t)port;
	l->ipv6 = 0;
	l->mode = mode;
}

void conf_rules_defaults(struct conf *c, enum conf_scope scope)
{
	if (c->hostname[0] == '\0') {
		char host[ADDR_DOMAIN_MAX + 1] = "";

		if (gethostname(host, sizeof(host) - 1) < 0 || !addr_valid_domain(host, strlen(host))) {
			if (scope == CONF_SCOPE_GATEWAY) {
				conf_error(c, 0, "hostname is not set and the system host name '%s' is not usable",
					   host);
			}
		} else {
			memcpy(c->hostname, host, sizeof(c->hostname));
		}
	}
	if (c->helo_name[0] == '\0') {
		memcpy(c->helo_name, c->hostname, sizeof(c->helo_name));
	}
	if (c->nlisten == 0) {
		conf_default_listener(c, "0.0.0.0", CONFIG_SUBMISSION_PORT, CONF_LISTEN_STARTTLS);
#if CONFIG_LISTEN_SMTPS
		conf_default_listener(c, "0.0.0.0", CONFIG_SMTPS_PORT, CONF_LISTEN_TLS);
#endif
	}
	if (c->smarthost_ca[0] == '\0' && !c->smarthost_has_pin && c->smarthost_tls != CONF_SMARTHOST_NONE) {
		snprintf(c->smarthost_ca, sizeof(c->smarthost_ca), "%s", CONFIG_RELAY_DEFAULT_CA_FILE);
	}
}

static void conf_check_listeners(struct conf *c)
{
	for (unsigned i = 0; i < c->nlisten; i++) {
		for (unsigned j = 0; j < i; j++) {
			if (c->listen[i].port == c->listen[j].port &&
			    strcmp(c->listen[i].addr, c->listen[j].addr) == 0) {
				conf_error(c, conf_key_line(c, "listen"), "listen: %s port %u is listed twice",
					   c->listen[i].addr, (unsigned)c->listen[i].port);
			}
		}
	}
}

static void conf_check_smarthost(struct conf *c, enum conf_scope scope)
{
	if (c->smarthost_host[0] == '\0') {
		if (scope == CONF_SCOPE_GATEWAY) {
			conf_error(c, 0, "smarthost is not set (e.g. smarthost = [smtp.example.com]:587)");
		}
		return;
	}
	if (!c->smarthost_bracketed && !conf_host_is_ip(c->smarthost_host)) {
		conf_error(c, conf_key_line(c, "smarthost"),
			   "smarthost: MX lookups are not supported; write [%s]:%u to connect to that host",
			   c->smarthost_host, (unsigned)c->smarthost_port);
	}
	if (c->smarthost_tls == CONF_SMARTHOST_NONE && !conf_host_is_loopback(c->smarthost_host)) {
		conf_error(c, conf_key_line(c, "smarthost_tls"),
			   "smarthost_tls: none is allowed only for a loopback smarthost, not '%s'", c->smarthost_host);
	}
	if (c->smarthost_has_pin && conf_key_line(c, "smarthost_ca") != 0) {
		conf_error(c, conf_key_line(c, "smarthost_pin"),
			   "smarthost_pin: set either smarthost_ca (line %u) or smarthost_pin, not both",
			   conf_key_line(c, "smarthost_ca"));
	}
}

void conf_rules_check(struct conf *c, enum conf_scope scope)
{
	if (c->retry_min > c->retry_max) {
		conf_error(c, conf_key_line(c, "retry_min"), "retry_min (%llus) is longer than retry_max (%llus)",
			   (unsigned long long)c->retry_min, (unsigned long long)c->retry_max);
	}
	conf_check_listeners(c);
	conf_check_smarthost(c, scope);
}
