#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - builds the libFuzzer targets in tests/fuzz/
# with clang (-fsanitize=fuzzer,address,undefined) into build/fuzz/ and runs
# each for SECONDS (default 10) on a copy of its seed corpus in
# build/fuzz/corpus/ (the committed corpus is never written). Prints one
# summary line per target; exits non-zero if a build fails or a target
# crashes, leaks, times out or breaks an invariant (the input is kept as
# build/fuzz/TARGET-crash-*, reproduce with build/fuzz/TARGET_fuzz FILE).
# FUZZ_OUT=DIR builds and runs in DIR instead (a long run beside make test);
# FUZZ_TARGETS="a b" runs only those targets.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-10}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 64
	;;
esac
out=${FUZZ_OUT:-build/fuzz}
# Each target and the sources it links (BearSSL from Debian's libbearssl-dev).
targets=${FUZZ_TARGETS:-"smtp_parse smtp_data smtp_reply smtp_sasl sendmail_msg base64 userdb_record spool_env envelope scram conf pem tls_cert ctl_parse relay_conv http_resp oauth_token"}
sources() {
	case $1 in
	smtp_parse) echo gateway/smtp_parse.c gateway/addr.c ;;
	smtp_data) echo gateway/smtp_data.c ;;
	smtp_reply) echo gateway/smtp_reply.c ;;
	smtp_sasl) echo gateway/smtp_sasl.c gateway/lib/base64.c ;;
	sendmail_msg) echo gateway/sendmail_msg.c ;;
	base64) echo gateway/lib/base64.c ;;
	userdb_record) echo gateway/userdb_record.c gateway/userdb_fake.c gateway/addr.c gateway/lib/base64.c \
		gateway/lib/secret.c -lbearssl ;;
	spool_env) echo gateway/spool_env.c ;;
	envelope) echo gateway/envelope.c ;;
	scram) echo gateway/scram.c gateway/pbkdf2.c gateway/lib/base64.c gateway/lib/secret.c -lbearssl ;;
	conf) echo gateway/conf.c gateway/conf_table.c gateway/conf_type.c gateway/conf_value.c gateway/conf_rules.c \
		gateway/addr.c gateway/lib/base64.c gateway/lib/fdmap.c gateway/lib/fs.c gateway/lib/log.c ;;
	pem) echo gateway/tls_pem.c gateway/lib/fdmap.c gateway/lib/secret.c -lbearssl ;;
	tls_cert) echo gateway/tls_cert.c gateway/lib/der.c -lbearssl ;;
	ctl_parse) echo gateway/queue_ctl_cmd.c gateway/queue_ctl.c gateway/queue_ctl_list.c gateway/queue_ctl_status.c gateway/queue_status.c gateway/queue_sched.c \
		gateway/queue_bounce.c gateway/bounce.c gateway/spool.c gateway/spool_state.c gateway/spool_env.c \
		gateway/proto.c gateway/lib/json.c gateway/lib/log.c gateway/lib/fs.c gateway/lib/timefmt.c \
		gateway/lib/ipc.c gateway/lib/secret.c gateway/lib/clock.c gateway/lib/wbuf.c gateway/lib/dirscan.c -lbearssl ;;
	relay_conv) echo gateway/relay_smtp.c gateway/relay_oauth.c gateway/smtp_sasl.c gateway/conn.c gateway/tls_pump.c gateway/tls_client.c gateway/tls_anchors.c \
		gateway/tls_pin.c gateway/tls_cert.c gateway/lib/der.c \
		gateway/tls_engine.c gateway/tls_pem.c gateway/tls_server.c gateway/listener.c gateway/smtp_reply.c \
		gateway/lib/log.c gateway/lib/secret.c gateway/lib/base64.c gateway/lib/fdmap.c gateway/lib/clock.c \
		gateway/lib/wbuf.c -lbearssl -lpthread ;;
	http_resp) echo gateway/http_resp.c gateway/lib/secret.c ;;
	oauth_token) echo gateway/oauth_token.c gateway/oauth_json.c gateway/lib/json.c gateway/lib/secret.c ;;
	esac
}
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11 -Wall -Wextra -Werror
	-Werror=undef -Wvla -Wshadow -Wstrict-prototypes -Wmissing-prototypes -D_GNU_SOURCE -Ibuild/include -Igateway -Igateway/lib"

command -v clang >/dev/null 2>&1 || scripts/apt-need.sh clang
[ -e /usr/include/bearssl.h ] || scripts/apt-need.sh libbearssl-dev
[ -e /usr/include/jsmn.h ] || scripts/apt-need.sh libjsmn-dev
mkdir -p "$out"
for t in $targets; do
	# shellcheck disable=SC2046,SC2086 # cflags and the source list are word lists
	clang $cflags tests/fuzz/"$t"_fuzz.c $(sources "$t") -o "$out/${t}_fuzz"
done

fail=0
for t in $targets; do
	corpus=$out/corpus/$t
	log=$out/$t.log
	mkdir -p "$corpus"
	cp tests/fuzz/corpus/"$t"/* "$corpus"/
	rm -f "$out/$t"-crash-* "$out/$t"-leak-* "$out/$t"-timeout-* "$out/$t"-oom-*
	status=ok
	TIMEFORMAT='%U %S'
	if ! { time "$out/${t}_fuzz" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/$t-" "$corpus" >"$log" 2>&1; } 2>"$log.cpu"; then
		status="FAILED (see $log)"
		fail=1
	fi
	cpu=$(awk '{ printf "%.0f", $1 + $2 }' "$log.cpu")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	files=$(find "$corpus" -type f | wc -l)
	artifacts=$(find "$out" -maxdepth 1 -name "$t-*" -type f | tr '\n' ' ')
	echo "fuzz $t: $status, ${runs:-?} runs in ${secs}s (${cpu}s CPU, ${rate:-?}/s), ${cov:-cov: ?}, corpus $files files${artifacts:+, artifacts: $artifacts}"
done
exit $fail
