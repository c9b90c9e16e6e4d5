/*
 * local_users.c - the uid -> name table behind the local submission socket
 * and the sender each local user may use (see local_users.h).
 */
#include "local_users.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdmap.h"

#define LOCAL_PASSWD_MAX (256 * 1024)

static const struct local_user *local_users_find(const struct local_users *t, uint32_t uid)
{
	for (unsigned i = 0; i < t->n; i++) {
		if (t->user[i].uid == uid) {
			return &t->user[i];
		}
	}
	return NULL;
}

/* One passwd line "name:pw:uid:...": adds it unless malformed or already known. */
static void local_users_line(struct local_users *t, const char *line, size_t len)
{
	const char *c1 = memchr(line, ':', len);
	const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
	size_t nlen = c1 ? (size_t)(c1 - line) : 0;
	uint64_t uid = 0; /* 64 bits even where long has 32: an overlong uid must not wrap */
	const char *p;

	if (c2 == NULL || nlen == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-') {
		return;
	}
	for (p = c2 + 1; p < line + len && *p >= '0' && *p <= '9' && uid <= UINT32_MAX; p++) {
		uid = uid * 10 + (uint64_t)(*p - '0');
	}
	if (p == c2 + 1 || p >= line + len || *p != ':' || uid > UINT32_MAX ||
	    local_users_find(t, (uint32_t)uid) != NULL) {
		return;
	}
	if (t->n >= CONFIG_MAX_LOCAL_USERS || nlen >= sizeof(t->user[0].name)) {
		t->skipped++;
		return;
	}
	t->user[t->n].uid = (uint32_t)uid;
	memcpy(t->user[t->n].name, line, nlen);
	t->user[t->n].name[nlen] = '\0';
	t->n++;
}

unsigned local_users_parse(struct local_users *t, const char *text, size_t len)
{
	memset(t, 0, sizeof(*t));
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		local_users_line(t, text, n);
		text += nl ? n + 1 : n;
		len -= nl ? n + 1 : n;
	}
	return t->n;
}

int local_users_load(struct local_users *t, const char *path)
{
	static char buf[LOCAL_PASSWD_MAX];
	int fd = fdmap_open(path);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0) {
		return -1;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
	}
	close(fd);
	if (n < 0) {
		return -1;
	}
	local_users_parse(t, buf, len);
	return 0;
}

const char *local_users_name(const struct local_users *t, uint32_t uid)
{
	const struct local_user *u = local_users_find(t, uid);

	return u ? u->name : NULL;
}

int local_users_sender(const struct conf *c, const char *name, char *out, size_t cap)
{
	int n;

	for (unsigned i = 0; i < c->nlocal_sender; i++) {
		if (strcmp(c->local_sender[i].name, name) == 0) {
			n = snprintf(out, cap, "%s", c->local_sender[i].addr);
			return n < 0 || (size_t)n >= cap ? -1 : 0;
		}
	}
	n = snprintf(out, cap, "%s@%s", name, c->hostname);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
