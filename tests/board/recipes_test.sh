#!/usr/bin/env bash
# tests/board/recipes_test.sh - the package recipes' own steps, run on Debian
# inside stand-ins of the two build systems (tests/board/fake/): OpenWrt's
# Build/Prepare, Build/Configure, Build/Compile and Package/subgate/install,
# and Buildroot's extract, configure, build and install steps of subgate-deps
# and subgate, with menu choices written by kconfiglib from the real
# Config.in files. The "cross" compiler is Debian's musl-gcc behind a wrapper
# that answers like a musl toolchain (its crt files, kernel headers); the
# "upstream tarballs" are repacked from the BearSSL and TinyCDB trees that
# scripts/deps.sh unpacked (so `make` must have run; download hashes are the
# build systems' business and are not checked here). Checks the installed
# files, their modes and links (Buildroot's target against what
# scripts/install.sh, i.e. make install, makes with the same binary), and what
# the built binaries say they are; runs OpenWrt's first-boot script with a
# binary built without subgate cert.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
PY=/usr/bin/python3
DEPS="$REPO/build/deps/build"
[ -d "$DEPS/bearssl" ] && [ -d "$DEPS/tinycdb" ] || {
	echo "recipes_test: no $DEPS/bearssl or tinycdb: run make first" >&2
	exit 2
}
T="$(mktemp -d /tmp/subgate-recipes.XXXXXX)"
trap 'rm -rf "$T"' EXIT

# --- the "upstream" tarballs and the "cross" toolchain -----------------------------
tar -C "$DEPS" --exclude=bearssl/build --transform 's,^bearssl,bearssl-0.6,' -czf "$T/bearssl-0.6.tar.gz" bearssl
tar -C "$DEPS" --exclude='*.o' --exclude='*.a' --transform 's,^tinycdb,tinycdb-0.78,' \
	-czf "$T/tinycdb-0.78.tar.gz" tinycdb
mkdir -p "$T/toolchain/include" "$T/toolchain/bin"
ln -s /usr/include/linux /usr/include/asm-generic "$T/toolchain/include/"
ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$T/toolchain/include/asm"
CC_WRAPPER="$T/toolchain/bin/x86_64-test-linux-musl-gcc"
cat >"$CC_WRAPPER" <<EOF
#!/bin/sh
# musl-gcc as a musl cross compiler would behave: its own crt files, kernel headers
for a in "\$@"; do
	case "\$a" in
	-print-file-name=rcrt1.o | -print-file-name=crti.o | -print-file-name=crtn.o)
		echo "/usr/lib/x86_64-linux-musl/\${a#-print-file-name=}"; exit 0 ;;
	esac
done
exec musl-gcc -isystem "$T/toolchain/include" "\$@"
EOF
chmod +x "$CC_WRAPPER"

mode() { stat -c %a "$1" 2>/dev/null || echo missing; }
link() { readlink "$1" 2>/dev/null || echo "not a link"; }
# links_in DIR: its symbolic links, "PATH -> TARGET" per line, sorted
links_in() { (cd "$1" && find . -type l -printf '%P -> %l\n' | LC_ALL=C sort); }
# version_has WHAT BINARY TEXT: `subgate version` prints TEXT (a whole word or line)
version_has() {
	"$2" version >"$T/version.txt" 2>&1 || true
	check_has "$1" "$T/version.txt" "$3"
}

