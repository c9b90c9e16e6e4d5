#!/bin/sh
# scripts/install.sh - `make install` and `make rootfs`: puts the binary, its
# links, the skeleton of rootfs/ (or OpenWrt's procd files), the first-start
# hook and the man pages under DESTDIR, and writes MANIFEST, a device table
# in the makedevs format of Buildroot and genext2fs:
#   NAME TYPE MODE UID GID MAJOR MINOR START INC COUNT
# with account names for UID and GID (Buildroot's makedevs looks them up in
# the target's /etc/passwd and /etc/group; for a tool that wants numbers,
# replace them). Symbolic links have no owner worth recording: they are
# listed as comments (`# link NAME -> TARGET`). Every path this script
# creates is in MANIFEST; standard directories (/usr/sbin, /etc/init.d ...)
# are created 0755 but not listed.
#
# The install must work on a build machine without the run_as account: as
# root, ownership is applied with chown when the accounts exist here (else
# the file stays root's and a note says so); as another user, nothing is
# chowned and the packaging tool applies MANIFEST (fakeroot, makedevs).
# Configuration files that already exist under DESTDIR are kept as they are
# (installing onto a live system never replaces its users.cdb).
#
# Environment (the Makefile sets all of them):
#   BIN           the binary to install
#   DESTDIR       staging root (may be empty: the running system)
#   PREFIX        /usr by default; sbin, bin, lib, libexec, share under it;
#                 /etc and /var never are
#   MANIFEST      where the device table goes
#   RUN_AS_GROUP  the group of the run_as account (users.cdb is 0640 root:it)
#   SENDMAIL      y: the sendmail and mailq links and subgate-sendmail(1) (CONFIG_TOOL_SENDMAIL)
#   INIT          sysv (rootfs/etc/init.d/subgate), procd (board/openwrt's
#                 procd script, UCI glue and first-boot script), or none
set -eu
cd "$(dirname "$0")/.."

: "${BIN:?BIN names the binary}" "${MANIFEST:?MANIFEST names the device table}"
DESTDIR="${DESTDIR:-}"
DESTDIR="${DESTDIR%/}"
PREFIX="${PREFIX:-/usr}"
PREFIX="${PREFIX%/}"
RUN_AS_GROUP="${RUN_AS_GROUP:-subgate}"
SENDMAIL="${SENDMAIL:-y}"
INIT="${INIT:-sysv}"

