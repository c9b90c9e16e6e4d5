#!/usr/bin/env bash
# scripts/apt-need.sh PACKAGE... - installs the Debian packages that are not
# installed yet (one `apt-get update` first, only when something is missing).
# Used by the Makefile and .ci/run so that a bare Debian machine needs no
# manual steps. Does nothing, quickly, when everything is present; waits for
# the dpkg lock when another apt run holds it.
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
# Another apt or dpkg run (an unattended upgrade, a parallel make) holds the
# locks for a while: wait for it, up to 10 minutes, instead of failing.
lock_wait=(-o DPkg::Lock::Timeout=600)
apt-get "${lock_wait[@]}" update -qq
apt-get "${lock_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
