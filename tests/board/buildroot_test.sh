#!/bin/sh
# tests/board/buildroot_test.sh - the Buildroot package's init script: the
# shared rootfs/etc/init.d/subgate, installed as /etc/init.d/S50subgate
# beside what scripts/install.sh installs (recipes_test.sh checks that the
# recipe installs exactly that). Run as Buildroot's rcS and rcK run it
# (`/etc/init.d/S50subgate start`, `... stop`), by BusyBox ash with nothing
# but BusyBox's applets on PATH (no openssl, no getent), with the real binary
# and a real daemon, in a tree under a temporary root (its subgate.conf and
# /etc/default/subgate moved there):
#   - the first boot: the first-start hook makes the certificate with
#     `subgate cert`, start succeeds and the daemon greets;
#   - status, start when running, reload (SIGHUP, the same daemon), stop;
#   - refusals: a configuration `subgate check` refuses, no configuration,
#     an unknown action.
# The daemon builds its jail and runs as nobody: the test needs root, and
# says "skipped" without it (as tests/integration/test_rootfs.py does; under
# CI=true that is a failure). Needs
# SUBGATE_BIN (default build/subgate), python3 (a free port, a client) and
# openssl (to read the certificate).
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUBGATE_BIN="${SUBGATE_BIN:-$REPO/build/subgate}"
. "$HERE/lib.sh"

[ -x "$SUBGATE_BIN" ] || {
	echo "buildroot_test: no subgate binary at $SUBGATE_BIN (make first)" >&2
	exit 2
}
if [ "$(id -u)" != 0 ]; then
	echo "buildroot: skipped: the init script's daemon builds its jail, which needs root"
	[ "${CI:-}" != true ] || {
		echo "buildroot: a skip CI must not see (CI=true)" >&2
		exit 1
	}
	exit 0
