/*
 * cmd_sendmail.c - `sendmail` and `mailq` (see cmd.h): options,
 * standard input as lines, and the ESMTP transaction on SPOOL/public/submit
 * (the connection itself: sendmail_smtp.c):
 * the header block is read (and -t recipients taken from it) before the
 * connection; every recipient must be accepted before DATA (else RSET, QUIT,
 * nothing sent); the body is streamed line by line, and a line that cannot be
 * sent ends the connection without the final dot, so nothing is committed.
 * Runs as the calling user; the daemon decides what that user may do.
 */
#include "cmd.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "cli_ctl.h"
#include "conf.h"
#include "fs.h"
#include "sendmail_msg.h"
#include "sendmail_smtp.h"
#include "smtp_reply.h"

#define SM_USAGE                                                                                     \
	"usage: sendmail [-t] [-i] [-f SENDER] [-F NAME] [-c FILE] [--] [RECIPIENT ...] < MESSAGE\n" \
	"       sendmail -bs | -bp | -bi | -q [-c FILE]"

struct sm_opts {
	const char *conf;
	const char *sender; /* -f / -r; NULL: the login name */
	const char *fullname;
	int dot_ends; /* a line "." ends the message (no -i / -oi) */
	int from_head;
	char mode; /* 'm' submit, 's' SMTP on stdin/stdout, 'p' mailq, 'q' flush, 'i' aliases */
	int nrcpt;
	char **rcpt;
};

/* Standard input as lines. */
struct sm_in {
	char buf[8192];
	size_t len, used;
	int eof, done, again;
	unsigned long lineno;
};

static struct sendmail_head sm_head;
static struct sendmail_rcpts sm_rcpts;
static struct sm_in sm_stdin;
static struct sendmail_smtp sm_conn;

/* --- options ---------------------------------------------------------------------- */

/* Options that take a value (attached or the next argument) and are ignored. */
#define SM_IGNORED_VALUE "BNRVLhOXe"
#define SM_IGNORED_FLAG  "vnUm"

static int sm_usage(void)
{
	log_err("%s", SM_USAGE);
	return EX_USAGE;
}

/* The value of option c at argv[*i][*j]: attached, else the next argument. */
static const char *sm_value(int argc, char **argv, int *i, size_t *j)
{
	const char *v = argv[*i] + *j + 1;

	if (*v == '\0') {
		if (*i + 1 >= argc) {
			return NULL;
		}
		v = argv[++*i];
	}
	*j = strlen(argv[*i]) - 1; /* the rest of this argument is the value */
	return v;
}

static int sm_option(struct sm_opts *o, int argc, char **argv, int *i, size_t *j)
{
	char c = argv[*i][*j];
	const char *v;

	if (strchr(SM_IGNORED_FLAG, c) != NULL) {
		return 0;
	}
	switch (c) {
	case 't':
		o->from_head = 1;
		return 0;
	case 'i':
		o->dot_ends = 0;
		return 0;
	case 'q':
		o->mode = 'q';
		*j = strlen(argv[*i]) - 1; /* -q, -q30m, -qIid: all mean "flush" */
		return 0;
	default:
		break;
	}
	if (c != 'f' && c != 'r' && c != 'F' && c != 'o' && c != 'b' && c != 'c' && c != 'C' &&
	    strchr(SM_IGNORED_VALUE, c) == NULL) {
		log_err("unknown option -%c", c);
		return sm_usage();
	}
	if ((v = sm_value(argc, argv, i, j)) == NULL) {
		log_err("option -%c needs a value", c);
		return sm_usage();
	}
	if (c == 'f' || c == 'r') {
		o->sender = v;
	} else if (c == 'F') {
		o->fullname = v;
	} else if (c == 'c' || c == 'C') {
		o->conf = v; /* -C: Postfix's name for the configuration */
	} else if (c == 'o' && strcmp(v, "i") == 0) {
		o->dot_ends = 0;
	} else if (c == 'b') {
		if (strlen(v) != 1 || strchr("mspi", v[0]) == NULL) {
			char shown[16];

			log_err("unsupported mode -b%s", log_printable(v, shown, sizeof(shown)));
			return sm_usage();
		}
		o->mode = v[0];
	}
	return 0;
}

