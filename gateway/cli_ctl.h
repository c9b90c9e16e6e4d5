/*
 * cli_ctl.h - the client end of the sockets in the spool: finds SPOOL
 * (the config's `spool`, or CONFIG_SPOOL_DIR when the file cannot be read),
 * connects to SPOOL/private/control or SPOOL/public/submit, and speaks the
 * one-request control protocol (spec: "Control protocol"). Runs in the
 * command-line tools (`subgate queue`, mailq, sendmail -q), never in the
 * daemon. Compiled with CONFIG_TOOL_QUEUE or CONFIG_TOOL_SENDMAIL.
 */
#ifndef SUBGATE_CLI_CTL_H
#define SUBGATE_CLI_CTL_H

#include <stddef.h>

#define CTL_CLIENT_REQUEST_MAX 128 /* request line with its "\n" */
#define CTL_CLIENT_STATUS_MAX  512 /* status line the client accepts */
#define CTL_CLIENT_TIMEOUT_MS  5000
#define CTL_CLIENT_CONTROL     "private/control"
#define CTL_CLIENT_SUBMIT      "public/submit"
#define CTL_CLIENT_SHOWQ       "public/showq" /* anyone: list their own messages */

/*
 * Copies SPOOL into spool: the `spool` of the configuration at conf_path;
 * CONFIG_SPOOL_DIR when that file cannot be opened (e.g. a 0600 file and a
 * non-root caller). Returns 0, or a sysexits code with the errors logged
 * (a configuration that opens but does not parse: EX_CONFIG).
 */
int cli_ctl_spool(const char *conf_path, char *spool, size_t cap);

/*
 * Connects a SOCK_STREAM socket to SPOOL/NAME (NAME: CTL_CLIENT_CONTROL or
 * CTL_CLIENT_SUBMIT), with a send timeout of CTL_CLIENT_TIMEOUT_MS. Returns
 * the fd, or -1 with errno; path receives the socket's path for messages.
 */
int cli_ctl_connect(const char *spool, const char *name, char *path, size_t cap);

/*
 * The exit code for a failed connect (errno err), with its message logged:
 * ENOENT, ECONNREFUSED: "the mail gateway is not running (PATH: ...)SUFFIX",
 * EX_TEMPFAIL; EACCES, EPERM: denied (the text given), EX_NOPERM; anything
 * else: "cannot connect to PATH: ...", EX_UNAVAILABLE.
 */
int cli_ctl_connect_error(const char *path, int err, const char *denied, const char *suffix);

/*
 * Parses a status line (without "\n"): "ok" -> 0; "err CODE TEXT" -> CODE
 * (1..255) with *text pointing at TEXT; anything else -> -1.
 */
int cli_ctl_status(const char *line, const char **text);

/*
 * Sends one request ("list", "show ID json", ...) on SPOOL/private/control,
 * copies the body of the answer to standard output and returns the exit
 * code: 0, the CODE of "err CODE TEXT" (TEXT logged), or the connect error.
 * Every read waits at most CTL_CLIENT_TIMEOUT_MS.
 */
int cli_ctl_request(const char *spool, const char *request);

/* cli_ctl_spool() for the configuration at conf_path, then cli_ctl_request(). */
int cli_ctl_run(const char *conf_path, const char *request);

#endif
