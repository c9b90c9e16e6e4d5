/*
 * cmd_version.c - `subgate version`: version, build facts and every Kconfig
 * symbol the binary was built with (features as +NAME/-NAME, then values).
 */
#include <stdio.h>
#include <sysexits.h>

#include "cli.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "version.h"

static void version_features(void)
{
	fputs("features:", stdout);
#define CONFIG_BOOL(name, value) printf(" %c%s", (value) ? '+' : '-', name);
#define CONFIG_NUM(name, value)
#define CONFIG_STR(name, value)
#include "config_list.h"
#undef CONFIG_BOOL
#undef CONFIG_NUM
#undef CONFIG_STR
	fputc('\n', stdout);
}

static void version_settings(void)
{
#define CONFIG_BOOL(name, value)
#define CONFIG_NUM(name, value) printf("  %s=%lld\n", name, (long long)(value));
#define CONFIG_STR(name, value) printf("  %s=\"%s\"\n", name, value);
#include "config_list.h"
#undef CONFIG_BOOL
#undef CONFIG_NUM
#undef CONFIG_STR
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		log_err("usage: subgate version");
		return EX_USAGE;
	}
	printf("subgate %s\n", SUBGATE_VERSION);
	printf("built with: %s\n", SUBGATE_BUILD_INFO);
	version_features();
	fputs("settings:\n", stdout);
	version_settings();
	return 0;
}