static int sm_parse_args(struct sm_opts *o, int argc, char **argv)
{
	int i;

	*o = (struct sm_opts){ .conf = CONFIG_CONFIG_FILE, .dot_ends = 1, .mode = 'm' };
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (size_t j = 1; argv[i][j] != '\0'; j++) {
			int rc = sm_option(o, argc, argv, &i, &j);

			if (rc != 0) {
				return rc;
			}
		}
	}
	o->nrcpt = argc - i;
	o->rcpt = argv + i;
	return 0;
}

/* --- standard input ------------------------------------------------------------------ */

/*
 * The next line of the message: SENDMAIL_LINE_OK (*line, *len), NEED at its
 * end (EOF, or a lone "." unless -i), LONG, BARE_CR, or -1 on a read error.
 * After sm_in_again() the same line comes once more.
 */
static int sm_in_line(struct sm_in *in, int dot_ends, const char **line, size_t *len)
{
	for (;;) {
		enum sendmail_line st;

		if (in->again) {
			in->again = 0;
		} else {
			memmove(in->buf, in->buf + in->used, in->len - in->used);
			in->len -= in->used;
			in->used = 0;
		}
		if (in->done) {
			return SENDMAIL_LINE_NEED;
		}
		st = sendmail_line_next(in->buf, in->len, in->eof, len, &in->used);
		if (st == SENDMAIL_LINE_NEED && !in->eof) {
			ssize_t n = read(STDIN_FILENO, in->buf + in->len, sizeof(in->buf) - in->len);

			if (n < 0 && errno != EINTR) {
				return -1;
			}
			in->eof = n == 0;
			in->len += n > 0 ? (size_t)n : 0;
			continue;
		}
		if (st == SENDMAIL_LINE_OK) {
			in->lineno++;
			*line = in->buf;
			in->done = dot_ends && *len == 1 && in->buf[0] == '.';
			if (in->done) {
				return SENDMAIL_LINE_NEED;
			}
		} else if (st != SENDMAIL_LINE_NEED) {
			in->lineno++;
		}
		return (int)st;
	}
}

static void sm_in_again(struct sm_in *in)
{
	in->again = 1;
	in->lineno--;
}

/* The exit code for a line that cannot be sent (LONG, BARE_CR, read error). */
static int sm_in_error(const struct sm_in *in, int st)
{
	if (st == SENDMAIL_LINE_LONG) {
		log_err("line %lu of the message is longer than %d bytes; message not sent", in->lineno,
			SENDMAIL_LINE_MAX);
		return EX_DATAERR;
	}
	if (st == SENDMAIL_LINE_BARE_CR) {
		log_err("line %lu of the message has a carriage return that does not end it; message not sent",
			in->lineno);
		return EX_DATAERR;
	}
	log_err("cannot read the message: %s; message not sent", strerror(errno));
	return EX_IOERR;
}

/* Reads the header block into sm_head. Returns 0 or an exit code. */
static int sm_read_head(const struct sm_opts *o)
{
	const char *line;
	size_t len;
	int st;

	sendmail_head_init(&sm_head);
	while ((st = sm_in_line(&sm_stdin, o->dot_ends, &line, &len)) == SENDMAIL_LINE_OK) {
		enum sendmail_head_status hs = sendmail_head_line(&sm_head, line, len);

		if (hs == SENDMAIL_HEAD_END) {
			return 0;
		}
		if (hs == SENDMAIL_HEAD_BODY) {
			sm_in_again(&sm_stdin);
			return 0;
		}
		if (hs == SENDMAIL_HEAD_FULL) {
			log_err("the message's header is longer than %d bytes; message not sent", SENDMAIL_HEAD_MAX);
			return EX_DATAERR;
		}
	}
	return st == SENDMAIL_LINE_NEED ? 0 : sm_in_error(&sm_stdin, st);
}

/* --- the transaction ------------------------------------------------------------------- */

/* The envelope sender: -f / -r (without <>), else the login name. Returns 0 or an exit code. */
static int sm_sender(const struct sm_opts *o, char *out, size_t cap)
{
	const char *s = o->sender;

	if (s == NULL) {
		struct passwd *pw = getpwuid(getuid());

		if (pw == NULL || pw->pw_name == NULL || pw->pw_name[0] == '\0') {
			log_err("no login name for uid %u (no passwd entry): give the sender with -f ADDRESS",
				(unsigned)getuid());
			return EX_NOUSER;
		}
		s = pw->pw_name;
	}
	if (sendmail_arg_sender(s, out, cap) < 0) {
		log_err("invalid sender address (-f): at most %d octets, no blanks, control characters or <>",
			ADDR_MAX);
		return EX_USAGE;
	}
	return 0;
}

