# tests/board/stubs/procd.sh - OpenWrt's procd shell API (/lib/functions/procd.sh)
# as the tests need it: every call is appended to $PROCD_LOG, one line per
# call, the function name then each argument in brackets, so that the test can
# compare the exact command line an init script hands to procd.

_procd_record() {
	local fn="$1" line
	shift
	line="$fn"
	for a in "$@"; do
		line="$line [$a]"
	done
	printf '%s\n' "$line" >>"${PROCD_LOG:?PROCD_LOG must name the record file}"
}

procd_open_service() { _procd_record procd_open_service "$@"; }
procd_close_service() {
	if type service_triggers >/dev/null 2>&1; then
		service_triggers
	fi
	_procd_record procd_close_service "$@"
}
procd_open_instance() { _procd_record procd_open_instance "$@"; }
procd_set_param() { _procd_record procd_set_param "$@"; }
procd_close_instance() { _procd_record procd_close_instance "$@"; }
procd_add_reload_trigger() { _procd_record procd_add_reload_trigger "$@"; }
