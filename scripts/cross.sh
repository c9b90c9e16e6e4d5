#!/usr/bin/env bash
# scripts/cross.sh - a static musl cross toolchain and dependency sysroot for
# one board (board/NAME/board.mk), from Debian's cross gcc and Debian's musl
# source package.
#
# This script owns (and is the only thing that writes to):
#   * build/NAME/toolchain/   work dir: the musl source package, its unpacked
#                             tree, logs
#   * build/NAME/sysroot/     musl's lib/ and include/, lib/musl-gcc.specs,
#                             .stamp-musl and .stamp-cross (the last one is
#                             written when everything is ready; make waits for
#                             it). scripts/deps.sh, run from here, adds the
#                             kernel UAPI headers (linux-libc-dev-ARCH-cross),
#                             BearSSL, TinyCDB, libseccomp and jsmn, and owns
#                             build/NAME/deps/ and its .stamp-* files.
#   * build/NAME/bin/TRIPLET-musl-gcc
#                             the board's compiler: Debian's TRIPLET-gcc with
#                             BOARD_CFLAGS, musl instead of glibc, always static;
#                             -pie (or -static-pie) gives a static PIE (rcrt1.o)
#   * for a soft-float board (LIBGCC_SOFT_FP set in board.mk; only mips is
#     implemented): sysroot/lib/libgcc.a, crtbeginS.o, crtendS.o and
#     .stamp-libgcc, and build/NAME/toolchain/libgcc/. Debian ships only a
#     hard-float libgcc, whose float helpers use the FPU and take arguments in
#     FPU registers. The soft-float one is GCC's own soft-fp code, compiled
#     from Debian's gcc source package, plus the members of Debian's libgcc.a
#     that use no FPU register.
# Debian packages it needs are installed with scripts/apt-need.sh (as root);
# source packages are fetched with scripts/debsrc.sh, which adds a deb-src
# entry when there is none (as deps.sh does).
#
# Usage: scripts/cross.sh --board NAME
# Environment: MUSL_VERSION pins a Debian source version of musl; empty (the
# default) takes the suite's current one, as deps.sh does for its packages.
#
# A second run with nothing changed makes no apt call and builds nothing: musl
# is rebuilt only when its stamp (version, compiler, flags) differs, the
# wrapper is rewritten only when its text changes, and deps.sh keeps its own
# stamps. A new wrapper (other BOARD_CFLAGS) also rebuilds the dependencies.
set -euo pipefail

MUSL_VERSION="${MUSL_VERSION:-}"
JOBS=2
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# Run from make: the caller's jobserver and command-line variables (B=,
# KCONFIG_CONFIG=, ...) are not for the makes of musl and the dependencies.
unset MAKEFLAGS MFLAGS

SCRIPT_TAG=cross
say() { printf 'cross: %s\n' "$*"; }
die() { printf 'cross: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "$0" | sed '/^$/q'; }

TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=scripts/debsrc.sh
. "$TOP/scripts/debsrc.sh"

BOARD=
while [ $# -gt 0 ]; do
    case "$1" in
        --board) [ $# -ge 2 ] || die "--board needs an argument"; BOARD="$2"; shift 2 ;;
        --board=*) BOARD="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ -n "$BOARD" ] || { usage >&2; die "--board is required"; }
BOARD_MK="$TOP/board/$BOARD/board.mk"
[ -f "$BOARD_MK" ] || die "no board $BOARD (boards: $(cd "$TOP/board" && ls -d -- */ | tr -d / | paste -sd ' '))"

# --- the board's settings, read by make itself (board.mk is make syntax) ------
board_vars() {
    make --no-print-directory -s -f "$BOARD_MK" \
        --eval 'subgate-board-vars: ; @printf "%s\n" "$(CROSS_TRIPLET)" "$(DEB_ARCH)" "$(BOARD_CFLAGS)" "$(LIBGCC_SOFT_FP)"' \
        subgate-board-vars
}
vars="$(board_vars)" || die "cannot read $BOARD_MK"
mapfile -t bv <<<"$vars"    # one line each; $(...) dropped the empty last ones
TRIPLET="${bv[0]:-}" DEB_ARCH="${bv[1]:-}" BOARD_CFLAGS="${bv[2]:-}" LIBGCC_SOFT_FP="${bv[3]:-}"
[ -n "$TRIPLET" ] && [ -n "$DEB_ARCH" ] || die "$BOARD_MK must set CROSS_TRIPLET and DEB_ARCH"
# The FPU checks and the FP ABI tags below are MIPS ones.
case "$LIBGCC_SOFT_FP" in ''|mips) ;; *) die "LIBGCC_SOFT_FP=$LIBGCC_SOFT_FP: only mips is implemented" ;; esac

