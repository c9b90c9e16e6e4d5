# subgate - top-level Makefile (a small Kbuild: Kconfig decides what is built).
#
#   make                 build/subgate, static musl (dependencies fetched and built first)
#   make run             demo: build, then check the demo configuration
#   make test            unit tests (musl and ASan/UBSan), config matrix, man pages, integration tests
#                        (also against a CONFIG_SANDBOX_SEPARATE_UIDS build: make test-separate-uids,
#                        and against the allocation trap: make test-alloc-trap)
#   make menuconfig      (also nconfig, oldconfig, olddefconfig, defconfig, savedefconfig,
#                         allnoconfig, allyesconfig, NAME_defconfig from conf/ or board/*/)
#   make format | lint   clang-format; cppcheck and clang-tidy
#   make install         DESTDIR=, PREFIX= (default /usr); make rootfs: the same into $(B)/rootfs
#
# Variables: B (output dir, default build), KCONFIG_CONFIG (default .config),
# FLAVOR=musl|asan (asan: glibc + sanitizers with Debian's -dev packages, tests only).

ifdef BOARD
include board/board.mk
endif
B ?= build
FLAVOR ?= musl
KCONFIG_CONFIG ?= .config
SYSROOT ?= build/sysroot
PYTHON := /usr/bin/python3
SHELL := /bin/bash
export KCONFIG_CONFIG

# Tools the build itself needs on a bare Debian machine (installed on demand).
HOST_TOOLS := make gcc musl-tools python3-kconfiglib kconfig-frontends-nox file
TEST_TOOLS := python3-pytest openssl swaks libnet-ssleay-perl curl msmtp s-nail python3-aiosmtpd python3-cryptography \
	postfix sasl2-bin libsasl2-modules libbearssl-dev libcdb-dev libseccomp-dev libjsmn-dev testssl.sh nmap hydra strace
LINT_TOOLS := clang-format cppcheck clang-tidy

ifeq ($(V),1)
Q :=
else
Q := @
endif

# --- configuration -----------------------------------------------------------
KCONFIG_FILES := Kconfig $(wildcard gateway/kconfig/Kconfig.*)
-include $(KCONFIG_CONFIG)

CONFIG_TARGETS := menuconfig nconfig oldconfig olddefconfig defconfig savedefconfig \
	allnoconfig allyesconfig
DEFCONFIG_SRC = $(firstword $(wildcard conf/$(1)_defconfig board/$(1)/defconfig))

# --- sources (obj-y style) -------------------------------------------------------
# Every file is listed once, under the symbol that builds it (Kbuild's obj-$(CONFIG_X));
# gateway/README.md says which process runs which prefix.
srcs-y :=
srcs-y += gateway/cmd_conf.c gateway/cmd_serve.c gateway/cmd_version.c
srcs-y += gateway/cli.c
srcs-y += gateway/listener.c gateway/master.c gateway/master_local.c gateway/master_reload.c \
	gateway/master_session.c
srcs-y += gateway/conn.c gateway/session.c gateway/session_auth.c gateway/session_data.c \
	gateway/session_verb.c
srcs-y += gateway/auth_fail.c gateway/auth_proc.c
srcs-y += gateway/bounce.c gateway/queue_bounce.c gateway/queue_ctl.c gateway/queue_ctl_cmd.c \
	gateway/queue_ctl_list.c gateway/queue_ctl_status.c gateway/queue_msg.c gateway/queue_proc.c \
	gateway/queue_sched.c gateway/queue_status.c
srcs-y += gateway/relay_proc.c gateway/relay_smtp.c
srcs-y += gateway/reload_proc.c gateway/reload_resolv.c
srcs-y += gateway/smtp_data.c gateway/smtp_parse.c gateway/smtp_received.c gateway/smtp_reply.c
srcs-y += gateway/tls_anchors.c gateway/tls_cert.c gateway/tls_client.c gateway/tls_engine.c \
	gateway/tls_key.c gateway/tls_pem.c gateway/tls_pin.c gateway/tls_pump.c gateway/tls_server.c
