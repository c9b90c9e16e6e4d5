/*
 * sendmail_smtp_test.c - the sendmail client's end of the submission socket
 * over a socketpair: multi-line replies with enhanced codes, commands as
 * sent on the wire, malformed and missing replies, refusal exit codes.
 */
#include "config.h"
#if CONFIG_TOOL_SENDMAIL
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "harness.h"
#include "sendmail_smtp.h"

static struct sendmail_smtp smtp_conn;

/* A connection whose server end is *server, with `script` already waiting to be read. */
static struct sendmail_smtp *smtp_pair(int *server, const char *script)
{
	int sv[2];

	*server = -1;
	memset(&smtp_conn, 0, sizeof(smtp_conn));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || write(sv[1], script, strlen(script)) < 0) {
		return NULL;
	}
	sendmail_smtp_attach(&smtp_conn, sv[0]);
	*server = sv[1];
	return &smtp_conn;
}

TEST(sendmail_smtp_multiline_reply)
{
	int server;
	struct sendmail_smtp *c =
	    smtp_pair(&server, "250-gw.example\r\n250-SIZE 1000\r\n250 2.1.0 <a@b.example>: Sender ok\r\n");

	CHECK(c != NULL);
	if (c == NULL) {
		return;
	}
	CHECK(sendmail_smtp_reply(c, "test") == 250);
	CHECK(strncmp(c->shown, "250 ", 4) == 0);
	CHECK(strstr(c->shown, "<a@b.example>: Sender ok") != NULL); /* the last line's text is kept */
	close(server);
	CHECK(sendmail_smtp_reply(c, "test") == -1); /* the server went away */
	close(c->fd);
}

TEST(sendmail_smtp_command_on_the_wire)
{
	char got[64] = "";
	int server;
	struct sendmail_smtp *c = smtp_pair(&server, "550 5.1.1 <x>: no alias\r\n");

	CHECK(c != NULL);
	if (c == NULL) {
		return;
	}
	CHECK(sendmail_smtp_command(c, "RCPT TO:<%s>", "x") == 550);
	CHECK(read(server, got, sizeof(got) - 1) == 13);
	CHECK_STR(got, "RCPT TO:<x>\r\n");
	CHECK(sendmail_smtp_refused(c, "RCPT TO:<x>", EX_NOUSER) == EX_NOUSER);
	close(server);
	close(c->fd);
}

TEST(sendmail_smtp_temporary_and_malformed)
{
	int server;
	struct sendmail_smtp *c = smtp_pair(&server, "452 4.3.1 Insufficient system storage\r\nxyz\r\n");

	CHECK(c != NULL);
	if (c == NULL) {
		return;
	}
	CHECK(sendmail_smtp_reply(c, "MAIL") == 452);
	CHECK(sendmail_smtp_refused(c, "MAIL", EX_DATAERR) == EX_TEMPFAIL); /* 4xx: try again later */
	CHECK(sendmail_smtp_reply(c, "next") == -1);                        /* not a reply line */
	close(server);
	close(c->fd);
}

/* A put larger than the whole buffer reaches the server intact, and nothing beside the buffer is touched. */
TEST(sendmail_smtp_put_larger_than_its_buffer)
{
	static char big[8192 + 64], got[sizeof(big) + 16];
	size_t have = 0;
	ssize_t n;
	int server;
	struct sendmail_smtp *c = smtp_pair(&server, "");

	CHECK(c != NULL);
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (char)('A' + i % 23);
	}
	c->reply.code = 421; /* the last reply: must survive the put */
	snprintf(c->shown, sizeof(c->shown), "canary");
	CHECK(sendmail_smtp_put(c, "DATA\r\n", 6) == 0);
	CHECK(sendmail_smtp_put(c, big, sizeof(big)) == 0);
	CHECK(c->reply.code == 421);
	CHECK_STR(c->shown, "canary");
	if (c->reply.code != 421) {
		close(server); /* the connection's state is overwritten: a flush could send anything */
		close(c->fd);
		return;
	}
	CHECK(sendmail_smtp_flush(c) == 0);
	while (have < 6 + sizeof(big) && (n = read(server, got + have, sizeof(got) - have)) > 0) {
		have += (size_t)n;
	}
	CHECK(have == 6 + sizeof(big));
	CHECK(memcmp(got, "DATA\r\n", 6) == 0 && memcmp(got + 6, big, sizeof(big)) == 0);
	close(server);
	close(c->fd);
}
#endif
