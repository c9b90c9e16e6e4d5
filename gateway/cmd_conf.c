/*
 * cmd_conf.c - `subgate check` (validate configuration and the files it
 * names, like `postfix check` or `nginx -t`), `subgate config` (print the
 * effective settings, defaults included) and `subgate config --keys` (the
 * table of keys: name, type, default, bounds, help).
 */
#include <stdio.h>
#include <sysexits.h>

#include "cli.h"
#include "cmd.h"
#include "conf.h"
#include "conf_files.h"
#include "log.h"

static struct conf cmd_conf;

static int cmd_conf_load(int argc, char **argv, const char *usage)
{
	const char *path = cli_take_config(&argc, argv);

	if (path == NULL || argc != 1) {
		log_err("usage: %s", usage);
		return EX_USAGE;
	}
	if (conf_load(&cmd_conf, path) < 0) {
		return cmd_conf.unreadable ? EX_NOINPUT : EX_CONFIG;
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	int rc = cmd_conf_load(argc, argv, "subgate check [-c FILE]");

	if (rc == EX_USAGE || rc == EX_NOINPUT) {
		return rc;
	}
	if (rc == 0 && conf_check_files(&cmd_conf) == 0) {
		printf("%s: configuration OK\n", cmd_conf.file);
		return 0;
	}
	log_err("%s: %u error%s", cmd_conf.file, cmd_conf.nerrors, cmd_conf.nerrors == 1 ? "" : "s");
	return EX_CONFIG;
}

int cmd_config(int argc, char **argv)
{
	int rc;

	if (cli_take_flag(&argc, argv, "--keys")) {
		if (argc != 1) {
			log_err("usage: subgate config --keys");
			return EX_USAGE;
		}
		conf_print_keys(stdout);
		return 0;
	}
	rc = cmd_conf_load(argc, argv, "subgate config [-c FILE | --keys]");

	if (rc == 0) {
		conf_print(&cmd_conf, stdout);
	}
	return rc;
}
