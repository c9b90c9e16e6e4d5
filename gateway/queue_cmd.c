/*
 * queue_cmd.c - `subgate queue`: list (like mailq), show ID, flush, delete ID.
 * Reads the spool named by the configuration; never writes message content.
 */
#include "queue_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "spool.h"
#include "spool_env.h"
#include "timefmt.h"

#define QUEUE_USAGE "usage: subgate queue list|flush [-c FILE]\n       subgate queue show|delete ID [-c FILE]"

static struct conf queue_conf;
static struct spool_env queue_env;

static int queue_valid_id(const char *id)
{
	return strlen(id) == SPOOL_ID_LEN && strspn(id, "0123456789abcdef") == SPOOL_ID_LEN;
}

/* Opens spool/DIR/ID; returns the fd or -1. */
static int queue_open_file(const char *dir, const char *id)
{
	char path[CONF_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s/%s", queue_conf.spool, dir, id);
	return open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/* Prints one message in the mailq format. Returns its size, or -1 if unreadable. */
static long long queue_print_one(const char *dir, const char *id)
{
	static char head[SPOOL_ENV_MAX];
	char when[TIMEFMT_RFC5322_LEN], next[TIMEFMT_RFC5322_LEN];
	struct stat st;
	int fd = queue_open_file(dir, id);
	ssize_t n = fd >= 0 ? read(fd, head, sizeof(head)) : -1;

	if (fd < 0 || n <= 0 || fstat(fd, &st) < 0 || spool_env_parse(&queue_env, head, (size_t)n) < 0) {
		printf("%-17s (unreadable: %s)\n", id, fd < 0 ? strerror(errno) : "damaged envelope");
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	close(fd);
	timefmt_rfc5322(queue_env.arrival, when, sizeof(when));
	printf("%-17s %9lld %-31s %s\n", id, (long long)st.st_size, when,
	       queue_env.sender[0] ? queue_env.sender : "MAILER-DAEMON");
	if (strcmp(dir, "defer") == 0) {
		timefmt_rfc5322(st.st_mtime, next, sizeof(next));
		printf("%60s(deferred; next attempt %s)\n", "", next);
	}
	for (unsigned i = 0; i < queue_env.nrcpt; i++) {
		if (queue_env.rcpt[i].state == SPOOL_RCPT_PENDING) {
			printf("%60s%s\n", "", queue_env.rcpt[i].addr);
		}
	}
	return (long long)st.st_size;
}

static void queue_list_dir(const char *dir, unsigned *count, long long *bytes)
{
	char path[CONF_PATH_MAX + 16];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", queue_conf.spool, dir);
	d = opendir(path);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (queue_valid_id(de->d_name)) {
			long long size = queue_print_one(dir, de->d_name);

			*count += 1;
			*bytes += size > 0 ? size : 0;
		}
	}
	if (d != NULL) {
		closedir(d);
	}
}

static int queue_list(void)
{
	unsigned count = 0;
	long long bytes = 0;

	printf("%-17s %9s %-31s %s\n", "-Queue ID-", "--Size--", "---Arrival Time (UTC)---",
	       "-Sender/Recipient-------");
	queue_list_dir("queue", &count, &bytes);
	queue_list_dir("defer", &count, &bytes);
	if (count == 0) {
		printf("Mail queue is empty\n");
	} else {
		printf("\n-- %lld Kbytes in %u Request%s.\n", (bytes + 1023) / 1024, count, count == 1 ? "" : "s");
	}
	return 0;
}

static int queue_show(const char *id)
{
	char buf[8192];
	ssize_t n;
	int fd = queue_valid_id(id) ? queue_open_file("queue", id) : -1;

	if (fd < 0 && queue_valid_id(id)) {
		fd = queue_open_file("defer", id);
	}
	if (fd < 0) {
		log_err("no message %s in the queue", id);
		return EX_NOINPUT;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return n < 0 ? EX_IOERR : 0;
}

static int queue_delete(const char *id)
{
	char path[CONF_PATH_MAX + 64];
	static const char *const dirs[] = { "queue", "defer" };

	for (int i = 0; queue_valid_id(id) && i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", queue_conf.spool, dirs[i], id);
		if (unlink(path) == 0) {
			printf("%s: deleted\n", id);
			return 0;
		}
	}
	log_err("no message %s in the queue", id);
	return EX_NOINPUT;
}

static int queue_flush(void)
{
	char line[32] = "";
	FILE *f = fopen(queue_conf.pid_file, "re");
	long pid = 0;

	if (f != NULL) {
		pid = fgets(line, sizeof(line), f) ? strtol(line, NULL, 10) : 0;
		fclose(f);
	}
	if (pid <= 1 || kill((pid_t)pid, SIGUSR1) < 0) {
		log_err("the gateway is not running (pid file %s): nothing flushed", queue_conf.pid_file);
		return EX_UNAVAILABLE;
	}
	printf("flush requested: every deferred message will be tried now\n");
	return 0;
}

int cmd_queue(int argc, char **argv)
{
	const char *path = cli_take_config(&argc, argv);

	if (path == NULL || argc < 2 || argc > 3) {
		log_err("%s", QUEUE_USAGE);
		return EX_USAGE;
	}
	if (conf_load(&queue_conf, path) < 0) {
		return queue_conf.unreadable ? EX_NOINPUT : EX_CONFIG;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		return queue_list();
	}
	if (argc == 2 && strcmp(argv[1], "flush") == 0) {
		return queue_flush();
	}
	if (argc == 3 && strcmp(argv[1], "show") == 0) {
		return queue_show(argv[2]);
	}
	if (argc == 3 && strcmp(argv[1], "delete") == 0) {
		return queue_delete(argv[2]);
	}
	log_err("%s", QUEUE_USAGE);
	return EX_USAGE;
}
