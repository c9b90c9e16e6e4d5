# board/sizes.mk - `make sizes`: the stripped size of subgate for the host and
# every board, in its defconfig and in conf/minimal_defconfig, as one Markdown
# table headed by the commit and date (scripts/sizes.sh says how it builds them).
# SIZES_BOARDS= picks the boards (the table's rows), e.g. `make sizes SIZES_BOARDS=host`
# (a board's first build fetches its cross toolchain). Include it from the top
# Makefile after its first target.

SIZES_BOARDS ?= host $(patsubst board/%/board.mk,%,$(wildcard board/*/board.mk))

.PHONY: sizes
sizes: host-tools
	$(Q)MAKE='$(MAKE)' scripts/sizes.sh $(SIZES_BOARDS)
