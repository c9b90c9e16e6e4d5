/*
 * conf_change.c - the keys a reload may not change, and whether it changed
 * the relay's settings (see conf_change.h).
 */
#include "conf_change.h"

#include <string.h>

#include "log.h"

#define KEEP_FIELD(next, now, field, key, changed)                                                        \
	do {                                                                                              \
		if (memcmp(&(next)->field, &(now)->field, sizeof((now)->field)) != 0) {                   \
			log_warn("%s: %s changed; it takes effect at the next start", (next)->file, key); \
			(changed)++;                                                                      \
		}                                                                                         \
		memcpy(&(next)->field, &(now)->field, sizeof((now)->field));                              \
	} while (0)

unsigned conf_change_keep_start_keys(struct conf *next, const struct conf *now)
{
	unsigned changed = 0;

	if (next->nlisten != now->nlisten ||
	    memcmp(next->listen, now->listen, now->nlisten * sizeof(now->listen[0])) != 0) {
		log_warn("%s: listen changed; it takes effect at the next start", next->file);
		changed++;
	}
	memcpy(next->listen, now->listen, sizeof(now->listen));
	next->nlisten = now->nlisten;
	KEEP_FIELD(next, now, spool, "spool", changed);
	KEEP_FIELD(next, now, pid_file, "pid_file", changed);
	KEEP_FIELD(next, now, run_as, "run_as", changed);
	KEEP_FIELD(next, now, users, "users", changed);
	KEEP_FIELD(next, now, local_submit_group, "local_submit_group", changed);
	return changed;
}

/* conf_load zeroes the whole struct first: fields compare as bytes. */
#define SAME_FIELD(a, b, field) (memcmp(&(a)->field, &(b)->field, sizeof((a)->field)) == 0)

int conf_change_relay_equal(const struct conf *a, const struct conf *b)
{
	return SAME_FIELD(a, b, helo_name) && SAME_FIELD(a, b, smarthost_host) && SAME_FIELD(a, b, smarthost_port) &&
	       SAME_FIELD(a, b, smarthost_bracketed) && SAME_FIELD(a, b, smarthost_tls) &&
	       SAME_FIELD(a, b, smarthost_ca) && SAME_FIELD(a, b, smarthost_pin) &&
	       SAME_FIELD(a, b, smarthost_has_pin) && SAME_FIELD(a, b, smarthost_auth) &&
	       SAME_FIELD(a, b, relay_timeout) && a->nmasquerade == b->nmasquerade &&
	       memcmp(a->masquerade, b->masquerade, a->nmasquerade * sizeof(a->masquerade[0])) == 0;
}
