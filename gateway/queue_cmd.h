/*
 * queue_cmd.h - `subgate queue list|show|flush|delete|hold|release`: the
 * operator's view of the live spool (Postfix's mailq/postcat/postqueue -f/
 * postsuper -d/-h/-H), as a client of the queue control socket; root only
 * (the socket is). Compiled only with CONFIG_TOOL_QUEUE.
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
