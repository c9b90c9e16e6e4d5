/*
 * cmd_queue.c - `subgate queue list|show ID|flush|delete ID|hold ID|release ID|status
 * [--json]`: a client of the queue control socket (SPOOL/private/control).
 * Checks the arguments, sends one request line and prints the answer; the
 * queue process does the work, so the tool never touches the spool itself.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_ctl.h"
#include "spool.h"

#define QUEUE_USAGE                                                   \
	"usage: subgate queue list|flush|status [--json] [-c FILE]\n" \
	"       subgate queue show|delete|hold|release ID [--json] [-c FILE]"

struct queue_verb {
	const char *name;
	int takes_id;
};

static const struct queue_verb queue_verbs[] = {
	{ "list", 0 }, { "flush", 0 }, { "status", 0 }, { "show", 1 }, { "delete", 1 }, { "hold", 1 }, { "release", 1 },
};

static int queue_valid_id(const char *id)
{
	return strlen(id) == SPOOL_ID_LEN && strspn(id, "0123456789abcdef") == SPOOL_ID_LEN;
}

static int queue_usage(void)
{
	log_err("%s", QUEUE_USAGE);
	return EX_USAGE;
}

int cmd_queue(int argc, char **argv)
{
	const char *path = cli_take_config(&argc, argv);
	int json = cli_take_flag(&argc, argv, "--json");
	char request[CTL_CLIENT_REQUEST_MAX];

	if (path == NULL || argc < 2) {
		return queue_usage();
	}
	for (size_t i = 0; i < sizeof(queue_verbs) / sizeof(queue_verbs[0]); i++) {
		const struct queue_verb *v = &queue_verbs[i];

		if (strcmp(argv[1], v->name) != 0) {
			continue;
		}
		if (argc != 2 + v->takes_id) {
			return queue_usage();
		}
		if (v->takes_id && !queue_valid_id(argv[2])) {
			char shown[64];

			log_err("'%s' is not a queue id (%d lowercase hex digits)",
				log_printable(argv[2], shown, sizeof(shown)), SPOOL_ID_LEN);
			return EX_USAGE;
		}
		snprintf(request, sizeof(request), "%s%s%s%s", v->name, v->takes_id ? " " : "",
			 v->takes_id ? argv[2] : "", json ? " json" : "");
		return cli_ctl_run(path, request);
	}
	return queue_usage();
}
