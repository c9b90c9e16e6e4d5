# tests/board/stubs/logger.sh - `logger -t TAG -p PRIO MESSAGE` as a shell
# function that appends "PRIO TAG: MESSAGE" to $LOGGER_LOG. A function,
# because Debian's busybox-static runs its own applets before anything on
# PATH (a router's BusyBox finds /usr/bin/logger, its own applet, by PATH).
logger() {
	local tag=logger prio=user.notice
	while [ $# -gt 0 ]; do
		case "$1" in
		-t) tag="$2"; shift 2 ;;
		-p) prio="$2"; shift 2 ;;
		-s) shift ;;
		--) shift; break ;;
		-*) echo "logger stub: unknown option $1" >&2; return 2 ;;
		*) break ;;
		esac
	done
	printf '%s %s: %s\n' "$prio" "$tag" "$*" >>"${LOGGER_LOG:?LOGGER_LOG must name the record file}"
}
