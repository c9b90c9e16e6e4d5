# tests/board/fake/openwrt/rules.mk - a stand-in for OpenWrt's rules.mk, with
# only what board/openwrt/subgate/Makefile uses, so that tests/board/recipes_test.sh
# can run the recipe's own prepare, configure, compile and install steps on
# Debian (musl-gcc as the "target" compiler). TOPDIR is a scratch directory
# holding .config (the menu choices), dl/ and staging_dir/.
# The test links this file and include/ into TOPDIR and passes TOPDIR,
# TARGET_CC, TARGET_CFLAGS, ARCH and IPKG_ROOT.
-include $(TOPDIR)/.config
INCLUDE_DIR:=$(TOPDIR)/include
BUILD_DIR:=$(TOPDIR)/build_dir
DL_DIR:=$(TOPDIR)/dl
STAGING_DIR:=$(TOPDIR)/staging_dir/target
TARGET_AR:=ar
TARGET_RANLIB:=ranlib
HOSTCC:=gcc
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
LN:=ln -sf
CP:=cp -fpR
TAR:=tar
