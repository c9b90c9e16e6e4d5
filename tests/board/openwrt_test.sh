#!/bin/sh
# tests/board/openwrt_test.sh - the OpenWrt package's shell parts, run by
# BusyBox ash as on a router (tests/board/run.sh starts it that way):
#   - /etc/init.d/subgate under a stand-in rc.common with stubs of
#     /lib/functions.sh, procd and logger (tests/board/stubs/), against a UCI
#     fixture in a temporary root: the generated subgate.conf byte for byte,
#     the smarthost secret, the procd instance, `subgate check` with the real
#     binary, and the refusals (missing smarthost, half a credential, a line
#     break, disabled), which must log why and hand procd nothing;
#   - /etc/uci-defaults/90-subgate against a temporary root (IPKG_INSTROOT)
#     with nothing but BusyBox on PATH (no openssl) and the real binary: the
#     account, the directories, the certificate that `subgate cert` makes (its
#     paths and host name from UCI through a `uci` stub, or the defaults), the
#     cases where it makes none and says why, and OpenWrt's user_add when
#     /lib/functions.sh has it.
# Needs SUBGATE_BIN (default build/subgate) and openssl (to make the init
# script's certificate and to read the ones the first-boot script makes).
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PKG="$REPO/board/openwrt/subgate"
STUBS="$HERE/stubs"
SUBGATE_BIN="${SUBGATE_BIN:-$REPO/build/subgate}"
. "$HERE/lib.sh"

[ -x "$SUBGATE_BIN" ] || {
	echo "openwrt_test: no subgate binary at $SUBGATE_BIN (make first)" >&2
	exit 2
}
T="$(mktemp -d /tmp/subgate-openwrt.XXXXXX)"
trap 'rm -rf "$T"' EXIT
chmod 0755 "$T"

# --- the init script ---------------------------------------------------------------

# new_site NAME: a device root with the package's files installed, a
# certificate, users.cdb with alice (not bob) and the UCI fixture.
new_site() {
	ROOT="$T/$1"
	CONF="$ROOT/var/etc/subgate/subgate.conf"
	SECRET="$ROOT/var/etc/subgate/smarthost.secret"
	UCI="$ROOT/etc/config/subgate"
	mkdir -p "$ROOT/etc/config" "$ROOT/etc/init.d" "$ROOT/etc/subgate" "$ROOT/usr/lib/subgate"
	cp "$PKG/files/subgate.init" "$ROOT/etc/init.d/subgate"
	cp "$PKG/files/subgate-uci.sh" "$ROOT/usr/lib/subgate/subgate-uci.sh"
	sed "s|@ROOT@|$ROOT|g" "$HERE/fixtures/subgate.uci" >"$UCI"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=gw.example.net -keyout "$ROOT/etc/subgate/key.pem" \
		-out "$ROOT/etc/subgate/cert.pem" >/dev/null 2>&1
	chmod 0600 "$ROOT/etc/subgate/key.pem"
	echo alice-password | "$SUBGATE_BIN" user add alice --sender alice@example.com --stdin \
		--db "$ROOT/etc/subgate/users.cdb" >/dev/null
	chgrp "$(id -g nobody)" "$ROOT/etc/subgate/users.cdb"
	# the device's paths, moved into the root (read by the rc.common stub)
	cat >"$ROOT/rc-test-env" <<EOF
PROG='$SUBGATE_BIN'
CONF_DIR='$ROOT/var/etc/subgate'
UCI_LIB='$ROOT/usr/lib/subgate/subgate-uci.sh'
EOF
}

# rc ACTION: runs `/etc/init.d/subgate ACTION` of the current site with fresh
# procd and logger records; sets RC_STATUS.
rc() {
	: >"$ROOT/procd.log"
	: >"$ROOT/logger.log"
	RC_STATUS=0
	UCI_CONFIG_DIR="$ROOT/etc/config" RC_TEST_ENV="$ROOT/rc-test-env" \
		PROCD_LOG="$ROOT/procd.log" LOGGER_LOG="$ROOT/logger.log" \
		busybox ash "$STUBS/rc.common" "$ROOT/etc/init.d/subgate" "$1" >"$ROOT/rc.out" 2>&1 || RC_STATUS=$?
}

