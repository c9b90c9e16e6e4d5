#!/usr/bin/env bash
# scripts/with-accounts.sh NAME:ID... -- COMMAND [ARG...]
#
# Runs COMMAND with accounts that exist only for it: each NAME gets uid and gid ID
# (and a group of the same name). In a private mount namespace (unshare --mount),
# copies of /etc/passwd and /etc/group with those entries are bind-mounted over the
# originals, which are never written; both musl's getpwnam and glibc's files module
# read /etc/passwd, so the daemon and the tests see the same accounts. An account
# the host already has is kept as it is. Root only, like the integration tests.
# `make test-separate-uids` runs the tests of CONFIG_SANDBOX_SEPARATE_UIDS under it.
set -euo pipefail

usage() {
	echo "usage: $0 NAME:ID... -- COMMAND [ARG...]" >&2
	exit 64
}

if [ "${WITH_ACCOUNTS_NS:-}" != "$$" ]; then
	[ "$(id -u)" = 0 ] || { echo "$0: must run as root (it needs a mount namespace)" >&2; exit 77; }
	# exec keeps the pid: the copy inside knows it is in the new namespace
	export WITH_ACCOUNTS_NS=$$
	exec unshare --mount --propagation private -- "$0" "$@"
fi
unset WITH_ACCOUNTS_NS

accounts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	accounts+=("$1")
	shift
done
if [ $# -lt 2 ] || [ ${#accounts[@]} -eq 0 ]; then
	usage
fi
shift

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp /etc/passwd "$tmp/passwd"
cp /etc/group "$tmp/group"
for a in "${accounts[@]}"; do
	name=${a%%:*}
	id=${a#*:}
	[[ "$name" =~ ^[a-z_][a-z0-9_-]*$ && "$id" =~ ^[1-9][0-9]*$ ]] || usage
	if awk -F: -v n="$name" '$1 == n { found = 1 } END { exit !found }' "$tmp/passwd"; then
		continue # the host's own account
	fi
	if awk -F: -v i="$id" '$3 == i { found = 1 } END { exit !found }' "$tmp/passwd" "$tmp/group"; then
		echo "$0: id $id is taken on this host; choose another for $name" >&2
		exit 1
	fi
	printf '%s:x:%s:%s:test account (scripts/with-accounts.sh):/nonexistent:/usr/sbin/nologin\n' \
		"$name" "$id" "$id" >>"$tmp/passwd"
	awk -F: -v n="$name" '$1 == n { found = 1 } END { exit !found }' "$tmp/group" ||
		printf '%s:x:%s:\n' "$name" "$id" >>"$tmp/group"
done
chmod 0644 "$tmp/passwd" "$tmp/group"
mount --bind "$tmp/passwd" /etc/passwd
mount --bind "$tmp/group" /etc/group
rm -rf "$tmp" # the mounts keep the files
exec "$@"
