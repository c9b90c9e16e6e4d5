# board/board.mk - `make BOARD=NAME`: cross builds for board/NAME/.
# Included by the top Makefile when BOARD is set, before its own variables.
#
#   make BOARD=mipsel-24kc                   build/mipsel-24kc/subgate
#   make BOARD=mipsel-24kc test-qemu         subgate version + unit tests under QEMU
#   make BOARD=mipsel-24kc menuconfig        edits build/mipsel-24kc/.config
#
# Everything lands in build/NAME/: the toolchain and sysroot that
# scripts/cross.sh makes (bin/, sysroot/, toolchain/, deps/), and make's usual
# outputs (.config from board/NAME/defconfig, include/, obj/, subgate,
# unit-tests). B= and KCONFIG_CONFIG= on the command line still win, so
# several configurations of one board build side by side (board/sizes.mk).
#
# The top Makefile sets CC, MUSL_LIB, DEPS_STAMP and BUILD_INFO with := in its
# flags section, after this file is read; `override` keeps the board's values
# without touching those lines.

ifeq ($(wildcard board/$(BOARD)/board.mk),)
$(error BOARD=$(BOARD): there is no board/$(BOARD)/board.mk; boards: $(patsubst board/%/board.mk,%,$(wildcard board/*/board.mk)))
endif
ifeq ($(FLAVOR),asan)
$(error BOARD=$(BOARD): boards are static musl builds; FLAVOR=asan is for the host)
endif
ifneq ($(filter deps,$(MAKECMDGOALS)),)
$(error BOARD=$(BOARD): the board's dependencies come from scripts/cross.sh; run make BOARD=$(BOARD) sysroot)
endif

# CROSS_TRIPLET, DEB_ARCH, BOARD_CFLAGS, LIBGCC_SOFT_FP, QEMU, SECCOMP_ARCH
include board/$(BOARD)/board.mk

B := build/$(BOARD)
KCONFIG_CONFIG := $(B)/.config
override SYSROOT := build/$(BOARD)/sysroot

# The wrapper made by scripts/cross.sh carries BOARD_CFLAGS, so the top
# Makefile's CFLAGS stay as they are. MUSL_LIB has the sysroot's rcrt1.o,
# crti.o and crtn.o; `$(CC) -print-file-name=crtbeginS.o` finds the cross
# gcc's (or, for soft-float boards, the sysroot's) crtbeginS.o/crtendS.o.
override CC := build/$(BOARD)/bin/$(CROSS_TRIPLET)-musl-gcc
override MUSL_LIB := $(SYSROOT)/lib
override DEPS_STAMP := $(SYSROOT)/.stamp-cross
override BUILD_INFO = $(notdir $(CC)) static-pie; $(shell paste -sd, $(SYSROOT)/.stamp-cross 2>/dev/null | sed 's/,/, /g')

# This file names targets before the top Makefile's first one (all).
.DEFAULT_GOAL := all

.PHONY: sysroot test-qemu board-defconfig
sysroot: $(SYSROOT)/.stamp-cross
$(SYSROOT)/.stamp-cross: board/$(BOARD)/board.mk scripts/cross.sh scripts/deps.sh scripts/debsrc.sh
	$(Q)scripts/cross.sh --board $(BOARD)

# build_info.h reads the stamp: it must exist first.
$(B)/include/build_info.h: | $(SYSROOT)/.stamp-cross

# A missing .config starts from the board's defconfig (the top Makefile's rule
# would take conf/defconfig): seeded first, then that rule runs olddefconfig.
ifeq ($(wildcard $(KCONFIG_CONFIG)),)
$(KCONFIG_CONFIG): | board-defconfig
endif
board-defconfig:
	$(Q)scripts/apt-need.sh $(HOST_TOOLS)
	$(Q)mkdir -p $(dir $(KCONFIG_CONFIG))
	@echo "  CONFIG  $(KCONFIG_CONFIG) from board/$(BOARD)/defconfig"
	$(Q)kconfig-conf -s --defconfig=board/$(BOARD)/defconfig Kconfig

# The binary and the unit tests on the board's CPU, emulated by QEMU.
test-qemu: $(B)/subgate $(B)/unit-tests
	$(Q)scripts/apt-need.sh qemu-user-static
	$(Q)file -b $(B)/subgate
ifneq ($(LIBGCC_SOFT_FP),)
	$(Q)n=$$($(CROSS_TRIPLET)-objdump -d $(B)/subgate $(B)/unit-tests | grep -cE '\$$f[0-9]|[[:space:]](cfc1|ctc1)[[:space:]]'); \
		echo "soft-float: $$n FPU instructions"; [ "$$n" = 0 ]
endif
	$(Q)$(QEMU) $(B)/subgate version
	$(Q)$(QEMU) $(B)/unit-tests
