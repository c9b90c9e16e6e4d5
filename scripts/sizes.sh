#!/usr/bin/env bash
# scripts/sizes.sh - `make sizes`: the stripped size of subgate for the host
# and each board, in its defconfig and in conf/minimal_defconfig, printed as
# one Markdown table headed by the commit and date it was measured on (that
# output is what docs/benchmarks.md shows; nobody copies numbers by hand).
#
# Usage: scripts/sizes.sh [BOARD...]   (run by `make sizes`; SIZES_BOARDS= there)
#   BOARD is `host` or a board/NAME/ with a board.mk; default: host and every board.
#   A board's first build fetches its cross toolchain (scripts/cross.sh).
#
# Each cell is built in build/BOARD/cfg-CONFIG/ (the host in build/host/),
# incrementally: a .config is replaced only when its defconfig gives another
# one, so a second run rebuilds nothing. Build output goes to
# build/BOARD/cfg-CONFIG/build.log, progress to stderr, the table to stdout.
# "defconfig" is conf/defconfig for the host and board/BOARD/defconfig for a
# board; "minimal" is conf/minimal_defconfig everywhere.
# Two numbers per configuration: the file (what `ls -l` and the flash see
# before compression) and text+data (`size`): on aarch64 and MIPS the linker
# pads the file so the RELRO end meets a 64 KiB page, which can hide a
# difference of 10 KiB or more between two files.
set -euo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}

boards=("$@")
if [ ${#boards[@]} -eq 0 ]; then
	boards=(host)
	for f in board/*/board.mk; do
		boards+=("$(basename "$(dirname "$f")")")
	done
fi

commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# one configuration of one board: builds it, prints "FILE TEXTDATA CPU"
measure() {
	local b=$1 c=$2 board=$1 src dir log info
	[ "$b" = host ] && board=
	case $c/$b in
	minimal/*) src=conf/minimal_defconfig ;;
	defconfig/host) src=conf/defconfig ;;
	*) src=board/$b/defconfig ;;
	esac
	dir=build/$b/cfg-$c
	log=$dir/build.log
	mkdir -p "$dir"
	echo "  SIZE    $dir ($src)" >&2
	if ! {
		KCONFIG_CONFIG=$dir/.config.new kconfig-conf -s --defconfig="$src" Kconfig &&
			{ cmp -s "$dir/.config.new" "$dir/.config" && rm -f "$dir/.config.new" ||
				mv -f "$dir/.config.new" "$dir/.config"; } &&
			$MAKE --no-print-directory BOARD="$board" B="$dir" KCONFIG_CONFIG="$dir/.config" "$dir/subgate"
	} >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		echo "sizes: $dir failed (log: $log)" >&2
		return 1
	fi
	info=$(file -b "$dir/subgate")
	case "$info" in
	*", stripped"*) ;;
	*)
		echo "sizes: $dir/subgate is not stripped" >&2
		return 1
		;;
	esac
	printf '%s %s %s\n' "$(stat -c %s "$dir/subgate")" \
		"$(size "$dir/subgate" | awk 'NR == 2 { print $1 + $2 }')" \
		"$(cut -d, -f2 <<<"$info" | sed 's/^ //')"
}

rows=()
for b in "${boards[@]}"; do
	label=$b
	[ "$b" = host ] && label="host ($(uname -m))"
	files= code= cpu=
	for c in defconfig minimal; do
		read -r file textdata cpu_c < <(measure "$b" "$c") || exit 1
		[ -n "$file" ] || exit 1
		cpu=$cpu_c
		files="$files $(commas "$file") |"
		code="$code $(commas "$textdata") |"
	done
	rows+=("| $label | $cpu |$files$code")
done

commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
printf 'Stripped static binary in bytes, measured by `make sizes` on commit `%s`, %s:\n\n' \
	"$commit" "$(date -u +%Y-%m-%d)"
printf '%s\n' "| board | CPU | defconfig, file | minimal, file | defconfig, text+data | minimal, text+data |" \
	"|---|---|---:|---:|---:|---:|" "${rows[@]}"
