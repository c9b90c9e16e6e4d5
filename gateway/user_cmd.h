/*
 * user_cmd.h - `subgate user add|del|passwd|list`: manages users.cdb.
 * Compiled only with CONFIG_TOOL_USER; otherwise a stub says so.
 */
#ifndef SUBGATE_USER_CMD_H
#define SUBGATE_USER_CMD_H

#include <sysexits.h>

#include "config.h"
#include "log.h"

#if CONFIG_TOOL_USER
int cmd_user(int argc, char **argv);
#else
static inline int cmd_user(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_err("this subgate was built without `user` (CONFIG_TOOL_USER)");
	return EX_UNAVAILABLE;
}
#endif

#endif