# uci_edit SED-SCRIPT: edits the site's /etc/config/subgate.
uci_edit() {
	sed -i "$1" "$UCI"
}

expected_procd() {
	cat <<EOF
procd_open_service [subgate] [$ROOT/etc/init.d/subgate]
procd_open_instance
procd_set_param [command] [$SUBGATE_BIN] [serve] [-f] [-c] [$CONF]
procd_set_param [file] [$CONF] [$SECRET] [$ROOT/etc/subgate/cert.pem] [$ROOT/etc/subgate/key.pem]
procd_set_param [respawn]
procd_set_param [stderr] [1]
procd_close_instance
procd_add_reload_trigger [subgate]
procd_close_service [set]
EOF
}

echo "openwrt: init script, start with the fixture"
new_site site
rc start
check_status "start succeeds" 0 "$RC_STATUS"
sed "s|@ROOT@|$ROOT|g" "$HERE/fixtures/subgate.conf.expected" >"$T/expected.conf"
check_file "subgate.conf generated from UCI" "$T/expected.conf" "$CONF"
printf '%s\n' 'relay@example.com:pa ss:w"o$rd' >"$T/expected.secret"
check_file "smarthost.secret holds user:password" "$T/expected.secret" "$SECRET"
check_eq "smarthost.secret mode" 600 "$(stat -c %a "$SECRET" 2>/dev/null || echo missing)"
expected_procd >"$T/expected.procd"
check_file "procd instance: command, files, respawn, stderr, reload trigger" "$T/expected.procd" "$ROOT/procd.log"
out="$("$SUBGATE_BIN" check -c "$CONF" 2>&1)" && status=0 || status=$?
check_status "subgate check accepts the generated file" 0 "$status"
check_eq "subgate check says OK" "$CONF: configuration OK" "$out"
printf '%s\n' "daemon.warning subgate: user 'bob' is in /etc/config/subgate but not in $ROOT/etc/subgate/users.cdb: add it with: subgate user add bob --sender bob@example.com --sender @lab.example.com" \
	>"$T/expected.log"
check_file "the UCI user missing from users.cdb is logged with its command (alice is not)" "$T/expected.log" "$ROOT/logger.log"
check_eq "the spool's parent exists (/var is a tmpfs)" yes "$([ -d "$ROOT/var/spool" ] && echo yes || echo no)"

echo "openwrt: reload"
rc reload
check_status "reload succeeds" 0 "$RC_STATUS"
check_file "reload hands procd the same instance" "$T/expected.procd" "$ROOT/procd.log"

echo "openwrt: refusals"
cp "$CONF" "$T/good.conf"
cp "$UCI" "$T/good.uci"
uci_edit '/option smarthost /d'
rc start
check_status "no smarthost: start fails" 1 "$RC_STATUS"
check_lacks "no smarthost: procd gets no instance" "$ROOT/procd.log" procd_open_instance
check_lacks "no smarthost: procd gets no service" "$ROOT/procd.log" procd_close_service
check_has "no smarthost: subgate check's reason is logged" "$ROOT/logger.log" \
	"daemon.err subgate: subgate: $CONF: smarthost is not set (e.g. smarthost = [smtp.example.com]:587)"
check_has "no smarthost: the refusal is logged" "$ROOT/logger.log" \
	"daemon.err subgate: not starting: $CONF (generated from /etc/config/subgate) does not pass \`subgate check\`"
check_has "no smarthost: the reason is shown on the terminal too" "$ROOT/rc.out" "smarthost is not set"

cp "$T/good.uci" "$UCI"
rc start
cp "$CONF" "$T/good.conf"
uci_edit '/option smarthost_password /d'
rc start
check_status "user without password: start fails" 1 "$RC_STATUS"
check_lacks "user without password: procd gets no instance" "$ROOT/procd.log" procd_open_instance
check_has "user without password: logged" "$ROOT/logger.log" \
	"daemon.err subgate: /etc/config/subgate: smarthost_user and smarthost_password go together"
check_has "user without password: logged what to do" "$ROOT/logger.log" \
	"daemon.err subgate: not starting: fix /etc/config/subgate"
check_file "a refused configuration leaves the last good subgate.conf" "$T/good.conf" "$CONF"

