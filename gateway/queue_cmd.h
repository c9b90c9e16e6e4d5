/*
 * queue_cmd.h - `subgate queue list|show|flush|delete`: the operator's view
 * of the live spool (Postfix's mailq/postcat/postqueue -f/postsuper -d).
 * Runs as root outside the daemon; reads the spool directly, signals the
 * master for a flush. Compiled only with CONFIG_TOOL_QUEUE.
 */
#ifndef SUBGATE_QUEUE_CMD_H
#define SUBGATE_QUEUE_CMD_H

#include <sysexits.h>

#include "config.h"
#include "log.h"

#if CONFIG_TOOL_QUEUE
int cmd_queue(int argc, char **argv);
#else
static inline int cmd_queue(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_err("this subgate was built without `queue` (CONFIG_TOOL_QUEUE)");
	return EX_UNAVAILABLE;
}
#endif

#endif
