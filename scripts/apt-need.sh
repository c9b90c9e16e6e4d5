#!/usr/bin/env bash
# scripts/apt-need.sh PACKAGE... - installs the Debian packages that are not
# installed yet (one `apt-get update` first, only when something is missing).
# Used by the Makefile and .ci/run so that a bare Debian machine needs no
# manual steps. Does nothing, quickly, when everything is present.
set -euo pipefail
missing=()
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "apt-need: missing packages: ${missing[*]} (run as root, or install them)" >&2
	exit 1
fi
echo "apt-need: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix (a test smarthost) must never configure or start the system's own mail.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