fi
T="$(mktemp -d /tmp/subgate-buildroot.XXXXXX)"
ROOT="$T/root"
PIDFILE="$ROOT/run/subgate.pid"
# the daemon, if a check failed before stop
cleanup() {
	pid="$(cat "$PIDFILE" 2>/dev/null || true)"
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
chmod 0755 "$T"

# --- the target tree, as the recipe installs it ---------------------------------------
BIN=$SUBGATE_BIN DESTDIR="$ROOT" MANIFEST="$T/devtable" PREFIX=/usr INIT=none SENDMAIL=y \
	RUN_AS_GROUP="$(id -gn nobody)" "$REPO/scripts/install.sh" >"$T/install.log" 2>&1 || {
	cat "$T/install.log"
	exit 2
}
install -D -m 0755 "$REPO/rootfs/etc/init.d/subgate" "$ROOT/etc/init.d/S50subgate"
S50="$ROOT/etc/init.d/S50subgate"
CONF="$ROOT/etc/subgate/subgate.conf"
PORT="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# the shipped configuration with its paths under ROOT, one loopback listener,
# an account this machine has, a loopback smarthost without login
sed -e "s|= */etc/subgate/|= $ROOT/etc/subgate/|" -e "s|= */var/spool/|= $ROOT/var/spool/|" \
	-e '/^listen /d; /^run_as /d; /^smarthost/d' "$CONF" >"$T/conf"
cat >>"$T/conf" <<EOF
listen = 127.0.0.1:$PORT starttls
run_as = nobody
smarthost = [127.0.0.1]:9
smarthost_tls = none
pid_file = $PIDFILE
EOF
cat "$T/conf" >"$CONF"
mkdir -p "$ROOT/run"
chgrp "$(id -g nobody)" "$ROOT/etc/subgate/users.cdb"
cat >"$T/default" <<EOF
SUBGATE=$ROOT/usr/sbin/subgate
FIRST_START=$ROOT/usr/libexec/subgate/first-start
CONF=$CONF
STOP_TIMEOUT=20
EOF
# BusyBox's applets, and nothing else, as the PATH of a Buildroot system
mkdir -p "$T/bin"
busybox --install -s "$T/bin"
BUSYBOX="$(which busybox)"

# s50 ACTION: runs the script as rcS/rcK do; sets S50_STATUS, output in $T/out and $T/err.
s50() {
	S50_STATUS=0
	SUBGATE_DEFAULTS="$T/default" PATH="$T/bin" "$BUSYBOX" ash "$S50" "$1" >"$T/out" 2>"$T/err" ||
		S50_STATUS=$?
}

# greeting: the first line the daemon sends on PORT.
greeting() {
	/usr/bin/python3 -c 'import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    print(s.recv(200).decode(errors="replace").strip())' "$PORT" 2>&1 || true
}

echo "buildroot: the script is the shared one, reading /etc/default/subgate"
# shellcheck disable=SC2016 # the script's text
check_has "its defaults file" "$S50" 'SUBGATE_DEFAULTS="${SUBGATE_DEFAULTS:-/etc/default/subgate}"'
check_eq "no openssl on the system's PATH" none "$(PATH="$T/bin" command -v openssl || echo none)"

echo "buildroot: first boot (rcS: S50subgate start)"
check_eq "no certificate yet" none \
	"$([ -e "$ROOT/etc/subgate/cert.pem" ] || [ -e "$ROOT/etc/subgate/key.pem" ] && echo some || echo none)"
s50 start
check_status "start succeeds" 0 "$S50_STATUS"
pid="$(cat "$PIDFILE" 2>/dev/null || echo none)"
check_eq "start says OK with the pid" "Starting subgate: OK (pid $pid)" "$(cat "$T/out")"
check_has "the first-start hook made the certificate with subgate cert" "$T/err" \
	"subgate first-start: made a self-signed certificate for gw.example.net in $ROOT/etc/subgate/cert.pem"
check_eq "an EC P-256 pair for the configured host name" "subject=CN = gw.example.net|600|644" \
	"$(openssl x509 -in "$ROOT/etc/subgate/cert.pem" -noout -subject 2>&1)|$(stat -c %a "$ROOT/etc/subgate/key.pem")|$(stat -c %a "$ROOT/etc/subgate/cert.pem")"
check_has "an EC P-256 key" "$(openssl pkey -in "$ROOT/etc/subgate/key.pem" -noout -text >"$T/key.txt" 2>&1; echo "$T/key.txt")" \
	"ASN1 OID: prime256v1"
check_eq "the daemon greets" "220 gw.example.net ESMTP" "$(greeting | cut -d' ' -f1-3)"

echo "buildroot: status, start again, reload"
s50 status
check_status "status: running" 0 "$S50_STATUS"
check_eq "status names the pid" "subgate is running (pid $pid)" "$(cat "$T/out")"
s50 start
check_status "start when running succeeds" 0 "$S50_STATUS"
check_eq "and says so" "Starting subgate: already running (pid $pid)" "$(cat "$T/out")"
s50 reload
check_status "reload succeeds" 0 "$S50_STATUS"
check_eq "reload says OK" "Reloading subgate: OK" "$(cat "$T/out")"
sleep 1
check_eq "the same daemon runs after reload" "$pid" "$(cat "$PIDFILE" 2>/dev/null || echo none)"
check_eq "and greets" "220 gw.example.net ESMTP" "$(greeting | cut -d' ' -f1-3)"

echo "buildroot: shutdown (rcK: S50subgate stop)"
s50 stop
check_status "stop succeeds" 0 "$S50_STATUS"
check_eq "stop says OK" "Stopping subgate: OK" "$(cat "$T/out")"
check_eq "the daemon is gone" gone "$([ -d "/proc/$pid" ] && echo running || echo gone)"
s50 status
check_status "status: not running (LSB 3)" 3 "$S50_STATUS"
s50 stop
check_status "stop when stopped succeeds" 0 "$S50_STATUS"
check_eq "and says so" "Stopping subgate: not running" "$(cat "$T/out")"

echo "buildroot: refusals"
cp "$CONF" "$T/good.conf"
grep -v '^smarthost ' "$T/good.conf" >"$CONF"
s50 start
check_status "a configuration subgate check refuses: start fails" 1 "$S50_STATUS"
check_eq "it says FAIL" "Starting subgate: FAIL" "$(cat "$T/out")"
check_has "and why" "$T/err" "subgate: $CONF: smarthost is not set (e.g. smarthost = [smtp.example.com]:587)"
check_eq "no daemon" "" "$(cat "$PIDFILE" 2>/dev/null || true)"
rm -f "$CONF"
s50 start
check_status "no configuration: start fails" 1 "$S50_STATUS"
check_eq "it names the file" "Starting subgate: FAIL (no $CONF)" "$(cat "$T/out")"
s50 frobnicate
check_status "an unknown action fails" 2 "$S50_STATUS"
check_has "with the usage" "$T/err" "{start|stop|restart|reload|status}"

finish buildroot