B="$TOP/build/$BOARD"
SYSROOT="$B/sysroot"
WORK="$B/toolchain"
LOGDIR="$WORK/log"
CROSS_CC="$TRIPLET-gcc"
WRAPPER="$B/bin/$TRIPLET-musl-gcc"
SPECS="$SYSROOT/lib/musl-gcc.specs"
KERNEL_HEADERS="/usr/$TRIPLET/include"
mkdir -p "$SYSROOT/include" "$SYSROOT/lib" "$B/bin" "$WORK/src" "$LOGDIR"

# Serialise concurrent runs for the same board (parallel make, make sizes).
exec 9>"$WORK/.lock"
flock 9

# --- step 1: Debian packages (a no-op when installed) ----------------------------
# gcc-TRIPLET pulls in binutils-TRIPLET; the kernel headers come as their own
# -cross package; dpkg-dev has dpkg-source; file names what was built.
"$TOP/scripts/apt-need.sh" "gcc-${TRIPLET//_/-}" "linux-libc-dev-$DEB_ARCH-cross" dpkg-dev make file
command -v "$CROSS_CC" >/dev/null || die "$CROSS_CC not found after installing gcc-${TRIPLET//_/-}"
[ -d "$KERNEL_HEADERS/asm" ] || die "no $KERNEL_HEADERS/asm (linux-libc-dev-$DEB_ARCH-cross)"

# --- step 2: musl, from Debian's source package -----------------------------------
# musl's configure default optimisation: -Os, with its string, malloc and
# internal parts at -O3 (what upstream recommends). -fstack-protector-strong
# as in Debian's own musl build (hardening=+all); musl's configure keeps it off
# where it must be off. -ffunction-sections/-fdata-sections are musl's defaults.
MUSL_CFLAGS="-fstack-protector-strong${BOARD_CFLAGS:+ $BOARD_CFLAGS}"

musl_stamp_want() {       # line 1 "musl VERSION", line 2 the build configuration
    printf 'musl %s\ntarget=%s CC=%s %s CFLAGS=%s\n' "$1" "$TRIPLET" "$CROSS_CC" \
        "$("$CROSS_CC" -dumpfullversion)" "$MUSL_CFLAGS"
}
musl_stamp_ok() {
    local f="$SYSROOT/.stamp-musl"
    [ -f "$f" ] || return 1
    if [ -z "$MUSL_VERSION" ]; then     # unpinned: any version, same configuration
        [ "$(head -n 1 "$f" | cut -d' ' -f1)" = musl ] &&
            [ "$(tail -n +2 "$f")" = "$(musl_stamp_want any | tail -n +2)" ]
        return
    fi
    [ "$(cat "$f")" = "$(musl_stamp_want "$MUSL_VERSION")" ]
}

MUSL_BUILT=0
if ! musl_stamp_ok; then
    rm -f "$SYSROOT/.stamp-musl" "$SYSROOT/.stamp-cross"
    : >"$LOGDIR/musl.log"
    fetch musl "$MUSL_VERSION"
    musl_version="$FETCHED_VERSION"
    src="$WORK/build/musl"
    say "building musl $musl_version for $TRIPLET ($CROSS_CC${BOARD_CFLAGS:+ $BOARD_CFLAGS})"
    start=$SECONDS
    # --disable-shared: static only, so nothing is installed outside the sysroot
    # (no ld-musl-*.so.1 in /lib). --disable-wrapper: our wrapper is written below.
    run "$LOGDIR/musl.log" in_dir "$src" ./configure --target="$TRIPLET" \
        CROSS_COMPILE="$TRIPLET-" --prefix="$SYSROOT" --disable-shared --disable-wrapper \
        CFLAGS="$MUSL_CFLAGS"
    run "$LOGDIR/musl.log" make -C "$src" -j"$JOBS"
    run "$LOGDIR/musl.log" make -C "$src" install
    musl_stamp_want "$musl_version" >"$SYSROOT/.stamp-musl"
    MUSL_BUILT=1
    say "built musl in $((SECONDS - start))s (log: ${LOGDIR#"$TOP"/}/musl.log)"
