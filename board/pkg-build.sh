#!/usr/bin/env bash
# board/pkg-build.sh - builds subgate inside a distribution's package recipe
# (board/openwrt/subgate/Makefile, board/buildroot/subgate/subgate.mk) with
# that distribution's cross compiler. scripts/deps.sh and scripts/cross.sh
# (Debian source packages, Debian cross compilers) have no place there, so the
# recipes hand this script the unpacked upstream BearSSL and TinyCDB trees and
# it drives the top Makefile with the toolchain's settings instead.
#
# It owns OUT, one directory per package build:
#   OUT/.config     written by the recipe from its menu; `olddefconfig` completes it
#   OUT/deps/       copies of the BearSSL and TinyCDB trees, compiled there
#   OUT/sysroot/    their static libraries and headers (and the target's
#                   libseccomp when the filters are built at start)
#   OUT/host/       the seccomp policy compiler, built for the build machine
#   OUT/include, OUT/obj, OUT/subgate   the top Makefile's B=OUT outputs
#
# Usage: board/pkg-build.sh olddefconfig | build
#   olddefconfig  completes OUT/.config with the Kconfig defaults (kconfiglib);
#                 an unknown symbol, or a value that does not take (out of
#                 range, dependencies off), is an error, not a warning
#   build         builds the dependencies, then OUT/subgate
#
# Environment (build needs the first four):
#   OUT               output directory (absolute)
#   TARGET_CC         the cross compiler, with the CPU flags the target needs
#   BEARSSL_SRC       unpacked bearssl-0.6 tree;  TINYCDB_SRC  unpacked tinycdb-0.78 tree
#   SECCOMP_ARCH      libseccomp's name of the target architecture, or
#   TARGET_ARCH       the distribution's name (mipsel, arm, aarch64, i386, ...)
#   TARGET_AR [${TARGET_CC%gcc}ar or ar]  TARGET_RANLIB [likewise]
#   TARGET_CRT_DIR    where the libc's rcrt1.o, crti.o, crtn.o are [asked from TARGET_CC]
#   TARGET_SECCOMP_LIB, TARGET_SECCOMP_INCLUDE
#                     the target's libseccomp.a and its headers; only needed
#                     when CONFIG_SANDBOX_SECCOMP_BUILD_TIME is off
#   HOSTCC [cc]  HOST_SECCOMP_CFLAGS, HOST_SECCOMP_LIBS [pkg-config libseccomp]
#                     the build machine's compiler and libseccomp, for the
#                     build-time seccomp policy compiler
#   PYTHON            a python3 with kconfiglib [the first of python3,
#                     /usr/bin/python3, /usr/local/bin/python3 that has it]
#   JSMN_SRC          unpacked jsmn-1.1.0 tree (only jsmn.h is used); needed only
#                     with CONFIG_RELAY_OAUTH, which the recipes turn off until
#                     they fetch it (issue #15: the OAuth login is not wired in yet)
#   JOBS [1]  BUILD_INFO [TARGET_CC]  SOURCE_DATE_EPOCH [now]
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'pkg-build: %s\n' "$*"; }
die() { printf 'pkg-build: error: %s\n' "$*" >&2; exit 1; }

