/*
 * cli.c - shared argument handling for the subcommands.
 */
#include "cli.h"

#include <string.h>

#include "config.h"
#include "log.h"

static void cli_remove(int *argc, char **argv, int at, int count)
{
	for (int i = at; i + count <= *argc; i++) {
		argv[i] = argv[i + count];
	}
	*argc -= count;
}

const char *cli_take_value(int *argc, char **argv, const char *name, int *missing)
{
	*missing = 0;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0) {
			continue;
		}
		if (i + 1 >= *argc) {
			*missing = 1;
			return NULL;
		}
		const char *value = argv[i + 1];
		cli_remove(argc, argv, i, 2);
		return value;
	}
	return NULL;
}

int cli_take_flag(int *argc, char **argv, const char *name)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			cli_remove(argc, argv, i, 1);
			return 1;
		}
	}
	return 0;
}

const char *cli_take_config(int *argc, char **argv)
{
	int missing;
	const char *path = cli_take_value(argc, argv, "-c", &missing);

	if (path == NULL && !missing) {
		path = cli_take_value(argc, argv, "--config", &missing);
	}
	if (missing) {
		log_err("option -c needs a file name");
		return NULL;
	}
	return path ? path : CONFIG_CONFIG_FILE;
}