fi

# --- step 3 (soft-float boards): a soft-float libgcc -----------------------------------
# GCC's soft-fp routines (libgcc/soft-fp, the list of libgcc/config/t-softfp
# for single and double precision, as t-softfp-sfdf selects for 32-bit MIPS)
# from the Debian source of the cross compiler's major version, with the
# arch's sfp-machine.h. Debian's libgcc.a adds the integer helpers (64-bit
# division, shifts, atomics): every member that touches an FPU register is
# dropped, and the rest lose their FP ABI tags (.gnu.attributes,
# .MIPS.abiflags), which only say "hard float" because libgcc was compiled so.
# A program that needs a dropped member (complex or fixed-point arithmetic)
# fails to link instead of trapping on a CPU without FPU.
SOFTFP_FUNCS=()
for m in sf df; do
    for f in add sub mul div; do SOFTFP_FUNCS+=("$f${m}3"); done
    for f in neg eq ge le unord; do SOFTFP_FUNCS+=("$f${m}2"); done
    for i in si di; do SOFTFP_FUNCS+=("fix$m$i" "fixuns$m$i" "float$i$m" "floatun$i$m"); done
done
SOFTFP_FUNCS+=(extendsfdf2 truncdfsf2)
SOFTFP_CFLAGS="-Os -fPIE -ffunction-sections -fdata-sections${BOARD_CFLAGS:+ $BOARD_CFLAGS}"
GCC_LIB_DIR="$(dirname "$("$CROSS_CC" -print-libgcc-file-name)")"

