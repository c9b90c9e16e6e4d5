################################################################################
#
# subgate-deps
#
################################################################################
# board/buildroot/subgate-deps/subgate-deps.mk - the upstream sources of the
# two libraries subgate links statically: BearSSL (the package's own tarball)
# and TinyCDB (an extra download, unpacked beside it). Nothing is built or
# installed here: board/pkg-build.sh, run by subgate.mk, compiles both
# position-independent for the static PIE. A package of its own because
# subgate's source is local, and Buildroot downloads nothing for local
# packages; Buildroot has no TinyCDB package, and its BearSSL package builds
# a static library only with BR2_STATIC_LIBS or BR2_SHARED_STATIC_LIBS.
# This also puts both licenses in `make legal-info`.

SUBGATE_DEPS_VERSION = 0.6
SUBGATE_DEPS_SOURCE = bearssl-$(SUBGATE_DEPS_VERSION).tar.gz
SUBGATE_DEPS_SITE = https://bearssl.org
SUBGATE_DEPS_TINYCDB_VERSION = 0.78
SUBGATE_DEPS_EXTRA_DOWNLOADS = \
	https://www.corpit.ru/mjt/tinycdb/tinycdb-$(SUBGATE_DEPS_TINYCDB_VERSION).tar.gz
SUBGATE_DEPS_LICENSE = MIT (BearSSL), Public Domain (TinyCDB)
SUBGATE_DEPS_LICENSE_FILES = LICENSE.txt
SUBGATE_DEPS_INSTALL_TARGET = NO

define SUBGATE_DEPS_EXTRACT_TINYCDB
	tar -xzf $(SUBGATE_DEPS_DL_DIR)/tinycdb-$(SUBGATE_DEPS_TINYCDB_VERSION).tar.gz -C $(@D)
endef
SUBGATE_DEPS_POST_EXTRACT_HOOKS += SUBGATE_DEPS_EXTRACT_TINYCDB

$(eval $(generic-package))
