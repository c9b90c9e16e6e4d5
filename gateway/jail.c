/*
 * jail.c - the jail: accounts, directories and the confinement each process
 * enters after start-up (see jail.h for who goes where). Built as root by
 * the master before the first fork; entered by every process right after
 * it has opened what it alone needs (the key, the smarthost secret).
 */
#include "jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "fs.h"
#include "log.h"
#include "sandbox.h"
#include "test_hook.h"

static const char *const jail_spool_dirs[] = { "tmp", "queue", "defer", "hold", "corrupt", "reason" };
static const char *const jail_etc_files[] = { "hosts", "resolv.conf" };

static int jail_account(struct jail_account *a, const char *name, const char *suffix, char *err, size_t errcap)
{
	const struct passwd *pw;

	snprintf(a->name, sizeof(a->name), "%s%s", name, suffix);
	pw = getpwnam(a->name);
	if (pw == NULL) {
		snprintf(err, errcap, "run_as: no such account '%s'%s", a->name,
			 *suffix ? " (CONFIG_SANDBOX_SEPARATE_UIDS needs it)" : "");
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errcap, "run_as: '%s' is root (uid or gid 0); use an unprivileged account", a->name);
		return -1;
	}
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
	return 0;
}

static int jail_paths(struct jail *j, const struct conf *c, char *err, size_t errcap)
{
	const char *base = strrchr(c->users, '/');

	snprintf(j->spool, sizeof(j->spool), "%s", c->spool);
	snprintf(j->empty, sizeof(j->empty), "%s/empty", c->spool);
	if (!j->enabled || base == NULL) {
		snprintf(j->users_file, sizeof(j->users_file), "%s", c->users);
		return 0;
	}
	if (fs_dirname(c->users, j->users_dir, sizeof(j->users_dir)) < 0) {
		snprintf(err, errcap, "users: path too long");
		return -1;
	}
	snprintf(j->users_file, sizeof(j->users_file), "%s", base);
	return 0;
}

int jail_init(struct jail *j, const struct conf *c, int enabled, char *err, size_t errcap)
{
	memset(j, 0, sizeof(*j));
	j->enabled = enabled;
	if (jail_paths(j, c, err, errcap) < 0) {
		return -1;
	}
	if (!enabled) {
		j->main = (struct jail_account){ getuid(), getgid(), "" };
		j->session = j->relay = j->main;
		return 0;
	}
	if (jail_account(&j->main, c->run_as, "", err, errcap) < 0) {
		return -1;
	}
	j->session = j->relay = j->main;
	if (CONFIG_SANDBOX_SEPARATE_UIDS && (jail_account(&j->session, c->run_as, "-session", err, errcap) < 0 ||
					     jail_account(&j->relay, c->run_as, "-relay", err, errcap) < 0)) {
		return -1;
	}
	return 0;
}

/* Owner and mode of an open directory, changed only when they differ. */
static int jail_own(int fd, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		return -1;
	}
	if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0) {
		return -1;
	}
	return (st.st_mode & 07777) != mode ? fchmod(fd, mode) : 0;
}

