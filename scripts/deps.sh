#!/usr/bin/env bash
# scripts/deps.sh - build subgate's third-party dependencies into a local sysroot.
#
# This script owns (and is the only thing that writes to):
#   * the dependency sysroot   (default build/sysroot): include/, lib/, .stamp-*
#   * the dependency work dir  (default build/deps):    Debian source packages,
#     unpacked trees, logs, versions.txt
#   * /etc/apt/sources.list.d/subgate-deb-src.sources  (only created when no
#     deb-src entry is configured; mirrors the existing Debian "deb" entries;
#     the code is in scripts/debsrc.sh, shared with scripts/cross.sh)
#
# Dependencies, all built from Debian *source* packages (fetched with
# `apt-get source`, i.e. hash-checked against the signed Sources index) and
# compiled fully static with musl-gcc:
#   bearssl    -> lib/libbearssl.a, include/bearssl*.h
#   tinycdb    -> lib/libcdb.a,     include/cdb.h
#   libseccomp -> lib/libseccomp.a, include/seccomp.h, include/seccomp-syscalls.h
#   jsmn       -> include/jsmn.h (header-only JSON tokenizer: the OAuth token
#                 endpoint's replies; nothing to compile here)
# plus the Linux UAPI headers from linux-libc-dev (include/{linux,asm,asm-generic}),
# because musl-gcc does not search /usr/include.
# Third-party source is never committed; it only lives in the work dir.
#
# Usage: scripts/deps.sh [--sysroot DIR] [--work DIR]
# Environment overrides (defaults in brackets):
#   CC [musl-gcc]  AR [ar]  RANLIB [ranlib]
#   HOST_TRIPLET []                    passed to libseccomp's configure --host
#   KERNEL_HEADERS_ARCH_DIR [/usr/include/x86_64-linux-gnu]  (dir holding asm/)
#   KERNEL_HEADERS_DIR [/usr/include]  (dir holding linux/ and asm-generic/)
#   KERNEL_HEADERS_PKG [linux-libc-dev] (the package they come from, for stamps;
#                                      cross.sh: linux-libc-dev-<arch>-cross)
#   DEPS_CFLAGS [-Os -fPIE -fstack-protector-strong -ffunction-sections -fdata-sections
#                -fno-asynchronous-unwind-tables -fno-unwind-tables]
#   BEARSSL_VERSION / TINYCDB_VERSION / LIBSECCOMP_VERSION / JSMN_VERSION
#                                      pin a Debian source version; empty (the
#                                      default) takes the suite's current one,
#                                      so a security update never breaks the build
#
# A package is rebuilt only when its stamp ($SYSROOT/.stamp-<pkg>: version +
# build configuration) differs from what is requested; with everything up to
# date the script makes no apt calls and exits immediately.
set -euo pipefail

# --- Debian source versions (empty: the current one; bookworm had, when this
# was written: bearssl 0.6+dfsg.1-3, tinycdb 0.78, libseccomp 2.5.4-1+deb12u1,
# jsmn 1.1.0-2)
BEARSSL_VERSION="${BEARSSL_VERSION:-}"
TINYCDB_VERSION="${TINYCDB_VERSION:-}"
LIBSECCOMP_VERSION="${LIBSECCOMP_VERSION:-}"
JSMN_VERSION="${JSMN_VERSION:-}"
PACKAGES=(bearssl tinycdb libseccomp jsmn)

# --- settings ---------------------------------------------------------------
CC="${CC:-musl-gcc}"
AR="${AR:-ar}"
RANLIB="${RANLIB:-ranlib}"
HOST_TRIPLET="${HOST_TRIPLET:-}"
KERNEL_HEADERS_ARCH_DIR="${KERNEL_HEADERS_ARCH_DIR:-/usr/include/x86_64-linux-gnu}"
KERNEL_HEADERS_DIR="${KERNEL_HEADERS_DIR:-/usr/include}"
KERNEL_HEADERS_PKG="${KERNEL_HEADERS_PKG:-linux-libc-dev}"
DEPS_CFLAGS="${DEPS_CFLAGS:--Os -fPIE -fstack-protector-strong -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables}"
JOBS=2
BUILD_TOOLS=(musl-tools musl-dev gperf dpkg-dev linux-libc-dev make gcc)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