srcs-y += gateway/spool.c gateway/spool_env.c gateway/spool_state.c
srcs-y += gateway/conf.c gateway/conf_change.c gateway/conf_files.c gateway/conf_rules.c gateway/conf_table.c \
	gateway/conf_type.c gateway/conf_value.c
srcs-y += gateway/userdb.c gateway/userdb_edit.c gateway/userdb_fake.c gateway/userdb_record.c
srcs-y += gateway/addr.c gateway/envelope.c gateway/jail.c gateway/local_users.c gateway/pbkdf2.c \
	gateway/proto.c gateway/sandbox.c gateway/scram.c gateway/service.c
srcs-y += gateway/lib/base64.c gateway/lib/clock.c gateway/lib/der.c gateway/lib/dirscan.c gateway/lib/fdmap.c \
	gateway/lib/fs.c gateway/lib/ipc.c gateway/lib/json.c gateway/lib/log.c gateway/lib/secret.c \
	gateway/lib/timefmt.c gateway/lib/wbuf.c
srcs-$(CONFIG_RELAY_OAUTH) += gateway/http_req.c gateway/http_resp.c gateway/oauth_json.c gateway/oauth_token.c \
	gateway/relay_oauth.c gateway/smtp_sasl.c
srcs-$(CONFIG_TOOL_USER) += gateway/cmd_user.c gateway/cli_password.c
srcs-$(CONFIG_AUTH_CACHE) += gateway/auth_cache.c
srcs-$(CONFIG_TOOL_QUEUE) += gateway/cmd_queue.c
srcs-$(CONFIG_TOOL_CERT) += gateway/cmd_cert.c gateway/cert_self.c
srcs-$(CONFIG_TOOL_SENDMAIL) += gateway/cmd_sendmail.c gateway/sendmail_msg.c gateway/sendmail_smtp.c
# the control-socket client serves both `subgate queue` and mailq / sendmail -q
ifneq ($(CONFIG_TOOL_QUEUE)$(CONFIG_TOOL_SENDMAIL),)
srcs-y += gateway/cli_ctl.c
endif
srcs-$(CONFIG_TEST_HOOKS) += gateway/test_hook.c
srcs-$(CONFIG_TEST_ALLOC_TRAP) += gateway/alloc.c
# the seccomp backend: filters compiled at build time (the default: only their BPF
# is in the binary), at start (libseccomp and the policy linked in), or none
ifeq ($(CONFIG_SANDBOX_SECCOMP)$(CONFIG_SANDBOX_SECCOMP_BUILD_TIME),yy)
srcs-y += gateway/sandbox_builtin.c
else ifeq ($(CONFIG_SANDBOX_SECCOMP),y)
srcs-y += gateway/sandbox_libseccomp.c gateway/sandbox_policy.c
else
srcs-y += gateway/sandbox_none.c
endif
test-srcs := $(wildcard tests/unit/*.c)

OBJDIR := $(B)/obj
objs := $(srcs-y:%.c=$(OBJDIR)/%.o)
main-obj := $(OBJDIR)/gateway/main.o
test-objs := $(test-srcs:%.c=$(OBJDIR)/%.o)

# --- flags -------------------------------------------------------------------
WARN := -std=c11 -Wall -Wextra -Werror -Werror=undef -Wvla -Wformat=2 -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
CPPFLAGS := -D_GNU_SOURCE -I$(B)/include -Igateway -Igateway/lib
ifeq ($(FLAVOR),asan)
CC := gcc
CFLAGS := $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
LDFLAGS := -fsanitize=address,undefined
LIBS := -lseccomp -lcdb -lbearssl
LINK = $(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
DEPS_STAMP :=
BUILD_INFO := gcc/glibc with ASan+UBSan, Debian -dev packages (test build)
else
CC := musl-gcc
MUSL_LIB := /usr/lib/x86_64-linux-musl
# _FORTIFY_SOURCE: musl has no __*_chk functions, so it has no effect with this
# libc; it stays for toolchains that add fortify headers to musl.
CFLAGS := $(WARN) -Os -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -isystem $(SYSROOT)/include
LIBS := $(SYSROOT)/lib/libseccomp.a $(SYSROOT)/lib/libcdb.a $(SYSROOT)/lib/libbearssl.a
# Debian's musl-gcc specs ignore -static-pie, so the static PIE is linked by hand:
# musl's rcrt1.o self-relocates; no interpreter, full RELRO, stripped.
LDFLAGS := -fPIE -pie -nostartfiles -Wl,-static -Wl,--no-dynamic-linker -Wl,-z,text \
	-Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--gc-sections -s
LINK = $(CC) $(LDFLAGS) -o $@ $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o \
	$$($(CC) -print-file-name=crtbeginS.o) $^ $(LIBS) \
	$$($(CC) -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o
DEPS_STAMP := $(SYSROOT)/.stamp-bearssl $(SYSROOT)/.stamp-jsmn
# The allocation trap (gateway/alloc.c): every reference to the allocator, libc.a's too,
# goes to its __wrap_ functions; not stripped, so that addr2line names the trap's caller.
ifeq ($(CONFIG_TEST_ALLOC_TRAP),y)
LDFLAGS := $(filter-out -s,$(LDFLAGS)) \
	$(foreach f,malloc calloc realloc free aligned_alloc posix_memalign memalign,-Wl,--wrap=$(f))
endif
BUILD_INFO = musl-gcc static-pie; $(shell head -qn1 $(SYSROOT)/.stamp-bearssl \
	$(SYSROOT)/.stamp-tinycdb $(SYSROOT)/.stamp-libseccomp $(SYSROOT)/.stamp-jsmn 2>/dev/null | paste -sd, | sed 's/,/, /g')
endif

VERSION := $(shell cat VERSION)$(shell git describe --always --dirty 2>/dev/null | sed 's/^/+g/')
BUILD_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null),0)

# --- top-level targets -------------------------------------------------------------
.PHONY: all deps host-tools hooks no-seccomp alloc-trap test-alloc-trap run install rootfs test test-man test-seccomp test-qemu-board test-cross unit test-unit test-asan test-configs test-integration test-separate-uids fuzz bench \
	format format-check lint clean distclean $(CONFIG_TARGETS)
all: $(B)/subgate

host-tools:
	$(Q)scripts/apt-need.sh $(HOST_TOOLS)

deps: host-tools
	$(Q)scripts/deps.sh --sysroot $(SYSROOT)

$(SYSROOT)/.stamp-libseccomp: | host-tools
	$(Q)scripts/deps.sh --sysroot $(SYSROOT)

# jsmn came later than the others: a sysroot made before it gets it on the next build.
$(SYSROOT)/.stamp-bearssl $(SYSROOT)/.stamp-jsmn:
	$(Q)$(MAKE) --no-print-directory deps

# The Kconfig front ends are host tools: checked once per build directory (a
# stamp), not each time the configuration is read again.
$(B)/.host-tools.stamp:
	$(Q)scripts/apt-need.sh $(HOST_TOOLS)
	$(Q)mkdir -p $(@D) && touch $@

$(KCONFIG_CONFIG): $(KCONFIG_FILES) | $(B)/.host-tools.stamp
	$(Q)if [ -f $@ ]; then kconfig-conf -s --olddefconfig Kconfig; \
	else echo "  CONFIG  $@ from conf/defconfig"; kconfig-conf -s --defconfig=conf/defconfig Kconfig; fi

$(B)/include/config.h: $(KCONFIG_CONFIG) scripts/genconfig.py
	$(Q)$(PYTHON) scripts/genconfig.py --config $(KCONFIG_CONFIG) --outdir $(B)/include
	$(Q)touch $@.stamp

$(B)/include/build_info.h: FORCE | $(B)/include/config.h
	$(Q)printf '#define SUBGATE_VERSION "%s"\n#define SUBGATE_BUILD_INFO "%s"\n#define SUBGATE_BUILD_EPOCH %sLL\n' \
		'$(VERSION)' '$(BUILD_INFO)' '$(BUILD_EPOCH)' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
FORCE:

$(OBJDIR)/%.o: %.c $(B)/include/config.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(OBJDIR)/gateway/cmd_version.o $(OBJDIR)/gateway/cmd_cert.o: $(B)/include/build_info.h

# The seccomp policy compiler runs on the build machine (musl + the host sysroot's
# libseccomp) and emits the target's filters: SECCOMP_ARCH is a libseccomp arch name.
# Package recipes (board/openwrt, board/buildroot via board/pkg-build.sh) have no
# deps.sh: they link it with the build machine's compiler and libseccomp instead
# (BPFGEN_CC, BPFGEN_LIBS) and need no host sysroot (BPFGEN_DEPS empty).
SECCOMP_ARCH ?= native
BPFGEN := build/host/sandbox-bpfgen
BPFGEN_CC ?= musl-gcc -static -isystem $(SYSROOT)/include
BPFGEN_LIBS ?= $(SYSROOT)/lib/libseccomp.a
BPFGEN_DEPS ?= $(SYSROOT)/.stamp-libseccomp
$(BPFGEN): tools/sandbox_bpfgen.c gateway/sandbox_policy.c gateway/sandbox_policy.h | $(BPFGEN_DEPS)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(BPFGEN_CC) $(WARN) -Os -D_GNU_SOURCE -Igateway -o $@ \
		tools/sandbox_bpfgen.c gateway/sandbox_policy.c $(BPFGEN_LIBS)

$(B)/include/sandbox_bpf.h: $(BPFGEN) $(B)/include/config.h
	@echo "  BPF     $@ ($(SECCOMP_ARCH); PFC in $(B)/seccomp/)"
	$(Q)$(BPFGEN) --arch $(SECCOMP_ARCH) --trap $(if $(CONFIG_SANDBOX_SECCOMP_DEBUG),1,0) \
		--header $@ --pfc $(B)/seccomp

$(OBJDIR)/gateway/sandbox_builtin.o: $(B)/include/sandbox_bpf.h

$(B)/subgate: $(objs) $(main-obj)
	@echo "  LINK    $@"
	$(Q)$(LINK)
	@echo "  SIZE    $@: $$(stat -c %s $@) bytes"

$(B)/unit-tests: $(objs) $(test-objs)
	@echo "  LINK    $@"
	$(Q)$(LINK)

-include $(objs:.o=.d) $(main-obj:.o=.d) $(test-objs:.o=.d)

# --- install (scripts/install.sh; the tree and its device table: docs/integration.md) --
# /etc and /var are never under PREFIX. MANIFEST (makedevs format) records every path's owner
# and mode for packaging tools; as root, owners are applied where the accounts exist here.
# INIT=sysv (rootfs/etc/init.d/subgate), procd (board/openwrt's files) or none.
PREFIX ?= /usr
DESTDIR ?=
INIT ?= sysv
ROOTFS ?= $(B)/rootfs
MANIFEST ?= $(B)/subgate.devtable
RUN_AS_GROUP ?= $(patsubst "%",%,$(CONFIG_RUN_AS_USER))
install: $(B)/subgate
	$(Q)BIN=$(abspath $(B)/subgate) DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' INIT='$(INIT)' \
		MANIFEST=$(abspath $(MANIFEST)) RUN_AS_GROUP='$(RUN_AS_GROUP)' \
		SENDMAIL='$(if $(CONFIG_TOOL_SENDMAIL),y,n)' scripts/install.sh

# A fresh tree: $(ROOTFS), its table $(ROOTFS).devtable.
rootfs: $(B)/subgate
	$(Q)rm -rf $(ROOTFS) && mkdir -p $(ROOTFS)
	$(Q)$(MAKE) --no-print-directory install DESTDIR=$(abspath $(ROOTFS)) PREFIX=/usr \
		MANIFEST=$(abspath $(ROOTFS)).devtable

# --- tests -----------------------------------------------------------------------
# The harness hides log lines; on a failure the run is repeated with them (and any
# sanitizer report) shown, so that CI's log says what went wrong.
test-unit: $(B)/unit-tests
	$(Q)$(B)/unit-tests || { UNIT_VERBOSE=1 $(B)/unit-tests 2>&1 | tail -60; exit 1; }

test-asan:
	$(Q)scripts/apt-need.sh $(TEST_TOOLS)
	$(Q)$(MAKE) --no-print-directory FLAVOR=asan B=build/asan KCONFIG_CONFIG=$(KCONFIG_CONFIG) test-unit

# The man pages (man/*.[158], plain man(7)): any groff warning fails, as man-db shows them.
MAN_PAGES := $(wildcard man/*.[158])
test-man:
	$(Q)scripts/apt-need.sh man-db groff-base
	$(Q)fail=; for page in $(MAN_PAGES); do \
		if ! out="$$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z $$page 2>&1 >/dev/null)" \
			|| [ -n "$$out" ]; then echo "  MAN     $$page: FAILED"; printf '%s\n' "$$out"; fail=1; \
		else echo "  MAN     $$page"; fi; \
	done; [ -z "$$fail" ]

# Every shipped configuration must build (BusyBox configs/TEST_* habit).
test-configs: all
	$(Q)scripts/test-configs.sh

# The per-role filters for every shipped architecture: golden PFC files and a BPF simulation.
test-seccomp: $(BPFGEN)
	$(Q)$(PYTHON) tests/seccomp/check.py $(BPFGEN) build/seccomp-check

# A board under qemu-user: its unit tests and `subgate version` (board.mk's test-qemu), then
# `subgate check` and `subgate user` (test_config, test_userdb) and the integration tests that
# submit over 587 and 465 and relay, against the daemon running under
# qemu (a CONFIG_TEST_HOOKS build: qemu cannot install the guest's seccomp filter, so the
# daemon runs unfiltered on an explicit, logged switch; test-seccomp checks those filters).
QEMU_BOARD ?= mipsel-24kc
CROSS_BOARDS := mipsel-24kc armhf aarch64
QEMU_TESTS := tests/integration/test_smtp_session.py tests/integration/test_relay_delivery.py \
	tests/integration/test_config.py tests/integration/test_userdb.py
test-qemu-board:
	$(Q)$(MAKE) --no-print-directory BOARD=$(QEMU_BOARD) test-qemu
	$(Q)d=build/$(QEMU_BOARD)-hooks; mkdir -p $$d; \
		{ cat board/$(QEMU_BOARD)/defconfig; echo CONFIG_TEST_HOOKS=y; } > $$d/defconfig.in; \
		KCONFIG_CONFIG=$$d/.config kconfig-conf -s --defconfig=$$d/defconfig.in Kconfig
	$(Q)$(MAKE) --no-print-directory BOARD=$(QEMU_BOARD) B=build/$(QEMU_BOARD)-hooks \
		KCONFIG_CONFIG=build/$(QEMU_BOARD)-hooks/.config build/$(QEMU_BOARD)-hooks/subgate
	$(Q)w=build/$(QEMU_BOARD)-hooks/subgate-qemu; \
		printf '#!/bin/sh\nSUBGATE_QEMU="%s" SUBGATE_QEMU_BIN=%s exec %s "$$@"\n' \
		"$$(sed -n 's/^QEMU := //p' board/$(QEMU_BOARD)/board.mk)" $(abspath build/$(QEMU_BOARD)-hooks/subgate) \
		$(abspath tests/integration/qemu-run.sh) > $$w && chmod +x $$w
	$(Q)SUBGATE_BIN=$(abspath build/$(QEMU_BOARD)-hooks/subgate-qemu) \
		$(PYTHON) -m pytest -q -rs -p no:cacheprovider $(QEMU_TESTS)

# Every board (make test runs the mipsel one).
test-cross:
	$(Q)for b in $(CROSS_BOARDS); do $(MAKE) --no-print-directory QEMU_BOARD=$$b test-qemu-board || exit 1; done

# libFuzzer targets (clang, glibc + ASan/UBSan); FUZZ_SECONDS per target (wall clock).
# FUZZ_OUT and FUZZ_TARGETS (tests/fuzz/run.sh) run a long session of some targets beside make test.
FUZZ_SECONDS ?= 10
fuzz: $(B)/include/config.h
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

# The jail tests need a test build: defconfig plus CONFIG_TEST_HOOKS (never shipped).
# (The sub-make builds with that file as its KCONFIG_CONFIG: one recipe for it there.)
HOOKS_B := build/hooks
ifneq ($(KCONFIG_CONFIG),$(HOOKS_B)/.config)
$(HOOKS_B)/.config: conf/defconfig $(KCONFIG_FILES)
	@mkdir -p $(@D)
	$(Q){ cat conf/defconfig; echo CONFIG_TEST_HOOKS=y; } > $(@D)/defconfig.in
	$(Q)KCONFIG_CONFIG=$@ kconfig-conf -s --defconfig=$(@D)/defconfig.in Kconfig
endif
hooks: $(HOOKS_B)/.config
	$(Q)$(MAKE) --no-print-directory B=$(HOOKS_B) KCONFIG_CONFIG=$(HOOKS_B)/.config $(HOOKS_B)/subgate

# CONFIG_SANDBOX_SEPARATE_UIDS (default n): defconfig plus the option, and a CONFIG_TEST_HOOKS variant
# for the jail tests, each in its own build/cfg/ directory, against the tests of the jail, relaying,
# reloading, local submission, queue control, signals and the spool. The option's two accounts
# (run_as-session, run_as-relay; the tests' run_as is nobody) exist only for that run:
# scripts/with-accounts.sh bind-mounts copies of /etc/passwd and /etc/group in a mount namespace.
UIDS_B := build/cfg/separate-uids
UIDS_HOOKS_B := build/cfg/separate-uids-hooks
UIDS_ACCOUNTS := nobody-session:65520 nobody-relay:65521
UIDS_TESTS := $(addprefix tests/integration/,test_jail.py test_relay_delivery.py test_relay_reload.py test_relay_resolv.py \
	test_local_submit.py test_sendmail.py test_queue_ctl.py test_signals.py test_smtp_spool.py)
ifeq ($(filter $(KCONFIG_CONFIG),$(UIDS_B)/.config $(UIDS_HOOKS_B)/.config),)
$(UIDS_B)/.config $(UIDS_HOOKS_B)/.config: conf/defconfig $(KCONFIG_FILES)
	@mkdir -p $(@D)
	$(Q){ cat conf/defconfig; echo CONFIG_SANDBOX_SEPARATE_UIDS=y; \
		$(if $(filter $(UIDS_HOOKS_B)/%,$@),echo CONFIG_TEST_HOOKS=y;) } > $(@D)/defconfig.in
	$(Q)KCONFIG_CONFIG=$@ kconfig-conf -s --defconfig=$(@D)/defconfig.in Kconfig
endif
test-separate-uids: $(UIDS_B)/.config $(UIDS_HOOKS_B)/.config
	$(Q)scripts/apt-need.sh $(TEST_TOOLS)
	$(Q)$(MAKE) --no-print-directory B=$(UIDS_B) KCONFIG_CONFIG=$(UIDS_B)/.config $(UIDS_B)/subgate
	$(Q)$(MAKE) --no-print-directory B=$(UIDS_HOOKS_B) KCONFIG_CONFIG=$(UIDS_HOOKS_B)/.config $(UIDS_HOOKS_B)/subgate
	$(Q)SUBGATE_BIN=$(abspath $(UIDS_B)/subgate) SUBGATE_HOOKS_BIN=$(abspath $(UIDS_HOOKS_B)/subgate) \
		scripts/with-accounts.sh $(UIDS_ACCOUNTS) -- $(PYTHON) -m pytest -q -rs -p no:cacheprovider $(UIDS_TESTS)

# The spool fault tests inject failing system calls with strace, which a seccomp filter
# rightly kills: defconfig without CONFIG_SANDBOX_SECCOMP (jail, uid and chroot as shipped).
NOSECCOMP_B := build/cfg/no-seccomp
ifneq ($(KCONFIG_CONFIG),$(NOSECCOMP_B)/.config)
$(NOSECCOMP_B)/.config: conf/defconfig $(KCONFIG_FILES)
	@mkdir -p $(@D)
	$(Q){ cat conf/defconfig; echo '# CONFIG_SANDBOX_SECCOMP is not set'; } > $(@D)/defconfig.in
	$(Q)KCONFIG_CONFIG=$@ kconfig-conf -s --defconfig=$(@D)/defconfig.in Kconfig
endif
no-seccomp: $(NOSECCOMP_B)/.config
	$(Q)$(MAKE) --no-print-directory B=$(NOSECCOMP_B) KCONFIG_CONFIG=$(NOSECCOMP_B)/.config $(NOSECCOMP_B)/subgate

# The allocation trap (CONFIG_TEST_ALLOC_TRAP, gateway/alloc.h): defconfig plus the trap, and a
# CONFIG_TEST_HOOKS variant for the tests that need the hooks; the whole integration suite runs
# against them (the spool fault tests keep the plain no-seccomp build: strace injects their faults).
# A process that allocates after its start-up logs "alloc-trap:" and aborts; smtpkit fails the test.
TRAP_B := build/alloc-trap
TRAP_HOOKS_B := build/alloc-trap-hooks
ifeq ($(filter $(KCONFIG_CONFIG),$(TRAP_B)/.config $(TRAP_HOOKS_B)/.config),)
$(TRAP_B)/.config $(TRAP_HOOKS_B)/.config: conf/defconfig $(KCONFIG_FILES)
	@mkdir -p $(@D)
	$(Q){ cat conf/defconfig; echo CONFIG_TEST_ALLOC_TRAP=y; \
		$(if $(filter $(TRAP_HOOKS_B)/%,$@),echo CONFIG_TEST_HOOKS=y;) } > $(@D)/defconfig.in
	$(Q)KCONFIG_CONFIG=$@ kconfig-conf -s --defconfig=$(@D)/defconfig.in Kconfig
endif
alloc-trap: $(TRAP_B)/.config $(TRAP_HOOKS_B)/.config
	$(Q)$(MAKE) --no-print-directory B=$(TRAP_B) KCONFIG_CONFIG=$(TRAP_B)/.config $(TRAP_B)/subgate
	$(Q)$(MAKE) --no-print-directory B=$(TRAP_HOOKS_B) KCONFIG_CONFIG=$(TRAP_HOOKS_B)/.config $(TRAP_HOOKS_B)/subgate
test-alloc-trap: alloc-trap no-seccomp $(B)/loadgen
	$(Q)scripts/apt-need.sh $(TEST_TOOLS)
	$(Q)SUBGATE_BIN=$(abspath $(TRAP_B)/subgate) SUBGATE_HOOKS_BIN=$(abspath $(TRAP_HOOKS_B)/subgate) \
		SUBGATE_ALLOC_TRAP_BIN=$(abspath $(TRAP_B)/subgate) SUBGATE_NOSECCOMP_BIN=$(abspath $(NOSECCOMP_B)/subgate) \
		SUBGATE_LOADGEN=$(abspath $(B)/loadgen) $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests/integration

test-integration: all hooks no-seccomp $(B)/loadgen
	$(Q)scripts/apt-need.sh $(TEST_TOOLS)
	$(Q)SUBGATE_BIN=$(abspath $(B)/subgate) SUBGATE_HOOKS_BIN=$(abspath $(HOOKS_B)/subgate) \
		SUBGATE_NOSECCOMP_BIN=$(abspath $(NOSECCOMP_B)/subgate) SUBGATE_LOADGEN=$(abspath $(B)/loadgen) $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests/integration

test: all
	$(Q)scripts/apt-need.sh $(TEST_TOOLS)
	$(Q)$(MAKE) --no-print-directory test-unit
	$(Q)$(MAKE) --no-print-directory test-asan
	$(Q)$(MAKE) --no-print-directory test-configs
	$(Q)$(MAKE) --no-print-directory test-man
	$(Q)$(MAKE) --no-print-directory test-seccomp
	$(Q)$(MAKE) --no-print-directory test-qemu-board
	$(Q)$(MAKE) --no-print-directory test-board-pkgs
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory test-integration
	$(Q)$(MAKE) --no-print-directory test-separate-uids
	$(Q)$(MAKE) --no-print-directory test-alloc-trap

# --- benchmarks (numbers, never pass/fail) -------------------------------------
bench: all
	$(Q)scripts/apt-need.sh openssl python3-aiosmtpd
	$(Q)$(PYTHON) bench/measure.py --binary $(B)/subgate
	$(Q)$(MAKE) --no-print-directory bench-ciphers
	$(Q)$(MAKE) --no-print-directory bench-compare

# --- demo --------------------------------------------------------------------------
run: all
	$(Q)scripts/apt-need.sh openssl curl python3-aiosmtpd
	$(Q)scripts/demo.sh $(B)/subgate $(B)/demo

# --- Kconfig front ends ----------------------------------------------------------------
menuconfig: host-tools
	$(Q)kconfig-mconf Kconfig
nconfig: host-tools
	$(Q)kconfig-nconf Kconfig
oldconfig: host-tools
	$(Q)kconfig-conf --oldconfig Kconfig
olddefconfig: host-tools
	$(Q)kconfig-conf --olddefconfig Kconfig
defconfig: host-tools
	$(Q)kconfig-conf --defconfig=conf/defconfig Kconfig
savedefconfig: host-tools
	$(Q)kconfig-conf --savedefconfig=defconfig Kconfig
	@echo "minimal configuration written to ./defconfig"
allnoconfig allyesconfig: host-tools
	$(Q)kconfig-conf --$@ Kconfig
%_defconfig: host-tools
	$(Q)src='$(call DEFCONFIG_SRC,$*)'; [ -n "$$src" ] || { echo "no conf/$@ or board/$*/defconfig" >&2; exit 2; }; \
		kconfig-conf --defconfig=$$src Kconfig

# --- style -------------------------------------------------------------------------------
C_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find gateway tests -name '*.[ch]')
format:
	$(Q)scripts/apt-need.sh clang-format
	$(Q)clang-format -i $(C_FILES)
