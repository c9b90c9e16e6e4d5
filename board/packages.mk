# board/packages.mk - `make test-board-pkgs`: the OpenWrt and Buildroot
# packages (board/openwrt, board/buildroot, board/pkg-build.sh), tested by
# tests/board/run.sh against the host binary. Included by the top Makefile.

.PHONY: test-board-pkgs
test-board-pkgs: $(B)/subgate
	$(Q)SUBGATE_BIN=$(abspath $(B)/subgate) tests/board/run.sh
