/*
 * cmd.h - the entry points of the multi-call binary's commands (main.c
 * dispatches on the first argument or on the name it was invoked by). Each
 * lives in cmd_NAME.c. A command left out by Kconfig becomes a stub that
 * says so, so main.c's table never changes.
 *
 *   serve      cmd_serve.c     the daemon (master.c and the processes it forks)
 *   check      cmd_conf.c      validate the configuration (like `postfix check`)
 *   config     cmd_conf.c      print the effective settings
 *   version    cmd_version.c   version, build facts, Kconfig symbols
 *   user       cmd_user.c      edit users.cdb (CONFIG_TOOL_USER)
 *   queue      cmd_queue.c     the queue control client (CONFIG_TOOL_QUEUE)
 *   cert       cmd_cert.c      a self-signed key and certificate (CONFIG_TOOL_CERT)
 *   sendmail   cmd_sendmail.c  sendmail and mailq front ends (CONFIG_TOOL_SENDMAIL):
 *              invoked as `sendmail` / `mailq`, or `subgate sendmail ARGS`,
 *              `subgate mailq`; a message from standard input is submitted
 *              over plain ESMTP to SPOOL/public/submit; -bp / mailq and -q
 *              are requests on the queue control socket
 */
#ifndef SUBGATE_CMD_H
#define SUBGATE_CMD_H

#include <sysexits.h>

#include "config.h"
#include "log.h"

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* The stub of a command this build was made without. */
static inline int cmd_absent(const char *name, const char *symbol)
{
	log_err("this subgate was built without %s (%s)", name, symbol);
	return EX_UNAVAILABLE;
}

/* Defines FN as that stub. */
#define CMD_ABSENT(fn, name, symbol)                 \
	static inline int fn(int argc, char **argv)  \
	{                                            \
		(void)argc;                          \
		(void)argv;                          \
		return cmd_absent((name), (symbol)); \
	}

#if CONFIG_TOOL_USER
int cmd_user(int argc, char **argv);
#else
CMD_ABSENT(cmd_user, "`user`", "CONFIG_TOOL_USER")
#endif

#if CONFIG_TOOL_QUEUE
int cmd_queue(int argc, char **argv);
#else
CMD_ABSENT(cmd_queue, "`queue`", "CONFIG_TOOL_QUEUE")
#endif

#if CONFIG_TOOL_CERT
int cmd_cert(int argc, char **argv);
#else
CMD_ABSENT(cmd_cert, "`cert`", "CONFIG_TOOL_CERT")
#endif

#if CONFIG_TOOL_SENDMAIL
int cmd_sendmail(int argc, char **argv);
int cmd_mailq(int argc, char **argv);
#else
CMD_ABSENT(cmd_sendmail, "sendmail", "CONFIG_TOOL_SENDMAIL")
static inline int cmd_mailq(int argc, char **argv)
{
	return cmd_sendmail(argc, argv);
}
#endif

#endif