: "${OUT:?OUT must name the output directory}"
case "$OUT" in /*) ;; *) die "OUT must be absolute: $OUT" ;; esac
# A python3 that has kconfiglib (a distribution's own host python may not).
if [ -z "${PYTHON:-}" ]; then
	for PYTHON in python3 /usr/bin/python3 /usr/local/bin/python3; do
		"$PYTHON" -c 'import kconfiglib' 2>/dev/null && break
	done
fi
"$PYTHON" -c 'import kconfiglib' 2>/dev/null ||
	die "no python3 with kconfiglib (Debian/Ubuntu: python3-kconfiglib; else pip install kconfiglib)"
JOBS="${JOBS:-1}"
DEPS_CFLAGS="-Os -fPIE -fstack-protector-strong -ffunction-sections -fdata-sections"

# libseccomp's architecture names differ from the distributions' for a few.
seccomp_arch_of() {
	case "$1" in
	x86_64 | aarch64 | mips | mipsel | mips64 | mips64el | riscv64 | s390x | ppc | ppc64 | ppc64le | loongarch64)
		echo "$1" ;;
	i?86 | x86) echo x86 ;;
	arm | armel | armhf | armv*) echo arm ;;
	powerpc) echo ppc ;;
	powerpc64) echo ppc64 ;;
	powerpc64le) echo ppc64le ;;
	*) die "no libseccomp architecture known for '$1'; set SECCOMP_ARCH" ;;
	esac
}

config_has() { grep -qx "CONFIG_$1=y" "$OUT/.config"; }

# The recipes run this from inside OpenWrt's or Buildroot's make, whose
# command-line variables would reach every make below through MAKEFLAGS
# (Buildroot's O=, for one, is BearSSL's object suffix): each make here
# starts clean, with its own -j.
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make "$@"
}

cmd_olddefconfig() {
	[ -f "$OUT/.config" ] || die "$OUT/.config is missing (the recipe writes it first)"
	(cd "$SRC" && "$PYTHON" - "$OUT/.config" <<'EOF'
import sys
import kconfiglib

kconf = kconfiglib.Kconfig("Kconfig", warn_to_stderr=False)
kconf.warn_assign_undef = True  # a symbol subgate does not have
kconf.load_config(sys.argv[1])
problems = list(kconf.warnings)
# a value that did not take: out of range, or its dependencies are off
for sym in kconf.unique_defined_syms:
    if sym.user_value is None:
        continue
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        took = sym.tri_value == sym.user_value
        wanted = kconfiglib.TRI_TO_STR[sym.user_value]
    else:
        took = sym.str_value == sym.user_value
        wanted = sym.user_value
    if not took:
        problems.append("CONFIG_%s=%s does not take (range or dependencies); it would be %s"
                        % (sym.name, wanted, sym.str_value or "unset"))
for problem in problems:
    print("pkg-build: " + problem, file=sys.stderr)
if problems:
    sys.exit(1)
kconf.write_config(sys.argv[1], header="# subgate .config, written by board/pkg-build.sh\n")
EOF
	) || die "the recipe's .config does not fit subgate's Kconfig (see above)"
	say "configured $OUT/.config"
}

# stamp_ok NAME TEXT: true when NAME was built with exactly TEXT (source and flags).
stamp_ok() { [ -f "$OUT/sysroot/.stamp-$1" ] && [ "$(cat "$OUT/sysroot/.stamp-$1")" = "$2" ]; }

fresh_copy() { # fresh_copy SRC NAME: a private copy, so the recipe's tree stays clean
	[ -d "$1" ] || die "no source tree at $1"
	rm -rf "${OUT:?}/deps/$2"
	mkdir -p "$OUT/deps"
	cp -a "$1" "$OUT/deps/$2"
}

build_bearssl() {
	local want="bearssl $BEARSSL_SRC CC=$TARGET_CC CFLAGS=$DEPS_CFLAGS"
	stamp_ok bearssl "$want" && return 0
	say "building BearSSL with $TARGET_CC"
	fresh_copy "$BEARSSL_SRC" bearssl
	rm -rf "$OUT/deps/bearssl/build"
	run_make -C "$OUT/deps/bearssl" -j"$JOBS" CONF=Unix CC="$TARGET_CC" CFLAGS="-W -Wall $DEPS_CFLAGS" \
		AR="$TARGET_AR" ARFLAGS=-rcs DLL=no TOOLS=no TESTS=no STATICLIB=yes build/libbearssl.a >/dev/null
	$TARGET_RANLIB "$OUT/deps/bearssl/build/libbearssl.a"
	install -m 0644 "$OUT"/deps/bearssl/inc/*.h "$OUT/sysroot/include/"
	install -m 0644 "$OUT/deps/bearssl/build/libbearssl.a" "$OUT/sysroot/lib/"
	printf '%s' "$want" >"$OUT/sysroot/.stamp-bearssl"
}

build_tinycdb() {
	local want="tinycdb $TINYCDB_SRC CC=$TARGET_CC CFLAGS=$DEPS_CFLAGS"
	stamp_ok tinycdb "$want" && return 0
	say "building TinyCDB with $TARGET_CC"
	fresh_copy "$TINYCDB_SRC" tinycdb
	rm -f "$OUT"/deps/tinycdb/*.o "$OUT"/deps/tinycdb/*.lo "$OUT"/deps/tinycdb/*.a
	run_make -C "$OUT/deps/tinycdb" -j"$JOBS" CC="$TARGET_CC" CFLAGS="-Wall $DEPS_CFLAGS" \
		AR="$TARGET_AR" RANLIB="$TARGET_RANLIB" libcdb.a >/dev/null
	install -m 0644 "$OUT/deps/tinycdb/cdb.h" "$OUT/sysroot/include/"
	install -m 0644 "$OUT/deps/tinycdb/libcdb.a" "$OUT/sysroot/lib/"
	printf '%s' "$want" >"$OUT/sysroot/.stamp-tinycdb"
}

# Filters built at start link the target's libseccomp (the distribution's own
# package); filters built at build time need the build machine's libseccomp.
setup_seccomp() {
	rm -f "$OUT/sysroot/lib/libseccomp.a" "$OUT/sysroot/include/seccomp.h" "$OUT/sysroot/include/seccomp-syscalls.h"
	if config_has SANDBOX_SECCOMP && ! config_has SANDBOX_SECCOMP_BUILD_TIME; then
		[ -f "${TARGET_SECCOMP_LIB:-}" ] ||
			die "seccomp filters built at start need the target's libseccomp.a (TARGET_SECCOMP_LIB)"
		install -m 0644 "$TARGET_SECCOMP_LIB" "$OUT/sysroot/lib/"
		install -m 0644 "${TARGET_SECCOMP_INCLUDE:?TARGET_SECCOMP_INCLUDE must name its headers}"/seccomp*.h \
			"$OUT/sysroot/include/"
	fi
	if config_has SANDBOX_SECCOMP_BUILD_TIME; then
		if [ -z "${HOST_SECCOMP_LIBS+set}" ]; then
			HOST_SECCOMP_CFLAGS="$(pkg-config --cflags libseccomp 2>/dev/null || true)"
			HOST_SECCOMP_LIBS="$(pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)"
		fi
		# shellcheck disable=SC2086 # flag lists
		printf '#include <seccomp.h>\n' | $HOSTCC ${HOST_SECCOMP_CFLAGS:-} -E -o /dev/null - 2>/dev/null ||
			die "build-time seccomp filters need the build machine's libseccomp headers and library" \
				"(Debian/Ubuntu: libseccomp-dev, Fedora: libseccomp-devel), or say N to build-time filters"
	fi
}

cmd_build() {
	: "${TARGET_CC:?TARGET_CC must name the cross compiler}"
	: "${BEARSSL_SRC:?BEARSSL_SRC must name the unpacked BearSSL tree}"
	: "${TINYCDB_SRC:?TINYCDB_SRC must name the unpacked TinyCDB tree}"
	[ -f "$OUT/.config" ] || die "$OUT/.config is missing: run olddefconfig first"
	local cc_prefix="${TARGET_CC%% *}"
	cc_prefix="${cc_prefix%gcc}"
	TARGET_AR="${TARGET_AR:-${cc_prefix}ar}"
	TARGET_RANLIB="${TARGET_RANLIB:-${cc_prefix}ranlib}"
	command -v "$TARGET_AR" >/dev/null || TARGET_AR="ar"
	command -v "$TARGET_RANLIB" >/dev/null || TARGET_RANLIB="ranlib"
	HOSTCC="${HOSTCC:-cc}"
	local seccomp_arch="${SECCOMP_ARCH:-$(seccomp_arch_of "${TARGET_ARCH:?set SECCOMP_ARCH or TARGET_ARCH}")}"
	local crt_dir="${TARGET_CRT_DIR:-}"
	if [ -z "$crt_dir" ]; then
		# shellcheck disable=SC2086 # TARGET_CC may carry flags
		crt_dir="$(dirname "$($TARGET_CC -print-file-name=rcrt1.o)")"
	fi
	[ -f "$crt_dir/rcrt1.o" ] ||
		die "no rcrt1.o from $TARGET_CC: a static PIE needs musl >= 1.1.11 (set TARGET_CRT_DIR if it is elsewhere)"

	mkdir -p "$OUT/sysroot/include" "$OUT/sysroot/lib"
	build_bearssl
	build_tinycdb
	if grep -qx 'CONFIG_RELAY_OAUTH=y' "$OUT/.config"; then
		[ -n "${JSMN_SRC:-}" ] && [ -f "$JSMN_SRC/jsmn.h" ] ||
			die "CONFIG_RELAY_OAUTH needs jsmn: set JSMN_SRC to an unpacked jsmn-1.1.0 tree, or say N to it"
		install -m 0644 "$JSMN_SRC/jsmn.h" "$OUT/sysroot/include/"
	fi
	setup_seccomp

	local libs="$OUT/sysroot/lib/libcdb.a $OUT/sysroot/lib/libbearssl.a"
	[ -f "$OUT/sysroot/lib/libseccomp.a" ] && libs="$OUT/sysroot/lib/libseccomp.a $libs"
	say "building subgate $(cat "$SRC/VERSION") for $seccomp_arch with $TARGET_CC"
	run_make -C "$SRC" --no-print-directory -j"$JOBS" \
		B="$OUT" KCONFIG_CONFIG="$OUT/.config" PYTHON="$PYTHON" \
		CC="$TARGET_CC" SYSROOT="$OUT/sysroot" MUSL_LIB="$crt_dir" DEPS_STAMP= LIBS="$libs" \
		VERSION="$(cat "$SRC/VERSION")" BUILD_EPOCH="${SOURCE_DATE_EPOCH:-$(date +%s)}" \
		BUILD_INFO="${BUILD_INFO:-$TARGET_CC}" SECCOMP_ARCH="$seccomp_arch" \
		BPFGEN="$OUT/host/sandbox-bpfgen" BPFGEN_CC="$HOSTCC ${HOST_SECCOMP_CFLAGS:-}" \
		BPFGEN_LIBS="${HOST_SECCOMP_LIBS:-}" BPFGEN_DEPS= \
		"$OUT/subgate"
}

case "${1:-}" in
olddefconfig) cmd_olddefconfig ;;
build) cmd_build ;;
*) die "usage: board/pkg-build.sh olddefconfig|build" ;;
esac
