# tests/board/stubs/uci.sh - OpenWrt's `uci` command for the tests on Debian,
# only `uci [-q] [-c DIR] get CONFIG.SECTION.OPTION`: prints the option of a
# named section, or fails (exit 1; "uci: Entry not found" unless -q) as uci
# does. Reads DIR/CONFIG (default /etc/config) through the config_load stub
# beside it. Run as `busybox ash .../uci.sh ARGS` (the test puts a `uci`
# wrapper on PATH); a call it does not know fails loudly.
# shellcheck shell=dash
quiet=""
dir=/etc/config
while [ $# -gt 0 ]; do
	case "$1" in
	-q) quiet=1; shift ;;
	-c) dir="$2"; shift 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 2 ] || [ "$1" != get ]; then
	echo "uci stub: only 'get CONFIG.SECTION.OPTION', not: $*" >&2
	exit 2
fi
# shellcheck source=tests/board/stubs/functions.sh
. "${0%/*}/functions.sh"
config="${2%%.*}"
rest="${2#*.}"
section="${rest%%.*}"
option="${rest#*.}"
value=""
if UCI_CONFIG_DIR="$dir" config_load "$config"; then
	value="$(config_get "$section" "$option")"
fi
if [ -z "$value" ]; then
	[ -n "$quiet" ] || echo "uci: Entry not found" >&2
	exit 1
fi
printf '%s\n' "$value"