format-check:
	$(Q)scripts/apt-need.sh clang-format
	$(Q)clang-format --dry-run --Werror $(C_FILES)
lint: $(B)/include/config.h $(B)/include/build_info.h $(if $(CONFIG_SANDBOX_SECCOMP_BUILD_TIME),$(B)/include/sandbox_bpf.h)
	$(Q)scripts/apt-need.sh $(LINT_TOOLS) $(TEST_TOOLS)
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory $(B)/subgate
	$(Q)$(PYTHON) scripts/shape-check.py --objects $(OBJDIR)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -I$(B)/include -Igateway -Igateway/lib \
		--suppress=missingIncludeSystem gateway tests/unit
	$(Q)clang-tidy --quiet $(filter %.c,$(C_FILES)) -- $(CPPFLAGS) -std=c11 2>&1 \
		| grep -v 'warnings generated' ; exit $${PIPESTATUS[0]}

# clean: everything the build made except the dependency sysroot (deps.sh takes
# minutes to rebuild it); distclean: that too, and the configuration.
clean:
	rm -rf $(ROOTFS) $(ROOTFS).devtable
	$(Q)scripts/clean.sh build $(B)
distclean:
	rm -rf build .config .config.old defconfig

# --- fragments: the load generator (bench/), per-board size table (board/) -------------
include bench/bench.mk
include bench/compare.mk
include board/sizes.mk
include board/packages.mk
