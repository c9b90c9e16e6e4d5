# board/sizes.mk - `make sizes`: the stripped size of subgate for the host and
# every board, in its defconfig and in conf/minimal_defconfig, as a Markdown
# table. Include it from the top Makefile after its first target.
#
# Each cell is built in build/BOARD/cfg-CONFIG/ (the host in build/host/),
# incrementally: a .config is replaced only when its defconfig gives another
# one, so a second `make sizes` rebuilds nothing. Build output goes to
# build/BOARD/cfg-CONFIG/build.log, progress to stderr, the table to stdout.
# "defconfig" is conf/defconfig for the host and board/BOARD/defconfig for a
# board; "minimal" is conf/minimal_defconfig everywhere.
# Two numbers per configuration: the file (what `ls -l` and the flash see
# before compression) and text+data (`size`): on aarch64 and MIPS the linker
# pads the file so the RELRO end meets a 64 KiB page, which can hide a
# difference of 10 KiB or more between two files.

SIZES_BOARDS = host $(patsubst board/%/board.mk,%,$(wildcard board/*/board.mk))

.PHONY: sizes
sizes: host-tools
	$(Q)set -euo pipefail; \
	commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$$1"; }; \
	rows=(); \
	for b in $(SIZES_BOARDS); do \
		board=$$b; label=$$b; \
		if [ "$$b" = host ]; then board=; label="host ($$(uname -m))"; fi; \
		cells=; code=; \
		for c in defconfig minimal; do \
			case $$c/$$b in \
			minimal/*) src=conf/minimal_defconfig ;; \
			defconfig/host) src=conf/defconfig ;; \
			*) src=board/$$b/defconfig ;; \
			esac; \
			dir=build/$$b/cfg-$$c; log=$$dir/build.log; \
			mkdir -p $$dir; \
			echo "  SIZE    $$dir ($$src)" >&2; \
			if ! { KCONFIG_CONFIG=$$dir/.config.new kconfig-conf -s --defconfig=$$src Kconfig && \
				{ cmp -s $$dir/.config.new $$dir/.config && rm -f $$dir/.config.new || \
				  mv -f $$dir/.config.new $$dir/.config; } && \
				$(MAKE) --no-print-directory BOARD=$$board B=$$dir KCONFIG_CONFIG=$$dir/.config \
					$$dir/subgate; } >$$log 2>&1; then \
				tail -n 20 $$log >&2; echo "sizes: $$dir failed (log: $$log)" >&2; exit 1; \
			fi; \
			info=$$(file -b $$dir/subgate); \
			case "$$info" in *", stripped"*) ;; *) echo "sizes: $$dir/subgate is not stripped" >&2; exit 1 ;; esac; \
			cpu=$$(cut -d, -f2 <<<"$$info" | sed 's/^ //'); \
			cells="$$cells $$(commas "$$(stat -c %s $$dir/subgate)") |"; \
			code="$$code $$(commas "$$(size $$dir/subgate | awk 'NR == 2 { print $$1 + $$2 }')") |"; \
		done; \
		rows+=("| $$label | $$cpu |$$cells$$code"); \
	done; \
	printf '%s\n' "| board | CPU | defconfig, file | minimal, file | defconfig, text+data | minimal, text+data |" \
		"|---|---|---:|---:|---:|---:|" "$${rows[@]}"
