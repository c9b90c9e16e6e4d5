#!/usr/bin/env bash
# scripts/clean.sh DIR... - `make clean`: removes everything the build made
# under each DIR (build/ and B) except dependency sysroots (DIR/sysroot and
# DIR/BOARD/sysroot, with their stamps: deps.sh takes minutes to rebuild them).
# `make distclean` removes those too.
set -euo pipefail
for top in "$@"; do
	[ -d "$top" ] || continue
	for entry in "$top"/* "$top"/.[!.]*; do
		[ -e "$entry" ] || continue
		if [ "$(basename "$entry")" = sysroot ]; then
			continue
		fi
		if [ -d "$entry/sysroot" ]; then
			"$0" "$entry"
		else
			rm -rf "$entry"
		fi
	done
done