/* Recipients from the command line and, with -t, the header. Returns 0 or an exit code. */
static int sm_recipients(const struct sm_opts *o, int head_read)
{
	const char *bad = "";

	if (!head_read) {
		sendmail_rcpts_init(&sm_rcpts);
		for (int i = 0; i < o->nrcpt; i++) {
			char shown[ADDR_MAX + 1];

			if (sendmail_rcpts_parse(&sm_rcpts, o->rcpt[i], strlen(o->rcpt[i])) < 0) {
				log_err("bad recipient '%s': %s", log_printable(o->rcpt[i], shown, sizeof(shown)),
					sm_rcpts.error);
				return EX_USAGE;
			}
		}
		if (o->from_head) {
			return 0;
		}
	} else if (o->from_head && sendmail_rcpts_from_head(&sm_rcpts, &sm_head, &bad) < 0) {
		log_err("cannot read the recipients of the %s: header: %s; message not sent", bad, sm_rcpts.error);
		return EX_DATAERR;
	}
	if (sm_rcpts.n == 0) {
		log_err("no recipients");
		return EX_NOINPUT;
	}
	return 0;
}

/* MAIL and every RCPT; on a refusal RSET and QUIT. Returns 0 or an exit code. */
static int sm_envelope(struct sendmail_smtp *c, const char *sender, char *effective, size_t cap)
{
	char what[ADDR_MAX + 16];
	const char *a;
	size_t pos = 0;
	int rc = sendmail_smtp_command(c, "MAIL FROM:<%s>", sender), worst = 0;

	if (rc < 0) {
		return EX_TEMPFAIL;
	}
	if (rc != 250) {
		snprintf(what, sizeof(what), "MAIL FROM:<%s>", sender);
		rc = sendmail_smtp_refused(
		    c, what, rc == 553 || strncmp(c->reply.enhanced, "5.7.", 4) == 0 ? EX_NOPERM : EX_DATAERR);
		sendmail_smtp_quit(c);
		return rc;
	}
	if (sendmail_reply_sender(c->reply.text, effective, cap) < 0) {
		snprintf(effective, cap, "%s", sender);
	}
	while ((a = sendmail_rcpts_next(&sm_rcpts, &pos)) != NULL) {
		rc = sendmail_smtp_command(c, "RCPT TO:<%s>", a);
		if (rc < 0) {
			return EX_TEMPFAIL;
		}
		if (rc / 100 != 2) {
			snprintf(what, sizeof(what), "RCPT TO:<%s>", a);
			rc = sendmail_smtp_refused(c, what, EX_NOUSER);
			worst = worst == EX_NOUSER ? worst : rc;
		}
	}
	if (worst != 0) {
		log_err("a recipient was refused; message not sent");
		sendmail_smtp_quit(c);
	}
	return worst;
}

static int sm_send_line(struct sendmail_smtp *c, const char *line, size_t len)
{
	static char smtp[SENDMAIL_LINE_MAX + 3];
	size_t n = sendmail_line_smtp(line, len, smtp);

	return sendmail_smtp_put(c, smtp, n);
}

/* The header block: From: when it has none, every field but Bcc:, the empty line. */
static int sm_send_head(struct sendmail_smtp *c, const struct sm_opts *o, const char *effective)
{
	char from[SENDMAIL_FROM_MAX];
	struct sendmail_field f;
	size_t pos = 0;
	int rc = 0;

	if (!sendmail_head_has(&sm_head, "From") && effective[0] != '\0') {
		rc = sm_send_line(c, from, sendmail_from_line(o->fullname, effective, from, sizeof(from)));
	}
	while (rc == 0 && sendmail_head_field(&sm_head, &pos, &f)) {
		const char *p = f.start, *end = f.start + f.len;

		while (rc == 0 && !sendmail_field_is(&f, "Bcc") && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			rc = sm_send_line(c, p, (size_t)(nl - p));
			p = nl + 1;
		}
	}
	return rc == 0 ? sendmail_smtp_put(c, "\r\n", 2) : rc;
}