# --- OpenWrt --------------------------------------------------------------------------
# openwrt_build NAME CHOICE...: a scratch TOPDIR with .config, dl/ and staging,
# then make install of the recipe; sets OW (TOPDIR) and IPKG (the package root).
openwrt_build() {
	OW="$T/$1"
	IPKG="$OW/ipkg"
	shift
	mkdir -p "$OW/dl" "$OW/staging_dir/target/usr/lib" "$OW/staging_dir/target/usr/include"
	ln -s "$HERE/fake/openwrt/rules.mk" "$HERE/fake/openwrt/include" "$OW/"
	cp "$T/bearssl-0.6.tar.gz" "$T/tinycdb-0.78.tar.gz" "$OW/dl/"
	# the packages feed's libseccomp, for filters built at start
	cp "$REPO/build/sysroot/lib/libseccomp.a" "$OW/staging_dir/target/usr/lib/"
	cp "$REPO"/build/sysroot/include/seccomp*.h "$OW/staging_dir/target/usr/include/"
	"$PY" "$HERE/kconfig_check.py" --write openwrt "$REPO" "$OW/.config" PACKAGE_subgate=y "$@"
	make -C "$REPO/board/openwrt/subgate" --no-print-directory TOPDIR="$OW" \
		TARGET_CC="$CC_WRAPPER" TARGET_CFLAGS="-Os -pipe -mtune=generic -fno-caller-saves -fhonour-copts" \
		ARCH=x86_64 IPKG_ROOT="$IPKG" install >"$OW/build.log" 2>&1 || {
		tail -n 30 "$OW/build.log"
		fail "OpenWrt recipe $OW: make install failed"
		return 1
	}
}

echo "recipes: OpenWrt, EC-only, 12 sessions, build-time filters"
if openwrt_build ow-ec SUBGATE_TLS_PROFILE_EC_ONLY=y SUBGATE_MAX_SESSIONS=12; then
	pass "prepare, configure, compile and install run"
	check_eq "binary" 755 "$(mode "$IPKG/usr/sbin/subgate")"
	check_eq "init script" 755 "$(mode "$IPKG/etc/init.d/subgate")"
	check_eq "UCI library" 644 "$(mode "$IPKG/usr/lib/subgate/subgate-uci.sh")"
	check_eq "UCI defaults, private" 600 "$(mode "$IPKG/etc/config/subgate")"
	check_eq "first-boot script" 755 "$(mode "$IPKG/etc/uci-defaults/90-subgate")"
	check_eq "/etc/subgate" 755 "$(mode "$IPKG/etc/subgate")"
	check_eq "sendmail link" subgate "$(link "$IPKG/usr/sbin/sendmail")"
	check_eq "/usr/lib/sendmail link" ../sbin/subgate "$(link "$IPKG/usr/lib/sendmail")"
	check_eq "mailq link" ../sbin/subgate "$(link "$IPKG/usr/bin/mailq")"
	BIN="$IPKG/usr/sbin/subgate" DESTDIR="$T/ow-ref" MANIFEST="$T/ow-ref.devtable" INIT=procd SENDMAIL=y \
		"$REPO/scripts/install.sh" >"$T/ow-ref.log" 2>&1 || cat "$T/ow-ref.log"
	check_eq "the links make install makes" "$(links_in "$T/ow-ref")" "$(links_in "$IPKG")"
	for f in subgate.init:etc/init.d/subgate subgate-uci.sh:usr/lib/subgate/subgate-uci.sh \
		subgate.config:etc/config/subgate subgate.uci-defaults:etc/uci-defaults/90-subgate; do
		check_file "installed ${f#*:} is files/${f%%:*}" "$REPO/board/openwrt/subgate/files/${f%%:*}" "$IPKG/${f#*:}"
	done
	printf '%s\n' /etc/config/subgate /etc/subgate/ >"$T/expected.conffiles"
	check_file "conffiles" "$T/expected.conffiles" "$IPKG.conffiles"
	file -b "$IPKG/usr/sbin/subgate" >"$T/file.txt"
	check_has "a static PIE" "$T/file.txt" "static-pie linked"
	version_has "version is the VERSION file's" "$IPKG/usr/sbin/subgate" "subgate $(cat "$REPO/VERSION")"
	version_has "built with OpenWrt's compiler" "$IPKG/usr/sbin/subgate" "built with: OpenWrt x86_64, x86_64-test-linux-musl-gcc static-pie"
	version_has "menu: EC-only" "$IPKG/usr/sbin/subgate" "+TLS_PROFILE_EC_ONLY"
	version_has "menu: 12 sessions" "$IPKG/usr/sbin/subgate" "  MAX_SESSIONS=12"
	version_has "menu default: 4 per address" "$IPKG/usr/sbin/subgate" "  MAX_SESSIONS_PER_ADDR=4"
	version_has "menu default: 2 KiB records" "$IPKG/usr/sbin/subgate" "  TLS_OUTBUF_SIZE=2373"
	version_has "build-time filters" "$IPKG/usr/sbin/subgate" "+SANDBOX_SECCOMP_BUILD_TIME"
	version_has "no test hooks" "$IPKG/usr/sbin/subgate" "-TEST_HOOKS"
	version_has "menu default: subgate cert" "$IPKG/usr/sbin/subgate" "+TOOL_CERT"
	version_has "subgate user, fixed" "$IPKG/usr/sbin/subgate" "+TOOL_USER"
	version_has "reads the generated configuration" "$IPKG/usr/sbin/subgate" \
		'  CONFIG_FILE="/var/etc/subgate/subgate.conf"'
	version_has "pid file in /var/run" "$IPKG/usr/sbin/subgate" '  PID_FILE="/var/run/subgate.pid"'
	EC_SIZE="$(stat -c %s "$IPKG/usr/sbin/subgate")"
