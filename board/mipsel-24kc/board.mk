# board/mipsel-24kc/board.mk - MIPS32 24Kc, little endian: the OpenWrt ramips
# (MT7620/MT7628/RT5350) and ath79 (QCA9531/9563, AR9344) class of router SoC.
# Read by board/board.mk and scripts/cross.sh; plain `VAR := value` only.

# Debian's cross compiler (gcc-mipsel-linux-gnu) and its Debian architecture
# (linux-libc-dev-mipsel-cross has the kernel UAPI headers).
CROSS_TRIPLET := mipsel-linux-gnu
DEB_ARCH := mipsel

# -march=24kc: MIPS32r2 instructions scheduled for the 24K pipeline (implies
# -mtune=24kc). -msoft-float: the 24Kc has no FPU, and OpenWrt's kernels for
# these targets are built without the FPU emulator (KERNEL_MIPS_FPU_EMULATOR),
# so one FPU instruction is a SIGILL. A hard-float musl executes one in every
# printf (its prologue saves $f20). This is OpenWrt's own ABI on these targets.
# Debian's libgcc is hard-float only: LIBGCC_SOFT_FP makes scripts/cross.sh
# build libgcc's soft-fp routines (from Debian's gcc source, config/mips).
BOARD_CFLAGS := -march=24kc -msoft-float
LIBGCC_SOFT_FP := mips

# The emulated CPU is the real one: QEMU's 24Kc model has no FPU, so the tests
# under QEMU prove that no FPU instruction is executed.
QEMU := qemu-mipsel-static -cpu 24Kc

# libseccomp's name for the architecture (scmp_arch_resolve_name).
SECCOMP_ARCH := mipsel
