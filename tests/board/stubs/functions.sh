# tests/board/stubs/functions.sh - the part of OpenWrt's /lib/functions.sh
# that subgate's init script uses, for the tests on Debian (BusyBox ash).
# Written for these tests after the documented behaviour, not copied:
#   config_load PKG        reads $UCI_CONFIG_DIR/PKG (default /etc/config) in
#                          /etc/config syntax, which is shell: the file is
#                          sourced with `config`, `option` and `list` defined
#                          (OpenWrt evaluates `uci export` output the same way)
#   config_get VAR SECTION OPTION [DEFAULT]   (or config_get SECTION OPTION: prints)
#   config_get_bool VAR SECTION OPTION [DEFAULT]
#   config_list_foreach SECTION OPTION FUNCTION [ARGS...]
#   config_foreach FUNCTION [TYPE] [ARGS...]
# Storage: CONFIG_<section>_<option>; lists also as _ITEM<n> and _LENGTH;
# CONFIG_SECTIONS lists the sections, anonymous ones named cfg<n>.

config() {
	CONFIG_NUM_SECTIONS=$((CONFIG_NUM_SECTIONS + 1))
	CONFIG_SECTION="${2:-cfg$CONFIG_NUM_SECTIONS}"
	CONFIG_SECTIONS="${CONFIG_SECTIONS:+$CONFIG_SECTIONS }$CONFIG_SECTION"
	_config_set "$CONFIG_SECTION" TYPE "$1"
}

option() {
	local name="$1"
	shift
	_config_set "$CONFIG_SECTION" "$name" "$*"
}

list() {
	local name="$1" len
	shift
	eval "len=\${CONFIG_${CONFIG_SECTION}_${name}_LENGTH:-0}"
	len=$((len + 1))
	_config_set "$CONFIG_SECTION" "${name}_ITEM$len" "$*"
	_config_set "$CONFIG_SECTION" "${name}_LENGTH" "$len"
}

package() { :; }

_config_set() {
	case "$1$2" in
	*[!A-Za-z0-9_]*) return 0 ;; # not a shell name: ignored, as OpenWrt does
	esac
	eval "CONFIG_$1_$2=\$3"
}

config_load() {
	local file="${UCI_CONFIG_DIR:-/etc/config}/$1" v
	# a fresh state, as a new `uci export` gives (lists would otherwise grow)
	for v in $(set | sed -n 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1/p'); do
		unset "$v"
	done
	CONFIG_SECTIONS=
	CONFIG_NUM_SECTIONS=0
	CONFIG_SECTION=
	[ -f "$file" ] || return 1
	# shellcheck source=/dev/null
	. "$file"
}

config_get() {
	local _value
	if [ -z "${3:-}" ]; then
		eval "printf '%s\n' \"\${CONFIG_$1_$2:-}\""
		return 0
	fi
	case "$2$3" in
	*[!A-Za-z0-9_]*) eval "$1=\${4:-}"; return 0 ;;
	esac
	eval "_value=\${CONFIG_$2_$3:-\${4:-}}"
	eval "$1=\$_value"
}

config_get_bool() {
	local _b
	config_get _b "$2" "$3" "${4:-}"
	case "$_b" in
	1 | on | true | yes | enabled) _b=1 ;;
	0 | off | false | no | disabled) _b=0 ;;
	*) _b="${4:-}" ;;
	esac
	eval "$1=\$_b"
}

config_list_foreach() {
	local section="$1" name="$2" fn="$3" len i=1 val
	shift 3
	eval "len=\${CONFIG_${section}_${name}_LENGTH:-0}"
	while [ "$i" -le "$len" ]; do
		eval "val=\${CONFIG_${section}_${name}_ITEM$i}"
		"$fn" "$val" "$@"
		i=$((i + 1))
	done
}

config_foreach() {
	local fn="$1" type="${2:-}" section t
	if [ $# -ge 2 ]; then shift 2; else shift; fi
	for section in $CONFIG_SECTIONS; do
		eval "t=\${CONFIG_${section}_TYPE:-}"
		[ -z "$type" ] || [ "$t" = "$type" ] || continue
		"$fn" "$section" "$@"
	done
}
