# tests/board/stubs/start-stop-daemon.sh - BusyBox's start-stop-daemon as a
# shell function behind an alias (an applet would run before anything on
# PATH, and ash allows no '-' in function names): appends its arguments to
# $SSD_LOG, each in brackets, and returns $SSD_STATUS (default 0). Source it
# before the script under test, whose text the alias then rewrites.
ssd_stub() {
	local line=start-stop-daemon a
	for a in "$@"; do
		line="$line [$a]"
	done
	printf '%s\n' "$line" >>"${SSD_LOG:?SSD_LOG must name the record file}"
	return "${SSD_STATUS:-0}"
}
alias start-stop-daemon=ssd_stub
