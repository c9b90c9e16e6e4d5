################################################################################
#
# subgate
#
################################################################################
# board/buildroot/subgate/subgate.mk - the Buildroot recipe of subgate: the
# static binary built with Buildroot's toolchain through board/pkg-build.sh
# (BearSSL and TinyCDB from subgate-deps), installed with the tree `make
# install` makes (scripts/install.sh), the shared SysV/BusyBox init script
# as S50subgate, and the `subgate` account. How to use it: ../README.md.

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

# The chosen defconfig with test hooks off, OAuth off (it needs jsmn, which
# this recipe does not fetch yet), and the filters built at start when the
# menu says so (the lines this sets are dropped from it first).
SUBGATE_KCONFIG_DROP = CONFIG_TEST_HOOKS CONFIG_RELAY_OAUTH \
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

# The account the daemon runs as (run_as in the installed subgate.conf, and
# subgate's default), and the group that reads users.cdb.
SUBGATE_RUN_AS = subgate

# What `make install` installs, by the same script (scripts/install.sh):
# /usr/sbin/subgate; with CONFIG_TOOL_SENDMAIL the sendmail, /usr/lib/sendmail
# and mailq links; the first-start hook; /etc/subgate with the device's
# subgate.conf (kept when the target already has one), the smarthost secret's
# model and an empty users.cdb; the spool; the man pages. Not its init script
# (INIT=none): Buildroot installs that only for SysV/BusyBox init, below.
# The script's device table goes to $(SUBGATE_OUT)/subgate.devtable.
# SENDMAIL is y or n, never empty: the script takes an empty one for y.
define SUBGATE_INSTALL_TARGET_CMDS
	BIN=$(SUBGATE_OUT)/subgate DESTDIR=$(TARGET_DIR) PREFIX=/usr INIT=none \
		MANIFEST=$(SUBGATE_OUT)/subgate.devtable RUN_AS_GROUP=$(SUBGATE_RUN_AS) \
		SENDMAIL=$$(grep -qx 'CONFIG_TOOL_SENDMAIL=y' $(SUBGATE_OUT)/.config && echo y || echo n) \
		$(@D)/scripts/install.sh
endef

# The shared script (rootfs/etc/init.d/subgate, what make install puts in
# /etc/init.d/subgate; PREFIX=/usr changes nothing in it), under the name
# Buildroot's rcS runs. /etc/default/subgate may set its variables.
define SUBGATE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/rootfs/etc/init.d/subgate $(TARGET_DIR)/etc/init.d/S50subgate
endef

# user uid group gid password home shell groups comment (Buildroot's makeusers)
define SUBGATE_USERS
	$(SUBGATE_RUN_AS) -1 $(SUBGATE_RUN_AS) -1 * - - - subgate mail gateway
endef

# Buildroot makes the whole target root's, then applies this table (makedevs
# format): the one path of subgate.devtable that is not root:root.
define SUBGATE_PERMISSIONS
	/etc/subgate/users.cdb f 0640 root $(SUBGATE_RUN_AS) - - - - -
endef

$(eval $(generic-package))
