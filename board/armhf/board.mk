# board/armhf/board.mk - ARMv7-A with VFPv3-D16, hard-float EABI (Cortex-A7/A9
# routers and NAS boxes: OpenWrt ipq40xx, mvebu, sunxi). Debian's armhf baseline.
# Read by board/board.mk and scripts/cross.sh; plain `VAR := value` only.

# Debian's cross compiler (gcc-arm-linux-gnueabihf) and its Debian architecture
# (linux-libc-dev-armhf-cross has the kernel UAPI headers).
CROSS_TRIPLET := arm-linux-gnueabihf
DEB_ARCH := armhf

# Debian's armhf defaults, spelled out so the board does not depend on them:
# VFPv3-D16 is the FPU every ARMv7-A core with an FPU has; Thumb-2 is smaller.
BOARD_CFLAGS := -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb

QEMU := qemu-arm-static -cpu cortex-a7

# libseccomp's name for the architecture (scmp_arch_resolve_name).
SECCOMP_ARCH := arm