/* DATA, the message, the final dot. Returns 0 or an exit code. */
static int sm_data(struct sendmail_smtp *c, const struct sm_opts *o, const char *effective)
{
	const char *line;
	size_t len;
	int st = SENDMAIL_LINE_NEED, rc = sendmail_smtp_command(c, "DATA");

	if (rc != 354) {
		rc = rc < 0 ? EX_TEMPFAIL : sendmail_smtp_refused(c, "DATA", EX_DATAERR);
		sendmail_smtp_quit(c);
		return rc;
	}
	rc = sm_send_head(c, o, effective);
	while (rc == 0 && (st = sm_in_line(&sm_stdin, o->dot_ends, &line, &len)) == SENDMAIL_LINE_OK) {
		rc = sm_send_line(c, line, len);
	}
	if (rc == 0 && st != SENDMAIL_LINE_NEED) {
		return sm_in_error(&sm_stdin, st); /* no final dot: the gateway discards what it got */
	}
	if (rc != 0 || sendmail_smtp_put(c, ".\r\n", 3) < 0 || sendmail_smtp_flush(c) < 0) {
		log_err("cannot send the message to %s: %s; message not sent", c->path, strerror(errno));
		return EX_TEMPFAIL;
	}
	rc = sendmail_smtp_reply(c, "end of DATA");
	if (rc < 0) {
		return EX_TEMPFAIL;
	}
	rc = rc / 100 == 2 ? 0 : sendmail_smtp_refused(c, "end of DATA", EX_DATAERR);
	(void)sendmail_smtp_command(c, "QUIT");
	return rc;
}

static int sm_submit(const struct sm_opts *o)
{
	char sender[ADDR_MAX + 1] = "", effective[ADDR_MAX + 1] = "";
	int rc = sm_sender(o, sender, sizeof(sender));

	rc = rc != 0 ? rc : sm_recipients(o, 0);
	rc = rc != 0 ? rc : sm_read_head(o);
	rc = rc != 0 ? rc : sm_recipients(o, 1);
	if (rc != 0) {
		return rc;
	}
	sm_conn.fd = -1;
	rc = sendmail_smtp_open(&sm_conn, o->conf, o->mode != 's', "; message not sent");
	rc = rc != 0 ? rc : sm_envelope(&sm_conn, sender, effective, sizeof(effective));
	rc = rc != 0 ? rc : sm_data(&sm_conn, o, effective);
	if (sm_conn.fd >= 0) {
		close(sm_conn.fd);
	}
	return rc;
}

/* --- -bs: SMTP on standard input and output ---------------------------------------------- */

/* Copies both ways until the gateway closes (after standard input ends: its write side is shut). */
static int sm_relay(const struct sm_opts *o)
{
	char buf[4096];
	int in_open = 1, rc = sendmail_smtp_open(&sm_conn, o->conf, o->mode != 's', "");

	if (rc != 0) {
		return rc;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = sm_conn.fd, .events = POLLIN },
				       { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
		ssize_t n;

		rc = poll(p, 2, in_open ? -1 : SM_TIMEOUT_MS);
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc <= 0) {
			break;
		}
		if (p[0].revents != 0) {
			n = read(sm_conn.fd, buf, sizeof(buf));
			if (n <= 0 || fs_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
				break;
			}
		}
		if (p[1].revents != 0) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = 0;
				(void)shutdown(sm_conn.fd, SHUT_WR);
			} else if (sendmail_smtp_put(&sm_conn, buf, (size_t)n) < 0 ||
				   sendmail_smtp_flush(&sm_conn) < 0) {
				break;
			}
		}
	}
	close(sm_conn.fd);
	return 0;
}

/* --- entry points ----------------------------------------------------------------------- */

int cmd_sendmail(int argc, char **argv)
{
	struct sm_opts o;
	int rc;

	log_init("sendmail", LOG_TO_STDERR);
	signal(SIGPIPE, SIG_IGN);
	rc = sm_parse_args(&o, argc, argv);
	if (rc != 0) {
		return rc;
	}
	switch (o.mode) {
	case 'p':
		return cli_ctl_run(o.conf, "list");
	case 'q':
		return cli_ctl_run(o.conf, "flush");
	case 'i':
		log_info("aliases live in %s (alias = NAME: ADDRESS, ...); there is no alias database to build",
			 o.conf);
		return 0;
	case 's':
		return sm_relay(&o);
	default:
		return sm_submit(&o);
	}
}

int cmd_mailq(int argc, char **argv)
{
	const char *path;

	log_init("mailq", LOG_TO_STDERR);
	path = cli_take_config(&argc, argv);
	if (path == NULL || argc != 1) {
		log_err("usage: mailq [-c FILE]");
		return EX_USAGE;
	}
	return cli_ctl_run(path, "list");
}
