#!/bin/sh
# tests/board/run.sh - the board package tests (make test-board-pkgs):
#   openwrt_test.sh, buildroot_test.sh   the scripts that run on the device,
#                                        under BusyBox ash (Debian's busybox-static)
#   kconfig_check.py                     the OpenWrt and Buildroot menus (kconfiglib)
#   recipes_test.sh                      the recipes' own steps in stand-ins of
#                                        both build systems, building with musl-gcc
# SUBGATE_BIN names the binary the device scripts call (default build/subgate);
# the recipe test needs the BearSSL and TinyCDB trees a `make` leaves in build/deps.
set -eu
cd "$(dirname "$0")/../.."
scripts/apt-need.sh busybox-static openssl rsync file python3-kconfiglib libseccomp-dev musl-tools
SUBGATE_BIN="${SUBGATE_BIN:-$PWD/build/subgate}"
export SUBGATE_BIN

failed=""
busybox ash tests/board/openwrt_test.sh || failed="$failed openwrt"
busybox ash tests/board/buildroot_test.sh || failed="$failed buildroot"
/usr/bin/python3 tests/board/kconfig_check.py . || failed="$failed kconfig"
bash tests/board/recipes_test.sh || failed="$failed recipes"
if [ -n "$failed" ]; then
	echo "board packages: FAILED:$failed"
	exit 1
fi
echo "board packages: all passed"