case "$PREFIX" in
/*) ;;
*)
	echo "install: PREFIX must be an absolute path (is '$PREFIX')" >&2
	exit 2
	;;
esac
case "$INIT" in
sysv | procd | none) ;;
*)
	echo "install: INIT must be sysv, procd or none (is '$INIT')" >&2
	exit 2
	;;
esac

SBINDIR="$PREFIX/sbin"
LIBEXECDIR="$PREFIX/libexec/subgate"
MANDIR="$PREFIX/share/man"
AS_ROOT=""
[ "$(id -u)" = 0 ] && AS_ROOT=1

mkdir -p "$(dirname "$MANIFEST")"
TABLE="$MANIFEST.tmp"
{
	echo "# subgate device table (makedevs format; names for uid and gid), written by scripts/install.sh"
	echo "# PREFIX=$PREFIX INIT=$INIT RUN_AS_GROUP=$RUN_AS_GROUP"
	echo "#<name>                                  <type> <mode> <uid> <gid> <major> <minor> <start> <inc> <count>"
} >"$TABLE"

note() { echo "  NOTE    $*" >&2; }

# own PATH USER GROUP: chown as root when both accounts exist here.
own() {
	[ -n "$AS_ROOT" ] || return 0
	if ! id -u "$2" >/dev/null 2>&1; then
		note "$1 stays root's: no account '$2' on this machine (MANIFEST records it)"
	elif ! getent group "$3" >/dev/null 2>&1; then
		note "$1 stays root's: no group '$3' on this machine (MANIFEST records it)"
	else
		chown "$2:$3" "$DESTDIR$1"
	fi
}

record() { # PATH TYPE MODE USER GROUP
	printf '%-40s %s %s %s %s - - - - -\n' "$1" "$2" "$3" "$4" "$5" >>"$TABLE"
}

stddir() { install -d -m 0755 "$DESTDIR$1"; }

dir() { # PATH MODE USER GROUP
	echo "  INSTALL $1/"
	install -d -m "$2" "$DESTDIR$1"
	chmod "$2" "$DESTDIR$1"
	own "$1" "$3" "$4"
	record "$1" d "$2" "$3" "$4"
}

# file SRC PATH MODE USER GROUP: installs SRC with the default paths in it
# (/usr/sbin/subgate, /usr/libexec/subgate/) moved under PREFIX.
file() {
	echo "  INSTALL $2"
	stddir "$(dirname "$2")"
	sed -e "s|/usr/sbin/subgate|$SBINDIR/subgate|g" -e "s|/usr/libexec/subgate/|$LIBEXECDIR/|g" \
		"$1" >"$DESTDIR$2.tmp"
	chmod "$3" "$DESTDIR$2.tmp"
	mv -f "$DESTDIR$2.tmp" "$DESTDIR$2"
	own "$2" "$4" "$5"
	record "$2" f "$3" "$4" "$5"
}

# conffile SRC PATH MODE USER GROUP: as file, but an existing one is kept.
conffile() {
	if [ -e "$DESTDIR$2" ]; then
		echo "  KEEP    $2 (exists)"
		record "$2" f "$3" "$4" "$5"
		return 0
	fi
	file "$@"
}

link() { # TARGET PATH
	echo "  LINK    $2 -> $1"
	stddir "$(dirname "$2")"
	ln -sfn "$1" "$DESTDIR$2"
	echo "# link $2 -> $1" >>"$TABLE"
}

# The binary, copied as it is (static and stripped by the build).
echo "  INSTALL $SBINDIR/subgate"
stddir "$SBINDIR"
install -m 0755 "$BIN" "$DESTDIR$SBINDIR/subgate.tmp"
mv -f "$DESTDIR$SBINDIR/subgate.tmp" "$DESTDIR$SBINDIR/subgate"
own "$SBINDIR/subgate" root root
record "$SBINDIR/subgate" f 0755 root root

# Invoked as sendmail or mailq, subgate acts as those; no newaliases
# (aliases live in subgate.conf). /usr/lib/sendmail is the traditional path.
if [ "$SENDMAIL" = y ]; then
	link subgate "$SBINDIR/sendmail"
	link ../sbin/subgate "$PREFIX/bin/mailq"
	link ../sbin/subgate "$PREFIX/lib/sendmail"
fi

dir "$PREFIX/libexec/subgate" 0755 root root
file rootfs/usr/libexec/subgate/first-start "$LIBEXECDIR/first-start" 0755 root root

# /etc/subgate: nothing secret is shipped. users.cdb is an empty database
# (byte for byte what `subgate user del` leaves after the last user): no
# passwords, so it can be in an image; the daemon's group must read it.
dir /etc/subgate 0755 root root
conffile rootfs/etc/subgate/subgate.conf /etc/subgate/subgate.conf 0644 root root
conffile rootfs/etc/subgate/smarthost.secret.example /etc/subgate/smarthost.secret.example 0600 root root
if [ ! -e "$DESTDIR/etc/subgate/users.cdb" ]; then
	i=0
	while [ "$i" -lt 256 ]; do
		printf '\000\010\000\000\000\000\000\000'
		i=$((i + 1))
	done >"$DESTDIR/etc/subgate/users.cdb.new"
	mv -f "$DESTDIR/etc/subgate/users.cdb.new" "$DESTDIR/etc/subgate/users.cdb"
	echo "  INSTALL /etc/subgate/users.cdb (empty)"
	chmod 0640 "$DESTDIR/etc/subgate/users.cdb"
	own /etc/subgate/users.cdb root "$RUN_AS_GROUP"
else
	echo "  KEEP    /etc/subgate/users.cdb (exists)"
fi
record /etc/subgate/users.cdb f 0640 root "$RUN_AS_GROUP"

case "$INIT" in
sysv)
	file rootfs/etc/init.d/subgate /etc/init.d/subgate 0755 root root
	;;
procd)
	# OpenWrt: the package's own files, at the paths its recipe uses
	# (board/openwrt/subgate/Makefile, Package/subgate/install).
	file board/openwrt/subgate/files/subgate.init /etc/init.d/subgate 0755 root root
	dir "$PREFIX/lib/subgate" 0755 root root
	file board/openwrt/subgate/files/subgate-uci.sh "$PREFIX/lib/subgate/subgate-uci.sh" 0644 root root
	conffile board/openwrt/subgate/files/subgate.config /etc/config/subgate 0600 root root
	file board/openwrt/subgate/files/subgate.uci-defaults /etc/uci-defaults/90-subgate 0755 root root
	;;
esac

# The spool: root's, 0755; the daemon makes the jail inside at every start.
stddir /var/spool
dir /var/spool/subgate 0755 root root

for page in man/*.[158]; do
	[ -f "$page" ] || continue
	case "$SENDMAIL/${page##*/}" in n/subgate-sendmail.*) continue ;; esac
	section="${page##*.}"
	file "$page" "$MANDIR/man$section/${page##*/}" 0644 root root
done

mv -f "$TABLE" "$MANIFEST"
echo "  MANIFEST $MANIFEST"