SCRIPT_TAG=deps
say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "$0" | sed '/^$/q'; }

TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/debsrc.sh
. "$TOP/scripts/debsrc.sh"
SYSROOT="build/sysroot"
WORK="build/deps"
while [ $# -gt 0 ]; do
    case "$1" in
        --sysroot) [ $# -ge 2 ] || die "--sysroot needs an argument"; SYSROOT="$2"; shift 2 ;;
        --sysroot=*) SYSROOT="${1#*=}"; shift ;;
        --work) [ $# -ge 2 ] || die "--work needs an argument"; WORK="$2"; shift 2 ;;
        --work=*) WORK="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
# Relative paths are relative to the repository top; make them absolute.
case "$SYSROOT" in /*) ;; *) SYSROOT="$TOP/$SYSROOT" ;; esac
case "$WORK" in /*) ;; *) WORK="$TOP/$WORK" ;; esac
LOGDIR="$WORK/log"
mkdir -p "$SYSROOT/include" "$SYSROOT/lib" "$WORK/src" "$LOGDIR"

# Serialise concurrent runs (e.g. parallel make invoking this script).
exec 9>"$WORK/.lock"
flock 9

# --- helpers ----------------------------------------------------------------
version_of() {            # version_of PKG -> requested Debian source version
    case "$1" in
        bearssl) echo "$BEARSSL_VERSION" ;;
        tinycdb) echo "$TINYCDB_VERSION" ;;
        libseccomp) echo "$LIBSECCOMP_VERSION" ;;
        jsmn) echo "$JSMN_VERSION" ;;
        *) die "unknown package $1" ;;
    esac
}

kernel_headers_version() { dpkg-query -W -f='${Version}' "$KERNEL_HEADERS_PKG" 2>/dev/null || true; }

# Stamp contents: line 1 is "<package> <version>", the rest the build
# configuration, so a change of compiler or flags also triggers a rebuild.
# libseccomp is compiled against the sysroot's kernel headers, so its stamp
# also records their version.
stamp_want() {            # stamp_want PKG [VERSION]
    if [ "$1" = kernel-headers ]; then
        printf '%s %s\narch-dir=%s\n' "$KERNEL_HEADERS_PKG" "$(kernel_headers_version)" "$KERNEL_HEADERS_ARCH_DIR"
        if [ "$KERNEL_HEADERS_DIR" != /usr/include ]; then printf 'dir=%s\n' "$KERNEL_HEADERS_DIR"; fi
        return
    fi
    if [ "$1" = jsmn ]; then   # a header, compiled with the program: no toolchain in its stamp
        printf '%s %s\nheader-only\n' "$1" "${2:-$(version_of "$1")}"
        return
    fi
    printf '%s %s\nCC=%s AR=%s RANLIB=%s HOST=%s CFLAGS=%s\n' "$1" "${2:-$(version_of "$1")}" \
        "$CC" "$AR" "$RANLIB" "$HOST_TRIPLET" "$DEPS_CFLAGS"
    if [ "$1" = libseccomp ]; then
        printf 'kernel-headers=%s\n' "$(kernel_headers_version)"
    fi
}
stamp_ok() {              # stamp_ok PKG -> true if installed stamp matches
    local f="$SYSROOT/.stamp-$1" have
    [ -f "$f" ] || return 1
    if [ "$1" != kernel-headers ] && [ -z "$(version_of "$1")" ]; then
        # No pinned version: any installed version will do, same build settings.
        have="$(head -n 1 "$f")"
        [ "${have%% *}" = "$1" ] && [ "$(tail -n +2 "$f")" = "$(stamp_want "$1" any | tail -n +2)" ]
        return
    fi
    [ "$(cat "$f")" = "$(stamp_want "$1")" ]
}
stamp_write() { stamp_want "$1" "${2:-}" >"$SYSROOT/.stamp-$1"; }

write_versions() {        # versions.txt: "<source package> <version>" per line
    local p
    for p in "${PACKAGES[@]}"; do
        if [ -f "$SYSROOT/.stamp-$p" ]; then head -n 1 "$SYSROOT/.stamp-$p"; fi
    done >"$WORK/versions.txt.tmp"
    mv -f "$WORK/versions.txt.tmp" "$WORK/versions.txt"
}

# --- fast path: nothing to do? ------------------------------------------------
TODO=()
for p in kernel-headers "${PACKAGES[@]}"; do
    stamp_ok "$p" || TODO+=("$p")
done
if [ ${#TODO[@]} -eq 0 ]; then
    [ -f "$WORK/versions.txt" ] || write_versions
    say "up to date in $SYSROOT"
    exit 0
fi

# --- step 1: build tools -------------------------------------------------------
missing=()
for t in "${BUILD_TOOLS[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$t" 2>/dev/null || true)" = "ii " ] || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing build tools (${missing[*]}); run as root to install them"
    apt_update
    say "installing build tools: ${missing[*]}"
    run "$LOGDIR/apt.log" apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${missing[@]}"
fi
command -v "${CC%% *}" >/dev/null || die "compiler not found: $CC"
[ -d "$KERNEL_HEADERS_ARCH_DIR/asm" ] || die "no asm/ in KERNEL_HEADERS_ARCH_DIR=$KERNEL_HEADERS_ARCH_DIR"
[ -d "$KERNEL_HEADERS_DIR/linux" ] || die "no linux/ in KERNEL_HEADERS_DIR=$KERNEL_HEADERS_DIR"

# --- step 2: builds ---------------------------------------------------------------------
install_kernel_headers() {
    local d
    say "installing kernel UAPI headers ($KERNEL_HEADERS_PKG $(kernel_headers_version))"
    for d in linux asm-generic asm; do rm -rf "${SYSROOT:?}/include/$d"; done
    cp -a "$KERNEL_HEADERS_DIR/linux" "$KERNEL_HEADERS_DIR/asm-generic" "$SYSROOT/include/"
    cp -a "$KERNEL_HEADERS_ARCH_DIR/asm" "$SYSROOT/include/asm"
    stamp_write kernel-headers
}

build_bearssl() {
    local src="$WORK/build/bearssl" log="$LOGDIR/bearssl.log"
    # conf/Unix.mk supplies the defaults; override the toolchain and build
    # only the static library target.
    run "$log" make -C "$src" -j"$JOBS" CONF=Unix \
        CC="$CC" CFLAGS="-W -Wall $DEPS_CFLAGS" \
        AR="$AR" ARFLAGS=-rcs \
        DLL=no TOOLS=no TESTS=no STATICLIB=yes \
        build/libbearssl.a
    "$RANLIB" "$src/build/libbearssl.a"
    install -m 0644 "$src"/inc/*.h "$SYSROOT/include/"
    install -m 0644 "$src/build/libbearssl.a" "$SYSROOT/lib/"
}

build_tinycdb() {
    local src="$WORK/build/tinycdb" log="$LOGDIR/tinycdb.log"
    run "$log" make -C "$src" -j"$JOBS" \
        CC="$CC" CFLAGS="-Wall $DEPS_CFLAGS" AR="$AR" RANLIB="$RANLIB" \
        libcdb.a
    install -m 0644 "$src/cdb.h" "$SYSROOT/include/"
    install -m 0644 "$src/libcdb.a" "$SYSROOT/lib/"
}

build_libseccomp() {
    local src="$WORK/build/libseccomp" log="$LOGDIR/libseccomp.log"
    local host=()
    [ -n "$HOST_TRIPLET" ] && host=(--host="$HOST_TRIPLET")
    # Debian's patches may touch autotools inputs; keep the shipped configure
    # and Makefile.in (don't let make try to re-run autoconf/automake).
    (cd "$src" && touch aclocal.m4 && touch configure && find . -name '*.in' -exec touch {} +)
    run "$log" in_dir "$src" ./configure --prefix="$SYSROOT" "${host[@]}" \
        --disable-shared --enable-static --disable-python \
        CC="$CC" AR="$AR" RANLIB="$RANLIB" \
        CFLAGS="$DEPS_CFLAGS -I$SYSROOT/include" CPPFLAGS="-I$SYSROOT/include"
    run "$log" make -C "$src/src" -j"$JOBS" libseccomp.la
    run "$log" make -C "$src/src" install-libLTLIBRARIES
    run "$log" make -C "$src/include" install
    rm -f "$SYSROOT/lib/libseccomp.la"
}

# jsmn's Debian layer is packaging only: 1.1.0-2 carries no patches, and the
# jsmn.h libjsmn-dev installs is upstream's, byte for byte. Some mirrors lack
# its .debian.tar.xz; then the upstream tarball that apt fetched is checked
# against the SHA-256 in the .dsc (which apt checked against the signed index)
# and unpacked alone. Any other failure stops the build as for the others.
fetch_jsmn() {
    local log="$LOGDIR/jsmn.log" dsc orig want have
    if (fetch jsmn "$1") 2>>"$log"; then
        dsc="$(ls "$WORK/src/jsmn_"*.dsc | head -n 1)"
    else
        dsc="$(ls "$WORK/src/jsmn_"*.dsc 2>/dev/null | head -n 1)"
        [ -n "$dsc" ] || die "no jsmn source package (see $log)"
        orig="$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(jsmn_[^ ]*\.orig\.tar\.[a-z0-9]*\)$/\1/p' "$dsc" | head -n 1)"
        want="$(awk -v f="$orig" '$3 == f && length($1) == 64 { print $1; exit }' "$dsc")"
        [ -n "$orig" ] && [ -f "$WORK/src/$orig" ] || die "no upstream tarball for jsmn (see $log)"
        have="$(sha256sum <"$WORK/src/$orig" | cut -d ' ' -f 1)"
        [ "$have" = "$want" ] || die "jsmn: $orig does not match the SHA-256 in $(basename "$dsc")"
        say "jsmn: Debian's packaging layer is not on the mirror; using $orig (SHA-256 checked)"
        rm -rf "$WORK/build/jsmn"
        mkdir -p "$WORK/build/jsmn"
        tar -xf "$WORK/src/$orig" -C "$WORK/build/jsmn" --strip-components=1
    fi
    FETCHED_VERSION="$(sed -n 's/^Version: //p' "$dsc" | head -n 1)"
}

# jsmn.h is compiled into subgate's own objects, which pick the parser's
# behaviour with macros before including it (gateway/oauth_token.c).
build_jsmn() {
    install -m 0644 "$WORK/build/jsmn/jsmn.h" "$SYSROOT/include/"
}

for p in "${TODO[@]}"; do
    if [ "$p" = kernel-headers ]; then
        install_kernel_headers
        continue
    fi
    v="$(version_of "$p")"
    : >"$LOGDIR/$p.log"
    rm -f "$SYSROOT/.stamp-$p"
    if [ "$p" = jsmn ]; then fetch_jsmn "$v"; else fetch "$p" "$v"; fi
    v="$FETCHED_VERSION"
    if [ "$p" = jsmn ]; then say "installing jsmn $v (a header)"; else say "building $p $v with $CC"; fi
    start=$SECONDS
    "build_$p"
    stamp_write "$p" "$v"
    say "done with $p in $((SECONDS - start))s (log: ${LOGDIR#"$TOP"/}/$p.log)"
done

write_versions
say "done: sysroot $SYSROOT"
