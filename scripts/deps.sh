#!/usr/bin/env bash
# scripts/deps.sh - build subgate's third-party dependencies into a local sysroot.
#
# This script owns (and is the only thing that writes to):
#   * the dependency sysroot   (default build/sysroot): include/, lib/, .stamp-*
#   * the dependency work dir  (default build/deps):    Debian source packages,
#     unpacked trees, logs, versions.txt
#   * /etc/apt/sources.list.d/subgate-deb-src.sources  (only created when no
#     deb-src entry is configured; mirrors the existing Debian "deb" entries)
#
# Dependencies, all built from Debian *source* packages (fetched with
# `apt-get source`, i.e. hash-checked against the signed Sources index) and
# compiled fully static with musl-gcc:
#   bearssl    -> lib/libbearssl.a, include/bearssl*.h
#   tinycdb    -> lib/libcdb.a,     include/cdb.h
#   libseccomp -> lib/libseccomp.a, include/seccomp.h, include/seccomp-syscalls.h
# plus the Linux UAPI headers from linux-libc-dev (include/{linux,asm,asm-generic}),
# because musl-gcc does not search /usr/include.
# Third-party source is never committed; it only lives in the work dir.
#
# Usage: scripts/deps.sh [--sysroot DIR] [--work DIR]
# Environment overrides (defaults in brackets):
#   CC [musl-gcc]  AR [ar]  RANLIB [ranlib]
#   HOST_TRIPLET []                    passed to libseccomp's configure --host
#   KERNEL_HEADERS_ARCH_DIR [/usr/include/x86_64-linux-gnu]  (dir holding asm/)
#   DEPS_CFLAGS [-Os -fPIE -fstack-protector-strong -ffunction-sections -fdata-sections]
#   BEARSSL_VERSION / TINYCDB_VERSION / LIBSECCOMP_VERSION
#                                      pin a Debian source version; empty (the
#                                      default) takes the suite's current one,
#                                      so a security update never breaks the build
#
# A package is rebuilt only when its stamp ($SYSROOT/.stamp-<pkg>: version +
# build configuration) differs from what is requested; with everything up to
# date the script makes no apt calls and exits immediately.
set -euo pipefail

# --- Debian source versions (empty: the current one; bookworm had, when this
# was written: bearssl 0.6+dfsg.1-3, tinycdb 0.78, libseccomp 2.5.4-1+deb12u1)
BEARSSL_VERSION="${BEARSSL_VERSION:-}"
TINYCDB_VERSION="${TINYCDB_VERSION:-}"
LIBSECCOMP_VERSION="${LIBSECCOMP_VERSION:-}"
PACKAGES=(bearssl tinycdb libseccomp)

# --- settings ---------------------------------------------------------------
CC="${CC:-musl-gcc}"
AR="${AR:-ar}"
RANLIB="${RANLIB:-ranlib}"
HOST_TRIPLET="${HOST_TRIPLET:-}"
KERNEL_HEADERS_ARCH_DIR="${KERNEL_HEADERS_ARCH_DIR:-/usr/include/x86_64-linux-gnu}"
DEPS_CFLAGS="${DEPS_CFLAGS:--Os -fPIE -fstack-protector-strong -ffunction-sections -fdata-sections}"
JOBS=2
APT_OPTS=(-q -o APT::Sandbox::User=root)   # we run as root; silence the _apt sandbox warning
DEB_SRC_FILE=/etc/apt/sources.list.d/subgate-deb-src.sources
BUILD_TOOLS=(musl-tools musl-dev gperf dpkg-dev linux-libc-dev make gcc)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "$0" | sed '/^$/q'; }

TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
        *) die "unknown package $1" ;;
    esac
}

kernel_headers_version() { dpkg-query -W -f='${Version}' linux-libc-dev 2>/dev/null || true; }

# Stamp contents: line 1 is "<package> <version>", the rest the build
# configuration, so a change of compiler or flags also triggers a rebuild.
# libseccomp is compiled against the sysroot's kernel headers, so its stamp
# also records their version.
stamp_want() {            # stamp_want PKG [VERSION]
    if [ "$1" = kernel-headers ]; then
        printf 'linux-libc-dev %s\narch-dir=%s\n' "$(kernel_headers_version)" "$KERNEL_HEADERS_ARCH_DIR"
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

in_dir() ( cd "$1" && shift && exec "$@" )   # in_dir DIR CMD... (subshell)

# run LOG CMD... : run CMD with all output appended to LOG; on failure show the
# tail of the log and abort.
run() {
    local log="$1"; shift
    printf '\n+ %s\n' "$*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        printf 'deps: error: command failed: %s\n' "$*" >&2
        printf 'deps: last lines of %s:\n' "$log" >&2
        tail -n 40 "$log" | sed 's/^/  | /' >&2
        exit 1
    fi
}

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
APT_UPDATED=0
apt_update() {
    [ "$APT_UPDATED" = 1 ] && return 0
    [ "$(id -u)" = 0 ] || die "apt-get update needed; run as root"
    say "apt-get update"
    run "$LOGDIR/apt.log" apt-get "${APT_OPTS[@]}" update
    APT_UPDATED=1
}

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

# --- step 2: deb-src entries -------------------------------------------------------
have_deb_src() {
    apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -qx Sources
}

# Print deb822 "Types: deb-src" stanzas mirroring the enabled Debian "deb"
# entries. Only URIs containing "debian" are considered, and entries signed
# with a non-Debian keyring (e.g. download.docker.com/linux/debian) are skipped.
debian_src_stanzas() {
    local f
    # deb822 files
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$DEB_SRC_FILE" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && uris ~ /debian/ && enabled !~ /^[Nn]o/ &&
                    (signed == "" || signed ~ /debian-archive/)) {
                    print "Types: deb-src"; print "URIs: " uris
                    print "Suites: " suites; print "Components: " comps
                    if (signed != "") print "Signed-By: " signed
                    print ""
                }
                types = uris = suites = comps = signed = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/   { next }        # continuation line (e.g. inline key): ignore
            {
                key = tolower($1); sub(/:$/, "", key)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
                if (key == "types") types = val
                else if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "components") comps = val
                else if (key == "signed-by") signed = val
                else if (key == "enabled") enabled = val
            }
            END { flush() }' "$f"
    done
    # legacy one-line format: deb [opts] URI SUITE COMPONENT...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '
            $1 != "deb" { next }
            {
                signed = ""; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        o = $i; gsub(/[\[\]]/, "", o)
                        if (o ~ /^signed-by=/) { signed = o; sub(/^signed-by=/, "", signed) }
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                uri = $i; suite = $(i + 1); comps = ""
                for (j = i + 2; j <= NF && $j !~ /^#/; j++) comps = comps (comps == "" ? "" : " ") $j
                if (uri !~ /debian/ || (signed != "" && signed !~ /debian-archive/)) next
                print "Types: deb-src"; print "URIs: " uri
                print "Suites: " suite; print "Components: " comps
                if (signed != "") print "Signed-By: " signed
                print ""
            }' "$f"
    done
}

