/*
 * main.c - the multi-call entry point (dropbear/BusyBox style): dispatches on
 * the first argument (`subgate check`) or on the name it was invoked by.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cmd.h"
#include "config_check.h"
#include "log.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "run the gateway (-f: foreground; --no-jail: development only)" },
	{ "version", cmd_version, "print version and build configuration" },
	{ "check", cmd_check, "validate the configuration and the files it names" },
	{ "config", cmd_config, "print the effective configuration" },
	{ "queue", cmd_queue, "show and steer the queue (list, show, flush, delete, hold, release)" },
	{ "sendmail", cmd_sendmail, "submit a message from standard input (as sendmail does)" },
	{ "mailq", cmd_mailq, "list the queue (as mailq does)" },
	{ "user", cmd_user, "manage the user database (add, del, passwd, list)" },
	{ "cert", cmd_cert, "make a key and a self-signed certificate (--self-signed)" },
};

static int usage(void)
{
	fputs("usage: subgate COMMAND [-c FILE] [ARGS]\ncommands:\n", stderr);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		fprintf(stderr, "  %-8s %s\n", commands[i].name, commands[i].summary);
	}
	return EX_USAGE;
}

/* Invoked by a link named sendmail or mailq, it behaves as that command. */
static int run_as_link(int argc, char **argv, int *rc)
{
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const char *name = slash != NULL ? slash + 1 : argc > 0 ? argv[0] : "";

	if (strcmp(name, "sendmail") == 0) {
		*rc = cmd_sendmail(argc, argv);
	} else if (strcmp(name, "mailq") == 0) {
		*rc = cmd_mailq(argc, argv);
	} else {
		return 0;
	}
	if (fflush(stdout) != 0 && *rc == 0) {
		log_err("cannot write output");
		*rc = EX_IOERR;
	}
	return 1;
}

int main(int argc, char **argv)
{
	int rc;

	log_init("subgate", LOG_TO_STDERR);
	if (run_as_link(argc, argv, &rc)) {
		return rc;
	}
	if (argc < 2) {
		return usage();
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			rc = commands[i].run(argc - 1, argv + 1);

			if (fflush(stdout) != 0 && rc == 0) {
				log_err("cannot write output");
				rc = EX_IOERR;
			}
			return rc;
		}
	}
	if (strcmp(argv[1], "help") != 0 && strcmp(argv[1], "--help") != 0) {
		log_err("unknown command '%s'", argv[1]);
	}
	return usage();
}
