/*
 * cmd_serve.c - `subgate serve [-f] [--no-jail] [-c FILE]`: the command line
 * of the daemon. Everything after it is the master's (master.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "master.h"

/* The configuration's absolute path: the reload process reads it again from "/". Returns 0 or -1. */
static int serve_absolute(const char **path)
{
	static char abs[CONF_PATH_MAX];
	char cwd[CONF_PATH_MAX];
	int n;

	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		return -1;
	}
	n = snprintf(abs, sizeof(abs), "%s/%s", cwd, *path);
	if (n < 0 || (size_t)n >= sizeof(abs)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*path = abs;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	const char *path = cli_take_config(&argc, argv);
	int foreground = cli_take_flag(&argc, argv, "-f");
	int no_jail = cli_take_flag(&argc, argv, "--no-jail");

	if (path == NULL || argc != 1) {
		log_err("usage: subgate serve [-f] [--no-jail] [-c FILE]");
		return EX_USAGE;
	}
	if (path[0] != '/' && serve_absolute(&path) < 0) {
		log_err("%s: cannot resolve the configuration's directory: %s", path, strerror(errno));
		return EX_OSERR;
	}
	return master_run(path, foreground, no_jail);
}