ensure_deb_src() {
    have_deb_src && return 0
    local content
    content="$(printf '# Written by subgate scripts/deps.sh: deb-src mirror of the Debian deb entries.\n'; debian_src_stanzas)"
    grep -q '^Types: deb-src' <<<"$content" || die "no Debian 'deb' entries found to mirror as deb-src"
    if [ ! -f "$DEB_SRC_FILE" ] || [ "$(cat "$DEB_SRC_FILE")" != "$content" ]; then
        [ "$(id -u)" = 0 ] || die "no deb-src entries configured; run as root to add $DEB_SRC_FILE"
        say "adding deb-src entries: $DEB_SRC_FILE"
        printf '%s\n' "$content" >"$DEB_SRC_FILE"
    fi
    APT_UPDATED=0     # new index targets: force a fresh update
    apt_update
}

# --- step 3: fetch a source package ----------------------------------------------
# fetch PKG VERSION: download the .dsc/.orig/.debian into $WORK/src (apt checks
# them against the signed Sources index) and unpack a fresh tree into
# $WORK/build/PKG with dpkg-source (applies debian/patches).
fetch() {
    local pkg="$1" ver="$2" log="$LOGDIR/$1.log" dsc spec="$1${2:+=$2}"
    say "fetching $pkg ${ver:-(current version)}"
    rm -f "$WORK/src/${pkg}_"*
    # Try with the current indexes first; on failure add deb-src entries if
    # none exist, and finally retry after an apt-get update.
    if ! in_dir "$WORK/src" apt-get "${APT_OPTS[@]}" source --download-only "$spec" >>"$log" 2>&1; then
        ensure_deb_src
        if ! in_dir "$WORK/src" apt-get "${APT_OPTS[@]}" source --download-only "$spec" >>"$log" 2>&1; then
            apt_update
            run "$log" in_dir "$WORK/src" apt-get "${APT_OPTS[@]}" source --download-only "$spec"
        fi
    fi
    if grep -qi 'hash sum mismatch' "$log"; then
        die "apt reported a hash mismatch for $pkg (see $log)"
    fi
    dsc="$(ls "$WORK/src/${pkg}_"*.dsc 2>/dev/null | head -n 1)"
    [ -n "$dsc" ] && [ -f "$dsc" ] || die "no ${pkg}_*.dsc after apt-get source"
    FETCHED_VERSION="$(sed -n 's/^Version: //p' "$dsc" | head -n 1)"

    rm -rf "$WORK/build/$pkg"
    mkdir -p "$WORK/build"
    local xlog="$LOGDIR/$pkg.extract.log"
    : >"$xlog"
    run "$xlog" dpkg-source -x "$dsc" "$WORK/build/$pkg"
    cat "$xlog" >>"$log"
    if grep -Eqi 'mismatch|checksum|(has size|expected) ' "$xlog"; then
        die "dpkg-source reported a checksum problem for $pkg: $(grep -Ei 'mismatch|checksum|size' "$xlog" | head -n 3)"
    fi
}

# --- step 4: builds ---------------------------------------------------------------------
install_kernel_headers() {
    local d
    say "installing kernel UAPI headers (linux-libc-dev $(kernel_headers_version))"
    for d in linux asm-generic asm; do rm -rf "${SYSROOT:?}/include/$d"; done
    cp -a /usr/include/linux /usr/include/asm-generic "$SYSROOT/include/"
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

for p in "${TODO[@]}"; do
    if [ "$p" = kernel-headers ]; then
        install_kernel_headers
        continue
    fi
    v="$(version_of "$p")"
    : >"$LOGDIR/$p.log"
    rm -f "$SYSROOT/.stamp-$p"
    fetch "$p" "$v"
    v="$FETCHED_VERSION"
    say "building $p $v with $CC"
    start=$SECONDS
    "build_$p"
    stamp_write "$p" "$v"
    say "built $p in $((SECONDS - start))s (log: ${LOGDIR#"$TOP"/}/$p.log)"
done

write_versions
say "done: sysroot $SYSROOT"