/* The queue's directories and every message in them belong to its account. */
static int jail_spool_dir(int spool_fd, const char *name, const struct jail_account *a)
{
	int fd = openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	const struct dirent *de;
	int rc = 0;

	if (fd < 0 || jail_own(fd, a->uid, a->gid, 0700) < 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && fchownat(dirfd(d), de->d_name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/* SPOOL/empty: root's, mode 0555, and really empty. */
static int jail_empty_dir(int spool_fd, char *err, size_t errcap)
{
	int fd;
	DIR *d;
	const struct dirent *de;
	int entries = 0;

	if (mkdirat(spool_fd, "empty", 0555) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "cannot create the empty jail directory: %s", strerror(errno));
		return -1;
	}
	fd = openat(spool_fd, "empty", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || jail_own(fd, 0, 0, 0555) < 0 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errcap, "cannot set up the empty jail directory: %s", strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	}
	closedir(d);
	if (entries > 0) {
		snprintf(err, errcap, "the jail directory 'empty' in the spool is not empty; remove what is in it");
		return -1;
	}
	return 0;
}

/* Copies the host's /etc/NAME into SPOOL/etc/NAME (atomically), or removes a stale copy. */
static int jail_copy_etc(int etc_fd, const char *name)
{
	char src[64];
	int in, rc;

	snprintf(src, sizeof(src), "/etc/%s", name);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		return errno == ENOENT && (unlinkat(etc_fd, name, 0) == 0 || errno == ENOENT) ? 0 : -1;
	}
	rc = fs_replace_from_fd(etc_fd, name, in, 0644);
	close(in);
	return rc;
}

/*
 * SPOOL/etc: what musl's resolver reads, relative to the relay's root. The
 * queue's account owns it: the queue (the spool's one writer) replaces the
 * copies when the reload process sees the host's files change.
 */
static int jail_etc_dir(int spool_fd, const struct jail_account *owner, char *err, size_t errcap)
{
	int fd, rc = 0;

	if (mkdirat(spool_fd, "etc", 0755) < 0 && errno != EEXIST) {
		rc = -1;
	}
	fd = openat(spool_fd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rc < 0 || fd < 0 || jail_own(fd, owner->uid, owner->gid, 0755) < 0) {
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(jail_etc_files) / sizeof(jail_etc_files[0]); i++) {
		rc = jail_copy_etc(fd, jail_etc_files[i]);
	}
	if (fd >= 0) {
		close(fd);
	}
	if (rc < 0) {
		snprintf(err, errcap, "cannot copy /etc/hosts and /etc/resolv.conf into the spool: %s",
			 strerror(errno));
	}
	return rc;
}

/* SPOOL/state: the queue's account replaces the status file in it; everyone may read it. */
static int jail_state_dir(int spool_fd, const struct jail_account *owner)
{
	int fd = openat(spool_fd, "state", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd >= 0 && jail_own(fd, owner->uid, owner->gid, 0755) == 0 ? 0 : -1;

	if (fd >= 0) {
		close(fd);
	}
	if (rc == 0 && fchownat(spool_fd, "state/status", owner->uid, owner->gid, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != ENOENT) {
		rc = -1;
	}
	return rc;
}

int jail_prepare(const struct jail *j, const struct conf *c, int spool_fd, char *err, size_t errcap)
{
	(void)c;
	if (!j->enabled) {
		return 0;
	}
	if (jail_own(spool_fd, 0, 0, 0755) < 0) {
		snprintf(err, errcap, "cannot make the spool %s root's with mode 0755: %s", j->spool, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(jail_spool_dirs) / sizeof(jail_spool_dirs[0]); i++) {
		if (jail_spool_dir(spool_fd, jail_spool_dirs[i], &j->main) < 0) {
			snprintf(err, errcap, "cannot give %s/%s to %s: %s", j->spool, jail_spool_dirs[i], j->main.name,
				 strerror(errno));
			return -1;
		}
	}
	if (jail_state_dir(spool_fd, &j->main) < 0) {
		snprintf(err, errcap, "cannot give %s/state to %s: %s", j->spool, j->main.name, strerror(errno));
		return -1;
	}
	return jail_empty_dir(spool_fd, err, errcap) < 0 ? -1 : jail_etc_dir(spool_fd, &j->main, err, errcap);
}

static void jail_limit(int resource, rlim_t value, const char *what)
{
	struct rlimit rl = { value, value };

	if (setrlimit(resource, &rl) < 0) {
		fatal(EX_OSERR, "jail: cannot limit %s: %s", what, strerror(errno));
	}
}

static void jail_rlimits(enum sandbox_role role)
{
	int serves_sessions = role == SANDBOX_MASTER || role == SANDBOX_AUTH || role == SANDBOX_QUEUE;
	rlim_t files = (rlim_t)CONFIG_RLIMIT_NOFILE + (serves_sessions ? 2 * (rlim_t)CONFIG_MAX_SESSIONS + 16 : 0);

	jail_limit(RLIMIT_CORE, 0, "core files");
	jail_limit(RLIMIT_NOFILE, files, "open files");
	jail_limit(RLIMIT_AS, (rlim_t)CONFIG_SANDBOX_RLIMIT_AS_MB << 20, "address space");
}

static void jail_chroot(const char *dir, const struct jail_account *a, enum sandbox_role role)
{
	const char *name = sandbox_role_name(role);
	pid_t parent = getppid();

	if (chroot(dir) < 0 || chdir("/") < 0) {
		fatal(EX_OSERR, "jail: %s: cannot chroot to %s: %s", name, dir, strerror(errno));
	}
	if (setgroups(0, NULL) < 0 || setresgid(a->gid, a->gid, a->gid) < 0 || setresuid(a->uid, a->uid, a->uid) < 0) {
		fatal(EX_OSERR, "jail: %s: cannot become %s: %s", name, a->name, strerror(errno));
	}
	if (getuid() == 0 || geteuid() == 0 || setuid(0) == 0) {
		fatal(EX_SOFTWARE, "jail: %s: still root after dropping privileges", name);
	}
	/*
	 * A change of credentials clears the parent-death signal: set it again, and mind a parent
	 * already gone. A session catches SIGTERM (to finish DATA), so its master's death is SIGKILL.
	 */
	if (prctl(PR_SET_PDEATHSIG, role == SANDBOX_SESSION ? SIGKILL : SIGTERM) < 0 ||
	    (role != SANDBOX_MASTER && getppid() != parent)) {
		_exit(EX_UNAVAILABLE);
	}
}

/*
 * The reload process: run_as, no chroot (it follows the configured paths),
 * and of root's powers only CAP_DAC_READ_SEARCH, to read files that only
 * root may read. Its filter allows no writing, connecting or executing.
 */
static void jail_reader(const struct jail_account *a)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	pid_t parent = getppid();

	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (cap != CAP_DAC_READ_SEARCH && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			fatal(EX_OSERR, "jail: reload: cannot drop capability %d: %s", cap, strerror(errno));
		}
	}
	if (chdir("/") < 0 || prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(a->gid, a->gid, a->gid) < 0 || setresuid(a->uid, a->uid, a->uid) < 0) {
		fatal(EX_OSERR, "jail: reload: cannot become %s: %s", a->name, strerror(errno));
	}
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = 1u << CAP_DAC_READ_SEARCH;
	if (syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		fatal(EX_OSERR, "jail: reload: cannot keep only CAP_DAC_READ_SEARCH: %s", strerror(errno));
	}
	if (getuid() == 0 || geteuid() == 0) {
		fatal(EX_SOFTWARE, "jail: reload: still root after dropping privileges");
	}
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
		_exit(EX_UNAVAILABLE);
	}
}

void jail_enter(const struct jail *j, enum sandbox_role role)
{
	if (j->enabled) {
		switch (role) {
		case SANDBOX_MASTER:
			jail_chroot(j->empty, &j->session, role);
			break;
		case SANDBOX_AUTH:
			jail_chroot(j->users_dir, &j->main, role);
			break;
		case SANDBOX_QUEUE:
			jail_chroot(j->spool, &j->main, role);
			break;
		case SANDBOX_RELAY_KEEPER:
			jail_chroot(j->spool, &j->relay, role);
			break;
		case SANDBOX_RELOAD:
			jail_reader(&j->main);
			break;
		default: /* sessions and the relay worker inherit their parent's jail */
			break;
		}
	}
	if (role != SANDBOX_SESSION && role != SANDBOX_RELAY) {
		jail_rlimits(role); /* sessions and the relay worker inherit theirs */
	}
	if (sandbox_enter(role) < 0) {
		fatal(EX_OSERR, "jail: %s: cannot install the seccomp filter: %s", sandbox_role_name(role),
		      strerror(errno));
	}
	test_hook_role(role);
}
