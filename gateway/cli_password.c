/*
 * cli_password.c - password input for `subgate user add|passwd`.
 */
#include "cli_password.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "fs.h"
#include "log.h"
#include "secret.h"

#define PASSWORD_STR_(x)  #x
#define PASSWORD_STR(x)   PASSWORD_STR_(x)
#define PASSWORD_MAX_TEXT PASSWORD_STR(CONFIG_PASSWORD_MAX)

const char *cli_password_problem(const char *pw, size_t len)
{
	if (len == 0) {
		return "empty password";
	}
	if (len > CONFIG_PASSWORD_MAX) {
		return "password longer than " PASSWORD_MAX_TEXT " bytes";
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f) {
			return "password contains a control character";
		}
	}
	return NULL;
}

/* Reads one line (without its LF or CRLF). Returns 0, 1 if too long, -1 on error. */
static int password_read_line(int fd, char *buf, size_t cap, size_t *len)
{
	char c;
	ssize_t n;
	int too_long = 0;

	*len = 0;
	while ((n = read(fd, &c, 1)) == 1 && c != '\n') {
		if (*len + 1 < cap) {
			buf[(*len)++] = c;
		} else {
			too_long = 1;
		}
	}
	if (n < 0) {
		return -1;
	}
	if (*len > 0 && buf[*len - 1] == '\r') {
		(*len)--;
	}
	buf[*len] = '\0';
	c = 0;
	return too_long;
}

static int password_prompt(int fd, const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios saved, quiet;
	int rc;

	if (tcgetattr(fd, &saved) < 0) {
		return -1;
	}
	quiet = saved;
	quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* echo goes off before the prompt appears, so an answer typed at once is never shown */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		return -1;
	}
	fs_write_all(fd, prompt, strlen(prompt));
	rc = password_read_line(fd, buf, cap, len);
	tcsetattr(fd, TCSAFLUSH, &saved);
	fs_write_all(fd, "\n", 1);
	return rc;
}

static int password_from_tty(char *buf, size_t cap, size_t *len)
{
	char again[CONFIG_PASSWORD_MAX + 2];
	size_t again_len = 0;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	if (fd < 0) {
		log_err("no terminal to read the password from; use --stdin");
		return EX_USAGE;
	}
	if (password_prompt(fd, "New password: ", buf, cap, len) != 0 ||
	    password_prompt(fd, "Retype new password: ", again, sizeof(again), &again_len) != 0) {
		log_err("cannot read the password from the terminal");
		rc = EX_IOERR;
	} else if (*len != again_len || !secret_equal(buf, again, *len)) {
		log_err("the two passwords differ; nothing changed");
		rc = EX_DATAERR;
	}
	secret_wipe(again, sizeof(again));
	close(fd);
	return rc;
}

int cli_password_read(int from_stdin, char *buf, size_t cap, size_t *len)
{
	const char *problem;
	int rc;

	*len = 0;
	if (from_stdin) {
		rc = password_read_line(STDIN_FILENO, buf, cap, len);
		if (rc < 0) {
			log_err("cannot read the password from standard input: %s", strerror(errno));
			return EX_IOERR;
		}
		if (rc > 0) {
			log_err("password longer than %d bytes; nothing changed", CONFIG_PASSWORD_MAX);
			return EX_DATAERR;
		}
	} else if ((rc = password_from_tty(buf, cap, len)) != 0) {
		return rc;
	}
	problem = cli_password_problem(buf, *len);
	if (problem != NULL) {
		log_err("%s; nothing changed", problem);
		return EX_DATAERR;
	}
	return 0;
}