cp "$T/good.uci" "$UCI"
uci_edit "s|option hostname 'gw.example.net'|option hostname 'gw.example.net\\nsmarthost_tls = none'|"
rc start
check_status "line break in a value: start fails" 1 "$RC_STATUS"
check_has "line break in a value: logged" "$ROOT/logger.log" \
	"daemon.err subgate: /etc/config/subgate: option hostname holds a line break"
check_lacks "line break in a value: procd gets no instance" "$ROOT/procd.log" procd_open_instance

cp "$T/good.uci" "$UCI"
uci_edit "s|option smarthost_user 'relay@example.com'|option smarthost_user 'relay:x'|"
rc start
check_status "':' in the smarthost user: start fails" 1 "$RC_STATUS"
check_has "':' in the smarthost user: logged" "$ROOT/logger.log" \
	"daemon.err subgate: /etc/config/subgate: smarthost_user must not contain ':'"

cp "$T/good.uci" "$UCI"
uci_edit "s|option enabled '1'|option enabled '0'|"
rc start
check_status "disabled: start succeeds" 0 "$RC_STATUS"
check_lacks "disabled: procd gets no instance" "$ROOT/procd.log" procd_open_instance
check_has "disabled: logged" "$ROOT/logger.log" \
	"daemon.notice subgate: disabled in /etc/config/subgate (option enabled '0')"

echo "openwrt: a secret file kept by the operator"
cp "$T/good.uci" "$UCI"
uci_edit '/option smarthost_user /d; /option smarthost_password /d'
uci_edit "s|option smarthost_tls 'starttls'|&\\n\\toption smarthost_auth '$ROOT/etc/subgate/own.secret'|"
(umask 077 && echo 'own@example.com:own-password' >"$ROOT/etc/subgate/own.secret")
rc start
check_status "smarthost_auth file: start succeeds" 0 "$RC_STATUS"
check_has "smarthost_auth is passed through" "$CONF" "smarthost_auth   = $ROOT/etc/subgate/own.secret"
check_eq "the generated secret is removed" gone "$([ -e "$SECRET" ] && echo present || echo gone)"
check_has "procd watches the operator's secret file" "$ROOT/procd.log" \
	"procd_set_param [file] [$CONF] [$ROOT/etc/subgate/own.secret] [$ROOT/etc/subgate/cert.pem] [$ROOT/etc/subgate/key.pem]"

# --- the first-boot script ----------------------------------------------------------

# new_image NAME: a root with the accounts of a fresh OpenWrt (dnsmasq has 200
# as its group, so the first free id is 201) and the UCI file.
new_image() {
	IMG="$T/$1"
	mkdir -p "$IMG/etc/config" "$IMG/var"
	printf 'root:x:0:0:root:/root:/bin/ash\nnobody:*:65534:65534:nobody:/var:/bin/false\n' >"$IMG/etc/passwd"
	printf 'root:x:0:\ndnsmasq:x:200:\nnogroup:x:65534:\n' >"$IMG/etc/group"
	printf 'root:::0:99999:7:::\nnobody:*:0:0:99999:7:::\n' >"$IMG/etc/shadow"
	cp "$PKG/files/subgate.config" "$IMG/etc/config/subgate"
	chmod 0644 "$IMG/etc/config/subgate"
}

# uci_defaults PATH [SUBGATE]: runs the first-boot script against $IMG with
# only PATH for programs outside BusyBox, and the binary under test (or
# SUBGATE) as /usr/sbin/subgate; sets UD_STATUS.
uci_defaults() {
	UD_STATUS=0
	IPKG_INSTROOT="$IMG" SUBGATE="${2:-$SUBGATE_BIN}" PATH="$1" \
		busybox ash "$PKG/files/subgate.uci-defaults" >"$IMG/ud.out" 2>&1 || UD_STATUS=$?
}

