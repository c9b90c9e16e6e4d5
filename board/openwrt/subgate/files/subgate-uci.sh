# subgate-uci.sh, installed as /usr/lib/subgate/subgate-uci.sh - turns /etc/config/subgate (UCI) into
# subgate's runtime configuration. Sourced by /etc/init.d/subgate, after
# /lib/functions.sh (config_load, config_get, config_list_foreach ...), which
# rc.common loads. POSIX sh for BusyBox ash.
#
# Owns the generated directory (the init script's /var/etc/subgate):
#   subgate.conf       every UCI option of section 'main' that has a subgate
#                      key, as `key = value`, lists as repeated lines
#   smarthost.secret   when UCI has smarthost_user and smarthost_password:
#                      one line user:password, mode 0600 (subgate's
#                      smarthost_auth format); removed when it has not
# UCI values are copied as they are: `subgate check` judges them (the init
# script runs it on the result). Only what the translation itself cannot
# express is refused here: line breaks in a value, half a credential, a ':' in
# the smarthost user name.
#
# Functions:
#   subgate_uci_enabled                 true unless option enabled is 0
#   subgate_uci_to_conf OUTFILE         writes OUTFILE (and the secret beside it)
#   subgate_check PROG CONF             `subgate check`, its complaints logged
#   subgate_effective PROG CONF KEY     KEY's effective value (`subgate config`)
#   subgate_uci_user_hints PROG CONF    logs UCI users missing from users.cdb
#   subgate_log LEVEL MESSAGE           syslog (daemon facility) and stderr
# shellcheck shell=dash

SUBGATE_UCI_SECTION=main

subgate_log() {
	logger -t subgate -p "daemon.$1" "$2"
	echo "subgate: $2" >&2
}

subgate_uci_enabled() {
	local enabled
	config_load subgate
	config_get_bool enabled "$SUBGATE_UCI_SECTION" enabled 1
	[ "$enabled" = 1 ]
}

# subgate_uci_value_ok OPTION VALUE: a value must stay on its line.
subgate_uci_value_ok() {
	case "$2" in
	*"
"* | *"$(printf '\r')"*)
		subgate_log err "/etc/config/subgate: option $1 holds a line break"
		SUBGATE_UCI_FAILED=1
		return 1
		;;
	esac
	return 0
}

# subgate_uci_line VALUE KEY: one `key = value` line (config_list_foreach's callback).
subgate_uci_line() {
	subgate_uci_value_ok "$2" "$1" || return 0
	printf '%-16s = %s\n' "$2" "$1"
}

# subgate_uci_opt KEY...: the lines of the options that are set.
subgate_uci_opt() {
	local key val
	for key in "$@"; do
		config_get val "$SUBGATE_UCI_SECTION" "$key"
		[ -n "$val" ] && subgate_uci_line "$val" "$key"
	done
	return 0
}

# subgate_uci_list KEY...: one line per list entry.
subgate_uci_list() {
	local key
	for key in "$@"; do
		config_list_foreach "$SUBGATE_UCI_SECTION" "$key" subgate_uci_line "$key"
	done
}

# subgate_uci_secret DIR: writes DIR/smarthost.secret from smarthost_user and
# smarthost_password and prints its smarthost_auth line, or passes option
# smarthost_auth (a file the operator keeps) through.
subgate_uci_secret() {
	local dir="$1" user pass file
	config_get user "$SUBGATE_UCI_SECTION" smarthost_user
	config_get pass "$SUBGATE_UCI_SECTION" smarthost_password
	config_get file "$SUBGATE_UCI_SECTION" smarthost_auth
	if [ -z "$user" ] && [ -z "$pass" ]; then
		rm -f "$dir/smarthost.secret"
		subgate_uci_opt smarthost_auth
		return 0
	fi
	if [ -z "$user" ] || [ -z "$pass" ]; then
		subgate_log err "/etc/config/subgate: smarthost_user and smarthost_password go together"
		SUBGATE_UCI_FAILED=1
		return 0
	fi
	if [ -n "$file" ]; then
		subgate_log err "/etc/config/subgate: set smarthost_auth (a file) or smarthost_user and smarthost_password, not both"
		SUBGATE_UCI_FAILED=1
		return 0
	fi
	case "$user" in
	*:*)
		subgate_log err "/etc/config/subgate: smarthost_user must not contain ':'"
		SUBGATE_UCI_FAILED=1
		return 0
		;;
	esac
	subgate_uci_value_ok smarthost_user "$user" && subgate_uci_value_ok smarthost_password "$pass" || return 0
	if ! (umask 077 && printf '%s:%s\n' "$user" "$pass" >"$dir/smarthost.secret.new") ||
		! mv -f "$dir/smarthost.secret.new" "$dir/smarthost.secret"; then
		subgate_log err "cannot write $dir/smarthost.secret"
		SUBGATE_UCI_FAILED=1
		return 0
	fi
	subgate_uci_line "$dir/smarthost.secret" smarthost_auth
}

subgate_uci_to_conf() {
	local out="$1" dir="${1%/*}"
	SUBGATE_UCI_FAILED=
	config_load subgate || {
		subgate_log err "cannot read /etc/config/subgate"
		return 1
	}
	mkdir -p "$dir" || return 1
	{
		echo "# Generated from /etc/config/subgate by /etc/init.d/subgate: edit that (uci), not this."
		subgate_uci_opt hostname helo_name
		subgate_uci_list listen
		subgate_uci_opt tls_cert tls_key users spool run_as pid_file
		subgate_uci_opt max_message_size spool_max_messages spool_max_size spool_min_free \
			queue_lifetime retry_min retry_max command_timeout data_timeout \
			max_sessions max_sessions_per_addr relay_timeout
		subgate_uci_opt smarthost smarthost_tls smarthost_ca smarthost_pin
		subgate_uci_secret "$dir"
		subgate_uci_list alias masquerade
	} >"$out.new" || SUBGATE_UCI_FAILED=1
	if [ -n "$SUBGATE_UCI_FAILED" ]; then
		rm -f "$out.new"
		return 1
	fi
	mv -f "$out.new" "$out"
}

subgate_check() {
	local prog="$1" conf="$2" out line
	if out="$("$prog" check -c "$conf" 2>&1)"; then
		return 0
	fi
	printf '%s\n' "$out" | while IFS= read -r line; do
		[ -n "$line" ] && subgate_log err "$line"
	done
	subgate_log err "not starting: $conf (generated from /etc/config/subgate) does not pass \`subgate check\`"
	return 1
}

subgate_effective() {
	"$1" config -c "$2" 2>/dev/null | sed -n "s/^$3 *= //p"
}

# A UCI `config user` section names an account and its senders; the password
# is never in UCI, so the account itself is made with `subgate user add`.
subgate_uci_user_hint() {
	local section="$1" name senders
	config_get name "$section" name "$section"
	case "
$SUBGATE_DB_USERS
" in
	*"
$name
"*) return 0 ;;
	esac
	senders="$(config_list_foreach "$section" sender subgate_uci_sender_arg)"
	subgate_log warning "user '$name' is in /etc/config/subgate but not in $SUBGATE_DB: add it with: subgate user add $name$senders"
}

subgate_uci_sender_arg() { printf ' --sender %s' "$1"; }

subgate_uci_user_hints() {
	SUBGATE_DB="$(subgate_effective "$1" "$2" users)"
	SUBGATE_DB_USERS="$("$1" user list --db "$SUBGATE_DB" 2>/dev/null | cut -f1)"
	config_foreach subgate_uci_user_hint user
}
