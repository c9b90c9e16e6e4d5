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
if ! "$bin" user list -c "$dir/subgate.conf" 2>/dev/null | grep -q "^$user"; then
	echo "demo: adding user $user (password: $password)"
	printf '%s\n' "$password" | "$bin" user add "$user" --stdin -c "$dir/subgate.conf"
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
demo: accepted mail is committed to $dir/spool/queue/ (relaying to a smarthost comes next).
demo: the demo runs unjailed (--no-jail) until the sandbox milestone. Ctrl-C stops it.

EOT
exec "$bin" serve -f --no-jail -c "$dir/subgate.conf"
