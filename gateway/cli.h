/*
 * cli.h - the command table of the multi-call binary and the option handling
 * every command shares (-c FILE). Each command returns a sysexits.h code.
 */
#ifndef SUBGATE_CLI_H
#define SUBGATE_CLI_H

/*
 * Removes "-c FILE" / "--config FILE" from argv (anywhere) and returns FILE,
 * or the built-in default. Returns NULL (message logged) if -c lacks a value.
 */
const char *cli_take_config(int *argc, char **argv);

/* Removes "NAME VALUE" from argv; returns VALUE, NULL if absent, *missing=1 if NAME had no value. */
const char *cli_take_value(int *argc, char **argv, const char *name, int *missing);

/* Removes a flag from argv; returns 1 if it was present. */
int cli_take_flag(int *argc, char **argv, const char *name);

#endif