fi

echo "recipes: OpenWrt, filters built at start, no implicit TLS, no sendmail, no subgate cert"
if openwrt_build ow-rt SUBGATE_SECCOMP_BUILD_TIME=n SUBGATE_LISTEN_SMTPS=n SUBGATE_TOOL_SENDMAIL=n \
	SUBGATE_TOOL_CERT=n; then
	pass "prepare, configure, compile and install run"
	version_has "filters built at start" "$IPKG/usr/sbin/subgate" "-SANDBOX_SECCOMP_BUILD_TIME"
	version_has "seccomp still on" "$IPKG/usr/sbin/subgate" "+SANDBOX_SECCOMP"
	version_has "no implicit TLS" "$IPKG/usr/sbin/subgate" "-LISTEN_SMTPS"
	version_has "full TLS profile" "$IPKG/usr/sbin/subgate" "+TLS_PROFILE_FULL"
	version_has "no subgate cert" "$IPKG/usr/sbin/subgate" "-TOOL_CERT"
	version_has "subgate user, fixed" "$IPKG/usr/sbin/subgate" "+TOOL_USER"
	check_eq "no links" "" "$(links_in "$IPKG")"
	# the first boot with this binary: no certificate, and why
	IMG="$T/ow-rt-img"
	mkdir -p "$IMG/etc/config" "$T/ow-rt-path"
	printf 'root:x:0:0:root:/root:/bin/ash\n' >"$IMG/etc/passwd"
	printf 'root:x:0:\n' >"$IMG/etc/group"
	status=0
	IPKG_INSTROOT="$IMG" SUBGATE="$IPKG/usr/sbin/subgate" PATH="$T/ow-rt-path" \
		"$(command -v busybox)" ash "$IPKG/etc/uci-defaults/90-subgate" >"$IMG/out" 2>&1 || status=$?
	check_status "first boot without subgate cert: exits 0" 0 "$status"
	check_eq "first boot without subgate cert: no certificate" "" "$(ls "$IMG/etc/subgate")"
	check_has "first boot without subgate cert: says why and what to provide" "$IMG/out" \
		"subgate: this subgate was built without 'subgate cert' (SUBGATE_TOOL_CERT): put a certificate chain in $IMG/etc/subgate/cert.pem and its key in $IMG/etc/subgate/key.pem (mode 0600)"
	size="$(stat -c %s "$IPKG/usr/sbin/subgate")"
	check_eq "libseccomp is linked in (much larger than the EC-only build)" yes \
		"$([ "$size" -gt "$((${EC_SIZE:-0} + 50000))" ] && echo yes || echo "no: $size vs ${EC_SIZE:-?}")"
