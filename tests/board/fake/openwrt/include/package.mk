# tests/board/fake/openwrt/include/package.mk - a stand-in for OpenWrt's
# package.mk: Download only checks that the file is in DL_DIR (the test puts
# it there; hashes are OpenWrt's business), BuildPackage makes the targets
# prepare, configure, compile and install (into IPKG_ROOT, with the
# conffiles list written beside it), each running the recipe's own steps.
PKG_BUILD_DIR?=$(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_JOBS:=$(if $(PKG_BUILD_PARALLEL),-j2,-j1)

define Download
$(eval $(Download/$(1)))
FAKE_DOWNLOADS+=$(FILE)
endef

define BuildPackage
.PHONY: prepare configure compile install
prepare:
	@for f in $$(FAKE_DOWNLOADS); do [ -f $$(DL_DIR)/$$$$f ] || { echo "missing download $$$$f" >&2; exit 1; }; done
	rm -rf $$(PKG_BUILD_DIR)
	$$(Build/Prepare)
configure: prepare
	$$(Build/Configure)
compile: configure
	$$(Build/Compile)
install: compile
	rm -rf $$(IPKG_ROOT)
	mkdir -p $$(IPKG_ROOT)
	$$(call Package/$(1)/install,$$(IPKG_ROOT))
	$$(file >$$(IPKG_ROOT).conffiles,$$(Package/$(1)/conffiles))
endef
