# board/aarch64/board.mk - ARMv8-A 64-bit (Cortex-A53/A55/A72 routers and NAS
# boxes: OpenWrt mediatek/filogic, bcm27xx, rockchip).
# Read by board/board.mk and scripts/cross.sh; plain `VAR := value` only.

# Debian's cross compiler (gcc-aarch64-linux-gnu) and its Debian architecture
# (linux-libc-dev-arm64-cross has the kernel UAPI headers).
CROSS_TRIPLET := aarch64-linux-gnu
DEB_ARCH := arm64

# Debian's baseline (armv8-a) runs on every 64-bit ARM core; nothing to add.
BOARD_CFLAGS :=

QEMU := qemu-aarch64-static -cpu cortex-a53

# libseccomp's name for the architecture (scmp_arch_resolve_name).
SECCOMP_ARCH := aarch64