fi
check_eq "the source tree is left alone" "" "$(ls -d "$REPO/build/openwrt" "$REPO/build/upstream" 2>/dev/null || true)"

# --- Buildroot ------------------------------------------------------------------------
"$REPO/scripts/apt-need.sh" rsync
# buildroot_build NAME DEFCONFIG: a scratch O= with .config and dl/, then the
# stand-in's `make subgate`; sets BR (O=), TD (the target directory) and SUB
# (subgate's build directory).
buildroot_build() {
	BR="$T/$1"
	TD="$BR/target"
	SUB="$BR/build/subgate-$(cat "$REPO/VERSION")"
	mkdir -p "$BR/dl/subgate-deps"
	cp "$T/bearssl-0.6.tar.gz" "$T/tinycdb-0.78.tar.gz" "$BR/dl/subgate-deps/"
	"$PY" "$HERE/kconfig_check.py" --write buildroot "$REPO" "$BR/.config" BR2_TOOLCHAIN_USES_MUSL=y \
		BR2_PACKAGE_SUBGATE=y BR2_PACKAGE_SUBGATE_DEFCONFIG="$2"
	make -f "$HERE/fake/buildroot/Makefile" --no-print-directory O="$BR" \
		BR2_EXTERNAL_SUBGATE_PATH="$REPO/board/buildroot" TARGET_CC="$CC_WRAPPER" subgate >"$BR/build.log" 2>&1 || {
		tail -n 30 "$BR/build.log"
		fail "Buildroot recipes ($2): make failed"
		return 1
	}
}

# tree_of DIR: every path under DIR with its type, mode and link target, sorted.
tree_of() { (cd "$1" && find . -mindepth 1 -printf '%P %y %m %l\n' | LC_ALL=C sort); }

# same_as_make_install WHAT SENDMAIL: the target is what scripts/install.sh
# (make install, INIT=sysv) makes with the same binary, its init script
# named S50subgate: the same paths, types, modes, links and bytes.
same_as_make_install() {
	local ref="$BR/make-install"
	BIN="$TD/usr/sbin/subgate" DESTDIR="$ref" MANIFEST="$ref.devtable" PREFIX=/usr INIT=sysv \
		SENDMAIL="$2" RUN_AS_GROUP=subgate "$REPO/scripts/install.sh" >"$ref.log" 2>&1 || cat "$ref.log"
	mv "$ref/etc/init.d/subgate" "$ref/etc/init.d/S50subgate"
	check_eq "$1: the tree make install makes" "$(tree_of "$ref")" "$(tree_of "$TD")"
	diff -r --no-dereference "$ref" "$TD" >"$BR/tree.diff" 2>&1 && pass "$1: with the same bytes" ||
		{ fail "$1: with the same bytes"; sed 's/^/        /' "$BR/tree.diff"; }
}

