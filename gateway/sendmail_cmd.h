/*
 * sendmail_cmd.h - the sendmail and mailq front ends of the multi-call
 * binary (invoked as `sendmail` / `mailq`, or `subgate sendmail ARGS`,
 * `subgate mailq`): a message from standard input submitted over plain
 * ESMTP to SPOOL/public/submit; -bp / mailq and -q are requests on the
 * queue control socket. Compiled only with CONFIG_TOOL_SENDMAIL.
 */
#ifndef SUBGATE_SENDMAIL_CMD_H
#define SUBGATE_SENDMAIL_CMD_H

#include <sysexits.h>

#include "config.h"
#include "log.h"

#if CONFIG_TOOL_SENDMAIL
int cmd_sendmail(int argc, char **argv);
int cmd_mailq(int argc, char **argv);
#else
static inline int cmd_sendmail(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_err("this subgate was built without sendmail (CONFIG_TOOL_SENDMAIL)");
	return EX_UNAVAILABLE;
}

static inline int cmd_mailq(int argc, char **argv)
{
	return cmd_sendmail(argc, argv);
}
#endif

#endif
