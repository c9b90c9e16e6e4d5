#!/usr/bin/env bash
# scripts/test-configs.sh - builds subgate in every shipped configuration
# (conf/*_defconfig, conf/defconfig, board/*/defconfig, allnoconfig,
# allyesconfig), each in build/cfg/NAME, and runs `subgate version` on each.
# A configuration that does not build fails the test suite. allyesconfig also
# runs the unit tests, so the code only it compiles in (TLS_CPU_CRYPTO's x86
# ciphers, TLS 1.0 suites) does real handshakes; the unit tests assume the
# features defconfig has, so smaller configurations only build. allyesconfig
# takes the limits in scripts/allyes.config at their maximum (a recipient
# table of 1000 must still fit every on-disk envelope, say).
set -euo pipefail
cd "$(dirname "$0")/.."

configs=("defconfig=--defconfig=conf/defconfig" "allnoconfig=--allnoconfig" "allyesconfig=--allyesconfig")
for f in conf/*_defconfig board/*/defconfig; do
	[ -f "$f" ] || continue
	case "$f" in
	board/*) name="board-$(basename "$(dirname "$f")")" ;;
	*) name="$(basename "$f")" ;;
	esac
	configs+=("$name=--defconfig=$f")
done

# defconfig with the seccomp filters compiled at start (libseccomp linked in):
# the one backend no shipped configuration chooses.
mkdir -p build/cfg
{ cat conf/defconfig; echo '# CONFIG_SANDBOX_SECCOMP_BUILD_TIME is not set'; } >build/cfg/seccomp-at-start.defconfig
configs+=("seccomp-at-start=--defconfig=build/cfg/seccomp-at-start.defconfig")

failed=0
for entry in "${configs[@]}"; do
	name="${entry%%=*}"
	arg="${entry#*=}"
	dir="build/cfg/$name"
	mkdir -p "$dir"
	allconfig=()
	if [ "$name" = allyesconfig ]; then
		allconfig=(KCONFIG_ALLCONFIG=scripts/allyes.config)
	fi
	if ! env "${allconfig[@]}" KCONFIG_CONFIG="$dir/.config" kconfig-conf -s "$arg" Kconfig >"$dir/build.log" 2>&1 ||
		! make --no-print-directory B="$dir" KCONFIG_CONFIG="$dir/.config" "$dir/subgate" >>"$dir/build.log" 2>&1 ||
		! "$dir/subgate" version >/dev/null 2>>"$dir/build.log"; then
		tail -n 30 "$dir/build.log"
		echo "config $name: FAILED (log: $dir/build.log)"
		failed=$((failed + 1))
		continue
	fi
	printf '  CONFIG  %-22s ok, %7d bytes\n' "$name" "$(stat -c %s "$dir/subgate")"
	if [ "$name" = allyesconfig ]; then
		if ! make --no-print-directory B="$dir" KCONFIG_CONFIG="$dir/.config" "$dir/unit-tests" >>"$dir/build.log" 2>&1 ||
			! (cd "$dir" && ./unit-tests) >>"$dir/build.log" 2>&1; then
			tail -n 30 "$dir/build.log"
			echo "config $name: unit tests FAILED (log: $dir/build.log)"
			failed=$((failed + 1))
			continue
		fi
		printf '  UNIT    %-22s %s\n' "$name" "$(grep '^unit:' "$dir/build.log" | tail -n 1)"
	fi
done
exit $((failed > 0))