echo "recipes: Buildroot, board/mipsel-24kc/defconfig"
if buildroot_build br board/mipsel-24kc/defconfig; then
	pass "subgate-deps and subgate: extract, configure, build and install run"
	check_eq "binary" 755 "$(mode "$TD/usr/sbin/subgate")"
	check_file "init script: the shared one (rootfs/etc/init.d/subgate)" "$REPO/rootfs/etc/init.d/subgate" \
		"$TD/etc/init.d/S50subgate"
	check_eq "init script mode" 755 "$(mode "$TD/etc/init.d/S50subgate")"
	check_eq "no init script of the package's own" "" "$(cd "$REPO/board/buildroot" && find . -name 'S[0-9][0-9]*')"
	check_file "the first-start hook it runs" "$REPO/rootfs/usr/libexec/subgate/first-start" \
		"$TD/usr/libexec/subgate/first-start"
	check_file "the device's configuration" "$REPO/rootfs/etc/subgate/subgate.conf" "$TD/etc/subgate/subgate.conf"
	check_eq "sendmail link" subgate "$(link "$TD/usr/sbin/sendmail")"
	check_eq "/usr/lib/sendmail link" ../sbin/subgate "$(link "$TD/usr/lib/sendmail")"
	check_eq "mailq link" ../sbin/subgate "$(link "$TD/usr/bin/mailq")"
	check_eq "an empty user database" "640 ok" \
		"$(mode "$TD/etc/subgate/users.cdb") $("$TD/usr/sbin/subgate" user list --db "$TD/etc/subgate/users.cdb" 2>&1 && echo ok)"
	same_as_make_install "sendmail on" y
	check_eq "the subgate account (makeusers line)" "subgate -1 subgate -1 * - - - subgate mail gateway" \
		"$(sed 's/^[[:space:]]*//' "$BR/build/subgate.users")"
	# every path install.sh records with an owner other than root:root
	awk '!/^#/ && ($4 != "root" || $5 != "root") { $1 = $1; print }' "$SUB/build/buildroot/subgate.devtable" \
		>"$T/expected.permissions" 2>&1 || true
	check_eq "PERMISSIONS: the device table's paths that are not root's" "$(cat "$T/expected.permissions")" \
		"$(awk 'NF { $1 = $1; print }' "$BR/build/subgate.permissions")"
	check_eq "users.cdb belongs to the account's group" "/etc/subgate/users.cdb f 0640 root subgate - - - - -" \
		"$(cat "$T/expected.permissions")"
	check_eq "the checkout's build/ is not copied in" buildroot "$(ls "$SUB/build")"
	version_has "the board's session table" "$TD/usr/sbin/subgate" "  MAX_SESSIONS=16"
	version_has "the board's TLS records" "$TD/usr/sbin/subgate" "  TLS_OUTBUF_SIZE=2373"
	version_has "build-time filters" "$TD/usr/sbin/subgate" "+SANDBOX_SECCOMP_BUILD_TIME"
	version_has "no test hooks" "$TD/usr/sbin/subgate" "-TEST_HOOKS"
	version_has "built with Buildroot's compiler" "$TD/usr/sbin/subgate" "built with: Buildroot x86_64, x86_64-test-linux-musl-gcc static-pie"
	version_has "reads /etc/subgate/subgate.conf" "$TD/usr/sbin/subgate" '  CONFIG_FILE="/etc/subgate/subgate.conf"'
fi

echo "recipes: Buildroot, conf/minimal_defconfig (no sendmail, no subgate cert)"
if buildroot_build br-min conf/minimal_defconfig; then
	pass "extract, configure, build and install run"
	version_has "no sendmail front end" "$TD/usr/sbin/subgate" "-TOOL_SENDMAIL"
	check_eq "no links" "" "$(links_in "$TD")"
	check_file "init script: the shared one" "$REPO/rootfs/etc/init.d/subgate" "$TD/etc/init.d/S50subgate"
	same_as_make_install "sendmail off" n
fi

# --- the build driver's own refusals --------------------------------------------------
echo "recipes: board/pkg-build.sh refuses what does not fit"
mkdir -p "$T/bad"
printf 'CONFIG_NO_SUCH_SYMBOL=y\n' >"$T/bad/.config"
if OUT="$T/bad" "$REPO/board/pkg-build.sh" olddefconfig >"$T/bad/out" 2>&1; then
	fail "an unknown symbol in the recipe's .config is an error"
else
	pass "an unknown symbol in the recipe's .config is an error"
fi
check_has "and is named" "$T/bad/out" "NO_SUCH_SYMBOL"
printf 'CONFIG_MAX_SESSIONS=5000\n' >"$T/bad/.config"
if OUT="$T/bad" "$REPO/board/pkg-build.sh" olddefconfig >"$T/bad/out" 2>&1; then
	fail "a value out of range is an error"
else
	pass "a value out of range is an error"
fi

finish recipes