# cert_is WHAT CERT KEY HOST: CERT and KEY are a 0644/0600 EC P-256 pair,
# self-signed for HOST (subject and DNS name).
cert_is() {
	check_eq "$1: key mode" 600 "$(stat -c %a "$3" 2>/dev/null || echo missing)"
	check_eq "$1: certificate mode" 644 "$(stat -c %a "$2" 2>/dev/null || echo missing)"
	openssl pkey -in "$3" -noout -text >"$T/key.txt" 2>&1 || true
	check_has "$1: an EC P-256 key" "$T/key.txt" "ASN1 OID: prime256v1"
	check_eq "$1: the certificate matches the key" \
		"$(openssl pkey -in "$3" -pubout 2>/dev/null || echo no key)" \
		"$(openssl x509 -in "$2" -noout -pubkey 2>/dev/null || echo no certificate)"
	check_eq "$1: subject and issuer" "subject=CN = $4
issuer=CN = $4" "$(openssl x509 -in "$2" -noout -subject -issuer 2>&1)"
	check_eq "$1: DNS name" "DNS:$4" "$(openssl x509 -in "$2" -noout -ext subjectAltName 2>&1 | sed -n 's/^ *//; 2p')"
}

# uci_wrapper DIR: DIR/uci runs the uci stub (DIR goes on PATH). BusyBox's
# `command -v busybox` answers with the applet's name, `which` with the file.
uci_wrapper() {
	bb="$(which busybox)"
	mkdir -p "$1"
	printf '#!%s ash\nexec %s ash "%s/uci.sh" "$@"\n' "$bb" "$bb" "$STUBS" >"$1/uci"
	chmod +x "$1/uci"
}

echo "openwrt: first-boot script, BusyBox only (no /lib/functions.sh, no uci, no openssl)"
mkdir -p "$T/nobin"
uci_wrapper "$T/withuci"
new_image plain
uci_defaults "$T/nobin"
check_status "exits 0" 0 "$UD_STATUS"
check_eq "subgate account added" "subgate:x:201:201:subgate:/var/run/subgate:/bin/false" \
	"$(grep '^subgate:' "$IMG/etc/passwd")"
check_eq "subgate group added" "subgate:x:201:" "$(grep '^subgate:' "$IMG/etc/group")"
check_eq "shadow entry without a password" "subgate:*:0:0:99999:7:::" "$(grep '^subgate:' "$IMG/etc/shadow")"
check_eq "spool directory" yes "$([ -d "$IMG/var/spool/subgate" ] && echo yes || echo no)"
check_eq "/etc/subgate mode" 755 "$(stat -c %a "$IMG/etc/subgate")"
check_eq "/etc/config/subgate made private" 600 "$(stat -c %a "$IMG/etc/config/subgate")"
check_eq "no openssl on PATH" none "$(PATH="$T/nobin" command -v openssl || echo none)"
check_eq "certificate and key at the default paths" "cert.pem key.pem" "$(cd "$IMG/etc/subgate" && echo *)"
cert_is "no uci, no host name: for OpenWrt" "$IMG/etc/subgate/cert.pem" "$IMG/etc/subgate/key.pem" OpenWrt
check_has "made by subgate cert (its report)" "$IMG/ud.out" "pin:         sha256/"
check_has "and said so" "$IMG/ud.out" \
	"subgate: made a self-signed certificate for OpenWrt in $IMG/etc/subgate/cert.pem"
sum="$(cat "$IMG/etc/subgate/key.pem" "$IMG/etc/subgate/cert.pem" | cksum)"
uci_defaults "$T/nobin"
check_status "second run exits 0" 0 "$UD_STATUS"
check_eq "second run adds no second account" 1 "$(grep -c '^subgate:' "$IMG/etc/passwd")"
check_eq "second run adds no second group" 1 "$(grep -c '^subgate:' "$IMG/etc/group")"
check_eq "second run keeps the certificate" "$sum" "$(cat "$IMG/etc/subgate/key.pem" "$IMG/etc/subgate/cert.pem" | cksum)"
check_eq "second run is quiet" "" "$(cat "$IMG/ud.out")"

echo "openwrt: first-boot script, paths and host name from UCI"
new_image ucicfg
sed -i -e "s|option hostname .*|option hostname 'gw.example.net'|" \
	-e "s|option tls_cert .*|option tls_cert '/etc/subgate/gw.crt'|" \
	-e "s|option tls_key .*|option tls_key '/etc/subgate/private/gw.key'|" \
	-e "s|option spool .*|option spool '/overlay/subgate/spool'|" "$IMG/etc/config/subgate"
