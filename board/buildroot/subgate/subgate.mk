################################################################################
#
# subgate
#
################################################################################
# board/buildroot/subgate/subgate.mk - the Buildroot recipe of subgate: the
# static binary built with Buildroot's toolchain through board/pkg-build.sh
# (BearSSL and TinyCDB from subgate-deps), the `subgate` account, a BusyBox
# init script and an example configuration. How to use it: ../README.md.

# The content of the repository's VERSION file.
SUBGATE_VERSION = 0.1.0
# The subgate tree this external tree lives in (board/buildroot -> ../..).
SUBGATE_SITE = $(realpath $(BR2_EXTERNAL_SUBGATE_PATH)/../..)
SUBGATE_SITE_METHOD = local
# A checkout's own build outputs are not part of the source.
SUBGATE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude /build --exclude /.config --exclude /.config.old
# The project has no LICENSE file yet; fill these in when it has one.
SUBGATE_LICENSE = unknown
SUBGATE_DEPENDENCIES = subgate-deps $(if $(BR2_PACKAGE_SUBGATE_SECCOMP_RUNTIME),libseccomp)

SUBGATE_OUT = $(@D)/build/buildroot
SUBGATE_DEFCONFIG = $(call qstrip,$(BR2_PACKAGE_SUBGATE_DEFCONFIG))
SUBGATE_DEFCONFIG_FILE = $(if $(filter /%,$(SUBGATE_DEFCONFIG)),,$(@D)/)$(SUBGATE_DEFCONFIG)

# The chosen defconfig with test hooks off, and the filters built at start
# when the menu says so (the lines this sets are dropped from it first).
SUBGATE_KCONFIG_DROP = CONFIG_TEST_HOOKS \
	$(if $(BR2_PACKAGE_SUBGATE_SECCOMP_RUNTIME),CONFIG_SANDBOX_SECCOMP_BUILD_TIME)
define SUBGATE_CONFIGURE_CMDS
	mkdir -p $(SUBGATE_OUT)
	{ \
		sed $(foreach s,$(SUBGATE_KCONFIG_DROP),-e '/$(s)[ =]/d') $(SUBGATE_DEFCONFIG_FILE) && \
		$(foreach s,$(SUBGATE_KCONFIG_DROP),echo '# $(s) is not set' &&) true; \
	} > $(SUBGATE_OUT)/.config
	OUT=$(SUBGATE_OUT) $(@D)/board/pkg-build.sh olddefconfig
endef

# TARGET_CC is Buildroot's toolchain wrapper, which adds the CPU flags. The
# build machine's libseccomp compiles the build-time filters: named directly,
# because pkg-config in TARGET_MAKE_ENV answers for the target.
define SUBGATE_BUILD_CMDS
	$(TARGET_MAKE_ENV) OUT=$(SUBGATE_OUT) \
		TARGET_CC="$(TARGET_CC)" TARGET_AR="$(TARGET_AR)" TARGET_RANLIB="$(TARGET_RANLIB)" \
		TARGET_ARCH="$(ARCH)" \
		BEARSSL_SRC=$(SUBGATE_DEPS_DIR) \
		TINYCDB_SRC=$(SUBGATE_DEPS_DIR)/tinycdb-$(SUBGATE_DEPS_TINYCDB_VERSION) \
		TARGET_SECCOMP_LIB=$(STAGING_DIR)/usr/lib/libseccomp.a \
		TARGET_SECCOMP_INCLUDE=$(STAGING_DIR)/usr/include \
		HOSTCC="$(HOSTCC)" HOST_SECCOMP_CFLAGS= HOST_SECCOMP_LIBS=-lseccomp \
		JOBS=$(PARALLEL_JOBS) BUILD_INFO="Buildroot $(ARCH), $(notdir $(TARGET_CC)) static-pie" \
		$(@D)/board/pkg-build.sh build
endef

define SUBGATE_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(SUBGATE_OUT)/subgate $(TARGET_DIR)/usr/sbin/subgate
	$(INSTALL) -D -m 0644 $(@D)/conf/subgate.conf $(TARGET_DIR)/etc/subgate/subgate.conf.example
	if grep -qx 'CONFIG_TOOL_SENDMAIL=y' $(SUBGATE_OUT)/.config; then \
		ln -sf subgate $(TARGET_DIR)/usr/sbin/sendmail && \
		mkdir -p $(TARGET_DIR)/usr/bin && ln -sf ../sbin/subgate $(TARGET_DIR)/usr/bin/mailq; \
	fi
endef

define SUBGATE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(SUBGATE_PKGDIR)/S50subgate $(TARGET_DIR)/etc/init.d/S50subgate
endef

# user uid group gid password home shell groups comment (Buildroot's makeusers)
define SUBGATE_USERS
	subgate -1 subgate -1 * - - - subgate mail gateway
endef

$(eval $(generic-package))
