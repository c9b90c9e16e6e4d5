# tests/board/lib.sh - assertions shared by the board package tests (sourced
# by tests/board/*_test.sh, under BusyBox ash or bash). Each check prints
# "ok" or "FAIL" with the difference and returns 0, so that a `set -e` test
# goes on; `finish NAME` prints the count and sets the exit status.

TESTS_PASSED=0
TESTS_FAILED=0

pass() {
	TESTS_PASSED=$((TESTS_PASSED + 1))
	echo "  ok    $1"
}

fail() {
	TESTS_FAILED=$((TESTS_FAILED + 1))
	echo "  FAIL  $1"
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1"
		printf '        expected: %s\n        actual:   %s\n' "$2" "$3"
	fi
	return 0
}

# check_file WHAT EXPECTED-FILE ACTUAL-FILE: byte for byte, with a diff.
check_file() {
	if [ ! -f "$3" ]; then
		fail "$1 ($3 missing)"
	elif cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1"
		# (diff's status would end a `set -o pipefail -e` test here)
		diff -u "$2" "$3" | sed 's/^/        /' || true
	fi
	return 0
}

# check_has WHAT FILE TEXT: FILE has a line containing TEXT (fixed string).
check_has() {
	if [ -f "$2" ] && grep -qF -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1"
		echo "        no line with: $3"
		if [ -f "$2" ]; then
			sed 's/^/        | /' "$2"
		fi
	fi
	return 0
}

# check_lacks WHAT FILE TEXT
check_lacks() {
	if [ -f "$2" ] && grep -qF -- "$3" "$2"; then
		fail "$1"
		grep -F -- "$3" "$2" | sed 's/^/        | /'
	else
		pass "$1"
	fi
	return 0
}

# check_status WHAT EXPECTED-CODE ACTUAL-CODE
check_status() {
	check_eq "$1" "exit $2" "exit $3"
}

finish() {
	echo "$1: $TESTS_PASSED passed, $TESTS_FAILED failed"
	[ "$TESTS_FAILED" -eq 0 ]
}
