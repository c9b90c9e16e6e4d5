#!/bin/sh
# tests/board/buildroot_test.sh - the Buildroot package's init script
# (board/buildroot/subgate/S50subgate) under BusyBox ash, with
# start-stop-daemon stubbed (tests/board/stubs/start-stop-daemon.sh) and the
# real subgate binary checking a real configuration in a temporary root:
# start, stop, restart and their refusals, compared exactly. The script reads
# /etc/default/subgate; the copy under test reads the temporary root's.
# Needs SUBGATE_BIN (default build/subgate) and openssl.
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUBGATE_BIN="${SUBGATE_BIN:-$REPO/build/subgate}"
. "$HERE/lib.sh"

[ -x "$SUBGATE_BIN" ] || {
	echo "buildroot_test: no subgate binary at $SUBGATE_BIN (make first)" >&2
	exit 2
}
T="$(mktemp -d /tmp/subgate-buildroot.XXXXXX)"
trap 'rm -rf "$T"' EXIT
chmod 0755 "$T"

CONF="$T/etc/subgate/subgate.conf"
PIDFILE="$T/run/subgate.pid"
mkdir -p "$T/etc/subgate" "$T/run" "$T/default"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=gw.example.net -keyout "$T/etc/subgate/key.pem" -out "$T/etc/subgate/cert.pem" >/dev/null 2>&1
chmod 0600 "$T/etc/subgate/key.pem"
echo alice-password | "$SUBGATE_BIN" user add alice --sender alice@example.com --stdin \
	--db "$T/etc/subgate/users.cdb" >/dev/null
chgrp "$(id -g nobody)" "$T/etc/subgate/users.cdb"
cat >"$T/good.conf" <<CONF
hostname = gw.example.net
listen = 127.0.0.1:5587 starttls
tls_cert = cert.pem
tls_key = key.pem
users = users.cdb
spool = $T/var/spool/subgate
pid_file = $PIDFILE
run_as = nobody
smarthost = [127.0.0.1]:2525
smarthost_tls = none
CONF
cp "$T/good.conf" "$CONF"

sed "/^[^#]/s|/etc/default/|$T/default/|g" "$REPO/board/buildroot/subgate/S50subgate" >"$T/S50subgate"
check_eq "the script reads /etc/default/subgate (one line)" 1 "$(grep -c "$T/default/" "$T/S50subgate")"
printf "SUBGATE='%s'\nCONF='%s'\n" "$SUBGATE_BIN" "$CONF" >"$T/default/subgate"

# s50 ACTION: runs the script with fresh records; sets S50_STATUS.
s50() {
	: >"$T/ssd.log"
	S50_STATUS=0
	SSD_LOG="$T/ssd.log" busybox ash -c ". '$HERE/stubs/start-stop-daemon.sh'; set -- '$1'; . '$T/S50subgate'" \
		>"$T/out" 2>"$T/err" || S50_STATUS=$?
}

echo "buildroot: start"
s50 start
check_status "start succeeds" 0 "$S50_STATUS"
check_eq "start says OK" "Starting subgate: OK" "$(cat "$T/out")"
check_eq "start-stop-daemon starts serve with the pid file of the configuration" \
	"start-stop-daemon [-S] [-q] [-p] [$PIDFILE] [-x] [$SUBGATE_BIN] [--] [serve] [-c] [$CONF]" \
	"$(cat "$T/ssd.log")"
check_eq "the spool's parent exists" yes "$([ -d "$T/var/spool" ] && echo yes || echo no)"

echo "SUBGATE_ARGS='--no-jail -f'" >>"$T/default/subgate"
s50 start
check_eq "SUBGATE_ARGS from /etc/default/subgate are passed on" \
	"start-stop-daemon [-S] [-q] [-p] [$PIDFILE] [-x] [$SUBGATE_BIN] [--] [serve] [-c] [$CONF] [--no-jail] [-f]" \
	"$(cat "$T/ssd.log")"
printf "SUBGATE='%s'\nCONF='%s'\n" "$SUBGATE_BIN" "$CONF" >"$T/default/subgate"

echo "buildroot: stop"
echo 4242 >"$PIDFILE"
s50 stop
check_status "stop succeeds" 0 "$S50_STATUS"
check_eq "stop says OK" "Stopping subgate: OK" "$(cat "$T/out")"
check_eq "start-stop-daemon stops the pid file's process" "start-stop-daemon [-K] [-q] [-p] [$PIDFILE]" \
	"$(cat "$T/ssd.log")"
check_eq "the pid file is removed" gone "$([ -e "$PIDFILE" ] && echo present || echo gone)"

echo 4242 >"$PIDFILE"
SSD_STATUS=1
export SSD_STATUS
s50 stop
unset SSD_STATUS
check_status "stop fails when nothing was stopped" 1 "$S50_STATUS"
check_eq "stop says FAIL" "Stopping subgate: FAIL" "$(cat "$T/out")"
check_eq "the pid file is kept" present "$([ -e "$PIDFILE" ] && echo present || echo gone)"

echo "buildroot: restart, reload"
s50 restart
check_status "restart succeeds" 0 "$S50_STATUS"
printf '%s\n' "start-stop-daemon [-K] [-q] [-p] [$PIDFILE]" \
	"start-stop-daemon [-S] [-q] [-p] [$PIDFILE] [-x] [$SUBGATE_BIN] [--] [serve] [-c] [$CONF]" >"$T/expected"
check_file "restart stops, then starts" "$T/expected" "$T/ssd.log"
s50 reload
check_file "reload restarts" "$T/expected" "$T/ssd.log"

echo "buildroot: refusals"
grep -v '^smarthost' "$T/good.conf" >"$CONF"
s50 start
check_status "a configuration subgate check refuses: start fails" 1 "$S50_STATUS"
check_eq "it says FAIL" "Starting subgate: FAIL" "$(cat "$T/out")"
check_has "and why" "$T/err" "subgate: $CONF: smarthost is not set (e.g. smarthost = [smtp.example.com]:587)"
check_eq "start-stop-daemon is not called" "" "$(cat "$T/ssd.log")"
rm -f "$CONF"
s50 start
check_status "no configuration: start fails" 1 "$S50_STATUS"
check_eq "it names the example" "Starting subgate: FAIL (no $CONF; see $CONF.example)" "$(cat "$T/out")"
check_eq "start-stop-daemon is not called" "" "$(cat "$T/ssd.log")"
s50 frobnicate
check_status "an unknown action fails" 1 "$S50_STATUS"
check_has "with the usage" "$T/out" "{start|stop|restart|reload}"

finish buildroot
