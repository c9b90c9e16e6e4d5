#!/usr/bin/env bash
# scripts/demo.sh BINARY DIR - sets up the demo gateway in DIR (build/demo):
# configuration from conf/demo.conf, a self-signed EC certificate, and a user
# demo@example.com with the password "demo-password", then validates it all
# with `subgate check`. Idempotent: existing demo files are kept.
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
if ! "$bin" user list -c "$dir/subgate.conf" 2>/dev/null | grep -q "^$user"; then
	echo "demo: adding user $user (password: $password)"
	printf '%s\n' "$password" | "$bin" user add "$user" --stdin -c "$dir/subgate.conf"
fi

echo
"$bin" version | head -n 3
echo
echo "\$ subgate check -c $dir/subgate.conf"
"$bin" check -c "$dir/subgate.conf"
echo "\$ subgate user list -c $dir/subgate.conf"
"$bin" user list -c "$dir/subgate.conf"
echo
echo "demo: configuration, certificate and user database are valid."
echo "demo: the SMTP server itself arrives with the submission-server milestone;"
echo "demo: until then \`make run\` stops here."