uci_defaults "$T/withuci"
check_status "exits 0" 0 "$UD_STATUS"
cert_is "UCI tls_cert, tls_key and hostname" "$IMG/etc/subgate/gw.crt" "$IMG/etc/subgate/private/gw.key" gw.example.net
check_eq "nothing at the default paths" "gw.crt private" "$(cd "$IMG/etc/subgate" && echo *)"
check_eq "the UCI spool" yes "$([ -d "$IMG/overlay/subgate/spool" ] && echo yes || echo no)"

echo "openwrt: first-boot script, no hostname in UCI: the system's"
new_image syshost
sed -i "/option hostname /d" "$IMG/etc/config/subgate"
mkdir -p "$IMG/proc/sys/kernel"
echo lab-gw >"$IMG/proc/sys/kernel/hostname"
uci_defaults "$T/withuci"
check_status "exits 0" 0 "$UD_STATUS"
cert_is "the system's host name" "$IMG/etc/subgate/cert.pem" "$IMG/etc/subgate/key.pem" lab-gw

echo "openwrt: first-boot script, no certificate it can make"
new_image badhost
sed -i "s|option hostname .*|option hostname '192.168.1.1'|" "$IMG/etc/config/subgate"
uci_defaults "$T/withuci"
check_status "an address for a host name: still exits 0" 0 "$UD_STATUS"
check_eq "an address for a host name: no files" "" "$(ls "$IMG/etc/subgate")"
check_has "an address for a host name: subgate cert's reason" "$IMG/ud.out" \
	"'192.168.1.1' is an address; the certificate needs a DNS name"
check_has "an address for a host name: what to do" "$IMG/ud.out" \
	"subgate: subgate cert could not make a certificate for '192.168.1.1' (the reason is above): make one with \`subgate cert --self-signed --cert /etc/subgate/cert.pem --key /etc/subgate/key.pem --hostname NAME\`, or put a certificate chain in $IMG/etc/subgate/cert.pem and its key in $IMG/etc/subgate/key.pem (mode 0600)"
check_eq "an address for a host name: the account is still made" 1 "$(grep -c '^subgate:' "$IMG/etc/passwd")"

new_image halfpair
mkdir -p "$IMG/etc/subgate"
echo "operator's key" >"$IMG/etc/subgate/key.pem"
uci_defaults "$T/nobin"
check_status "only the key there: exits 0" 0 "$UD_STATUS"
check_eq "only the key there: it is left alone, no certificate" "operator's key|key.pem" \
	"$(cat "$IMG/etc/subgate/key.pem")|$(cd "$IMG/etc/subgate" && echo *)"
check_has "only the key there: says so" "$IMG/ud.out" \
	"subgate: only one of $IMG/etc/subgate/cert.pem and $IMG/etc/subgate/key.pem exists: not making a certificate"

new_image nobinary
uci_defaults "$T/nobin" "$T/no-such-subgate"
check_status "no binary: exits 0" 0 "$UD_STATUS"
check_eq "no binary: no files" "" "$(ls "$IMG/etc/subgate")"
check_has "no binary: says what to provide" "$IMG/ud.out" \
	"subgate: no $T/no-such-subgate to make a certificate with: put a certificate chain in $IMG/etc/subgate/cert.pem and its key in $IMG/etc/subgate/key.pem (mode 0600)"

echo "openwrt: first-boot script with OpenWrt's /lib/functions.sh"
new_image owrt
mkdir -p "$IMG/lib"
cat >"$IMG/lib/functions.sh" <<EOF
# records the calls; group_add_next answers like OpenWrt's (the gid)
group_add_next() { echo "group_add_next \$*" >>"$IMG/calls"; echo 65536; }
user_add() { echo "user_add \$*" >>"$IMG/calls"; }
EOF
uci_defaults "$T/nobin"
check_status "exits 0" 0 "$UD_STATUS"
printf '%s\n' "group_add_next subgate" "user_add subgate  65536 subgate /var/run/subgate /bin/false" >"$T/expected.calls"
check_file "uses group_add_next and user_add" "$T/expected.calls" "$IMG/calls"
check_eq "writes no account itself" 0 "$(grep -c '^subgate:' "$IMG/etc/passwd" || true)"

finish openwrt
