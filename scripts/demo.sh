#!/usr/bin/env bash
# scripts/demo.sh BINARY DIR - sets up the demo gateway in DIR (build/demo):
# configuration from conf/demo.conf, a self-signed EC certificate, and a user
# demo@example.com with the password "demo-password", then validates it all
# with `subgate check` and starts the gateway in the foreground on 127.0.0.1.
# Idempotent: existing demo files are kept.
set -euo pipefail
bin="$1"
dir="$2"
user="demo@example.com"
password="demo-password"

mkdir -p "$dir"
cp conf/demo.conf "$dir/subgate.conf"
if [ ! -f "$dir/cert.pem" ] || [ ! -f "$dir/key.pem" ]; then
	echo "demo: creating a self-signed certificate for gateway.demo.test"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
		-subj "/CN=gateway.demo.test" -addext "subjectAltName=DNS:gateway.demo.test,DNS:localhost,IP:127.0.0.1" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
	chmod 600 "$dir/key.pem"
fi
if [ ! -f "$dir/smarthost-cert.pem" ]; then
	echo "demo: creating the demo smarthost's certificate (DNS:localhost) and credentials"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost" -keyout "$dir/smarthost-key.pem" -out "$dir/smarthost-cert.pem" 2>/dev/null
	(umask 077 && printf 'relay@demo.test:%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >"$dir/smarthost.secret")
fi
if ! "$bin" user list -c "$dir/subgate.conf" 2>/dev/null | grep -q "^$user"; then
	echo "demo: adding user $user (password: $password)"
	printf '%s\n' "$password" | "$bin" user add "$user" --stdin -c "$dir/subgate.conf"
fi

if [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$dir" # the jailed auth process (run_as) reads users.cdb in this directory
	chgrp "$(id -gn nobody)" "$dir/users.cdb"
fi

echo
"$bin" version | head -n 3
echo
"$bin" check -c "$dir/subgate.conf"
cat <<EOT

demo: starting the gateway in the foreground on 127.0.0.1:5587 (STARTTLS) and :5465 (TLS).
demo: in another terminal, send a mail with (the demo certificate is self-signed, hence -k):

  printf 'Subject: hello from subgate\r\n\r\nIt works.\r\n' | curl -sk --ssl-reqd smtp://127.0.0.1:5587 --mail-from $user --mail-rcpt you@example.org --user $user:$password -T -

demo: or: swaks --server 127.0.0.1:5587 --tls --auth PLAIN --auth-user $user --auth-password $password --from $user --to you@example.org
demo: accepted mail is committed to $dir/spool/ and relayed over STARTTLS + AUTH to the
demo: smarthost on 127.0.0.1:5525, which saves it in $dir/smarthost/ and says so below.
demo: as root the gateway jails itself (chroot, account nobody, seccomp); otherwise it runs
demo: with --no-jail and says so. Ctrl-C stops it.

EOT
/usr/bin/python3 scripts/demo-smarthost.py "$dir" 5525 &
smarthost=$!
trap 'kill $smarthost 2>/dev/null' EXIT
sleep 1
jail=()
[ "$(id -u)" -eq 0 ] || jail=(--no-jail)
"$bin" serve -f "${jail[@]}" -c "$dir/subgate.conf"