libgcc_stamp_want() {     # line 1 "gcc-N VERSION", line 2 the build configuration
    printf 'gcc-%s %s\nsoft-fp=%s CC=%s %s CFLAGS=%s\n' "$("$CROSS_CC" -dumpversion)" "$1" \
        "$LIBGCC_SOFT_FP" "$CROSS_CC" "$("$CROSS_CC" -dumpfullversion)" "$SOFTFP_CFLAGS"
}
libgcc_stamp_ok() {
    local f="$SYSROOT/.stamp-libgcc"
    [ -f "$f" ] && [ "$(tail -n +2 "$f")" = "$(libgcc_stamp_want any | tail -n +2)" ]
}
uses_fpu() {              # uses_fpu OBJECT: any FPU register or FPU branch in its code?
    # grep -c reads everything: with -q, objdump would die of SIGPIPE and
    # pipefail would turn a match into "no".
    [ "$("$TRIPLET-objdump" -d "$1" |
        grep -cE '\$f[0-9]|[[:space:]](cfc1|ctc1|bc1[tf]l?|bc1eqz|bc1nez)[[:space:]]')" -gt 0 ]
}
build_softfp_libgcc() {
    local pkg ver gsrc tarball o f log="$LOGDIR/libgcc.log" out="$WORK/libgcc"
    pkg="gcc-$("$CROSS_CC" -dumpversion)"
    : >"$log"
    fetch "$pkg" ""
    ver="$FETCHED_VERSION"
    # Debian's gcc orig tarball nests the upstream one: take the three parts.
    tarball="$(ls "$WORK/build/$pkg"/gcc-*.tar.* 2>/dev/null | head -n 1)"
    [ -n "$tarball" ] || die "no upstream gcc tarball in $pkg $ver"
    rm -rf "$out" && mkdir -p "$out/obj" "$out/debian-libgcc"
    run "$log" tar -xf "$tarball" -C "$out" --strip-components=1 --wildcards \
        '*/libgcc/soft-fp/*' "*/libgcc/config/$LIBGCC_SOFT_FP/sfp-machine.h" '*/include/longlong.h'
    # 90 MB, no longer needed (dpkg-source also left a copy of the orig tarball)
    rm -rf "${WORK:?}/build/$pkg" "$WORK/build/${pkg}_"* "$WORK/src/${pkg}_"*
    gsrc="$out/libgcc"
    say "building soft-float libgcc for $TRIPLET from $pkg $ver"
    for f in "${SOFTFP_FUNCS[@]}"; do
        # shellcheck disable=SC2086  # SOFTFP_CFLAGS is a list of flags
        run "$log" "$CROSS_CC" $SOFTFP_CFLAGS -I"$gsrc/config/$LIBGCC_SOFT_FP" -I"$gsrc/soft-fp" \
            -I"$out/include" -c "$gsrc/soft-fp/$f.c" -o "$out/obj/soft-fp-$f.o"
    done
    (cd "$out/debian-libgcc" && "$TRIPLET-ar" x "$GCC_LIB_DIR/libgcc.a")
    for o in "$out/debian-libgcc"/*.o; do
        if uses_fpu "$o"; then rm -f "$o"; fi
    done
    for f in crtbeginS.o crtendS.o; do
        cp "$GCC_LIB_DIR/$f" "$out/obj/$f"
        ! uses_fpu "$out/obj/$f" || die "$GCC_LIB_DIR/$f uses the FPU"
    done
    rm -f "$out/obj/libgcc.a"
    run "$log" "$TRIPLET-ar" rcs "$out/obj/libgcc.a" "$out"/obj/soft-fp-*.o "$out/debian-libgcc"/*.o
    for f in libgcc.a crtbeginS.o crtendS.o; do
        run "$log" "$TRIPLET-objcopy" -R .gnu.attributes -R .MIPS.abiflags "$out/obj/$f" "$SYSROOT/lib/$f"
    done
    libgcc_stamp_want "$ver" >"$SYSROOT/.stamp-libgcc"
    say "built soft-float libgcc: $(ls "$out"/obj/soft-fp-*.o | wc -l) soft-fp routines, $(ls "$out"/debian-libgcc/*.o | wc -l) integer members of Debian's libgcc.a"
}
LIBGCC_BUILT=0
if [ -n "$LIBGCC_SOFT_FP" ] && ! libgcc_stamp_ok; then
    rm -f "$SYSROOT/.stamp-libgcc" "$SYSROOT/.stamp-cross"
    build_softfp_libgcc
    LIBGCC_BUILT=1
elif [ -z "$LIBGCC_SOFT_FP" ] && [ -f "$SYSROOT/.stamp-libgcc" ]; then
    # The board became hard-float: the cross gcc's own libgcc applies again.
    rm -f "$SYSROOT/.stamp-libgcc" "$SYSROOT/lib/libgcc.a" "$SYSROOT/lib/crtbeginS.o" \
        "$SYSROOT/lib/crtendS.o"
    rm -rf "$WORK/libgcc"
fi

# --- step 4: the compiler wrapper ---------------------------------------------------
# Like musl's musl-gcc.specs (tools/musl-gcc.specs.sh; Debian installs it as
# /usr/lib/x86_64-linux-musl/musl-gcc.specs): no system headers (-nostdinc,
# musl's and then gcc's own include dir), no system libraries (-nostdlib, -L
# the sysroot; libgcc from the cross gcc). Unlike it there is no dynamic
# linker: the wrapper always passes -static, so the driver never adds its
# default -pie (Debian's gcc is --enable-default-pie) nor an interpreter, and
# the specs decide: with -pie or -static-pie a static PIE (rcrt1.o relocates
# itself; the top Makefile links it by hand with -nostartfiles), otherwise a
# plain static executable (crt1.o). crtbeginS.o/crtendS.o work for both.
# Soft-float boards add -B SYSROOT/lib/: libgcc.a and crtbeginS.o/crtendS.o
# (also as -print-file-name, which the top Makefile uses) are found there first.
# Soft-float: only the sysroot's libgcc.a (Debian's libgcc_eh.a is hard-float).
if [ -n "$LIBGCC_SOFT_FP" ]; then LIBGCC_SPEC='libgcc.a%s'; else LIBGCC_SPEC='libgcc.a%s %:if-exists(libgcc_eh.a%s)'; fi
specs_text() {
    cat <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $SYSROOT/include -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $SYSROOT/include -isystem include%s

*link_libgcc:
-L$SYSROOT/lib -L .%s

*libgcc:
$LIBGCC_SPEC

*startfile:
%{static-pie|pie:$SYSROOT/lib/rcrt1.o;:$SYSROOT/lib/crt1.o} $SYSROOT/lib/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s $SYSROOT/lib/crtn.o

*link:
%{shared:%eshared libraries: this musl toolchain is static only} -nostdlib -static %{static-pie|pie:-pie --no-dynamic-linker -z text} %{rdynamic:-export-dynamic}

EOF
}
wrapper_text() {
    cat <<EOF
#!/bin/sh
# $TRIPLET-musl-gcc: Debian's $CROSS_CC with static musl, board $BOARD.
# Sysroot: $SYSROOT
# Written by scripts/cross.sh; changes are overwritten.
exec $CROSS_CC${BOARD_CFLAGS:+ $BOARD_CFLAGS}${LIBGCC_SOFT_FP:+ -B$SYSROOT/lib/} -static "\$@" -specs "$SPECS"
EOF
}
# install_if_changed FILE MODE: stdin becomes FILE when its content differs.
# Returns 0 when FILE was (re)written.
install_if_changed() {
    local tmp="$1.tmp"
    cat >"$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
    chmod "$2" "$tmp"
    mv -f "$tmp" "$1"
}
NEW_COMPILER=0
specs_text | install_if_changed "$SPECS" 0644 && NEW_COMPILER=1
wrapper_text | install_if_changed "$WRAPPER" 0755 && NEW_COMPILER=1
if [ "$NEW_COMPILER" = 1 ]; then
    # deps.sh's stamps name the compiler by path only: with other flags behind
    # the same path, its libraries are stale.
    say "compiler ${WRAPPER#"$TOP"/} (re)written; dependencies will be rebuilt"
    rm -f "$SYSROOT/.stamp-bearssl" "$SYSROOT/.stamp-tinycdb" "$SYSROOT/.stamp-libseccomp" "$SYSROOT/.stamp-jsmn"
fi

if [ "$NEW_COMPILER" = 1 ] || [ "$MUSL_BUILT" = 1 ] || [ "$LIBGCC_BUILT" = 1 ]; then
    # The toolchain must link a static program and a static PIE before the
    # dependencies are configured with it.
    t="$WORK/smoke"
    mkdir -p "$t"
    printf '#include <stdio.h>\nint main(void) { return printf("ok\\n") != 3; }\n' >"$t/hello.c"
    run "$LOGDIR/smoke.log" "$WRAPPER" -Os -o "$t/hello" "$t/hello.c"
    run "$LOGDIR/smoke.log" "$WRAPPER" -Os -fPIE -pie -o "$t/hello-pie" "$t/hello.c"
    if [ -n "$LIBGCC_SOFT_FP" ]; then
        for f in "$t/hello" "$t/hello-pie"; do
            case "$("$TRIPLET-readelf" -A "$f")" in
                *'FP ABI: Soft float'*) ;;
                *) die "$f is not soft-float" ;;
            esac
            ! uses_fpu "$f" || die "$f uses the FPU"
        done
    fi
    say "toolchain ok: $(file -b "$t/hello" | cut -d, -f1-2), static and static-pie"
fi

# --- step 5: BearSSL, TinyCDB, libseccomp, jsmn and the kernel headers ----------------
CC="$WRAPPER" AR="$TRIPLET-ar" RANLIB="$TRIPLET-ranlib" HOST_TRIPLET="$TRIPLET" \
    KERNEL_HEADERS_DIR="$KERNEL_HEADERS" KERNEL_HEADERS_ARCH_DIR="$KERNEL_HEADERS" \
    KERNEL_HEADERS_PKG="linux-libc-dev-$DEB_ARCH-cross" \
    "$TOP/scripts/deps.sh" --sysroot "$SYSROOT" --work "$B/deps" | sed 's/^/  /'

# --- done: what make waits for ---------------------------------------------------------
{
    printf 'board %s: %s%s\n' "$BOARD" "$CROSS_CC" "${BOARD_CFLAGS:+ $BOARD_CFLAGS}"
    head -qn1 "$SYSROOT/.stamp-musl" "$SYSROOT/.stamp-kernel-headers" "$SYSROOT/.stamp-bearssl" \
        "$SYSROOT/.stamp-tinycdb" "$SYSROOT/.stamp-libseccomp" "$SYSROOT/.stamp-jsmn"
} >"$SYSROOT/.stamp-cross.tmp"
mv -f "$SYSROOT/.stamp-cross.tmp" "$SYSROOT/.stamp-cross"
say "ready: ${WRAPPER#"$TOP"/} with ${SYSROOT#"$TOP"/}"
