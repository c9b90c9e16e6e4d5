#!/usr/bin/python3
"""The package menus parse and behave: board/openwrt/subgate/Config.in and the
Buildroot external tree's Config.in files, loaded with kconfiglib inside a
small wrapper that defines the OpenWrt or Buildroot symbols they depend on.

Checks: no kconfiglib warning (an undefined symbol is one), the defaults, the
dependencies (no subgate without musl on Buildroot; the runtime-filter option
pulls in libseccomp), and that every OpenWrt SUBGATE_* symbol is used by the
recipe and maps onto a symbol of subgate's own Kconfig.

Usage: kconfig_check.py REPO   (prints "ok"/"FAIL" lines; exit 1 on a failure)
       kconfig_check.py --write openwrt|buildroot REPO OUT [SYMBOL=VALUE...]
           writes the .config those menu choices give (tests/board/recipes_test.sh)
"""
import os
import re
import sys
import tempfile

import kconfiglib

failures = 0


def check(what, ok, detail=""):
    global failures
    print("  %-5s %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        failures += 1
        if detail:
            print("        " + str(detail))


def load(wrapper_text, env):
    """kconfiglib over a wrapper file; returns (kconf, warnings)."""
    with tempfile.NamedTemporaryFile("w", suffix=".in", delete=False) as f:
        f.write(wrapper_text)
        path = f.name
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["KCONFIG_WARN_UNDEF"] = "y"  # a reference to an undefined symbol is a warning
    try:
        kconf = kconfiglib.Kconfig(path, warn_to_stderr=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        os.unlink(path)
    return kconf, list(kconf.warnings)


def sym(kconf, name):
    return kconf.syms[name]


def openwrt_kconf(repo):
    pkg = os.path.join(repo, "board/openwrt/subgate")
    wrapper = """
config PACKAGE_subgate
	bool "subgate"
config KERNEL_SECCOMP
	bool "kernel seccomp"
	default y
menu "subgate"
source "%s/Config.in"
endmenu
""" % pkg
    return load(wrapper, {})


def openwrt(repo):
    print("kconfig: board/openwrt/subgate/Config.in")
    pkg = os.path.join(repo, "board/openwrt/subgate")
    kconf, warnings = openwrt_kconf(repo)
    check("parses without warnings", not warnings, warnings)
    sym(kconf, "PACKAGE_subgate").set_value("y")
    expect = {"SUBGATE_SUBMISSION_PORT": "587", "SUBGATE_SMTPS_PORT": "465", "SUBGATE_MAX_SESSIONS": "16",
              "SUBGATE_MAX_SESSIONS_PER_ADDR": "4", "SUBGATE_TLS_OUTBUF_SIZE": "2373",
              "SUBGATE_TLS_PROFILE_EC_ONLY": "n", "SUBGATE_SECCOMP": "y", "SUBGATE_SECCOMP_BUILD_TIME": "y",
              "SUBGATE_SECCOMP_RUNTIME": "n", "SUBGATE_AUTH_CACHE": "y", "SUBGATE_LOG_DEBUG": "n",
              "SUBGATE_TOOL_SENDMAIL": "y", "SUBGATE_TOOL_QUEUE": "y", "SUBGATE_TOOL_CERT": "y"}
    got = {name: sym(kconf, name).str_value if name in kconf.syms else "undefined" for name in expect}
    check("defaults (router sizes, build-time filters)", got == expect, got)
    sym(kconf, "SUBGATE_SECCOMP_BUILD_TIME").set_value("n")
    check("filters at start select the libseccomp build dependency",
          sym(kconf, "SUBGATE_SECCOMP_RUNTIME").str_value == "y")
    sym(kconf, "SUBGATE_LISTEN_SMTPS").set_value("n")
    check("no implicit TLS: no port 465 symbol in the .config", sym(kconf, "SUBGATE_SMTPS_PORT").str_value == "")
    sym(kconf, "KERNEL_SECCOMP").set_value("n")
    check("a kernel without seccomp hides the filters", sym(kconf, "SUBGATE_SECCOMP").str_value == "n")

    # every menu symbol reaches the recipe, and the recipe's names exist in subgate's Kconfig
    recipe = open(os.path.join(pkg, "Makefile"), encoding="utf-8").read()
    ours = sorted(s.name for s in kconf.unique_defined_syms if s.name.startswith("SUBGATE_"))
    mapped = re.findall(r"^SUBGATE_(?:BOOLS|INTS):=((?:.*\\\n)*.*)$", recipe, re.M)
    mapped = " ".join(mapped).replace("\\\n", " ").split()
    unused = [n for n in ours if "CONFIG_" + n not in recipe and n[len("SUBGATE_"):] not in mapped
              and n != "SUBGATE_SECCOMP_RUNTIME"]
    check("every SUBGATE_* symbol is used by the recipe", not unused, unused)
    undeclared = [n for n in ours if n != "SUBGATE_SECCOMP_RUNTIME" and "CONFIG_" + n not in
                  re.search(r"PKG_CONFIG_DEPENDS:=((?:.*\\\n)*.*)", recipe).group(1)]
    check("every SUBGATE_* symbol is in PKG_CONFIG_DEPENDS (a change rebuilds)", not undeclared, undeclared)
    main, _ = load('source "%s/Kconfig"\n' % repo, {})
    missing = [n for n in mapped if n not in main.syms or not main.syms[n].nodes]
    check("the recipe's SUBGATE_BOOLS/INTS exist in subgate's Kconfig", mapped and not missing, missing)
    # every tool of subgate's menu is offered, or fixed by Build/Configure
    tools = sorted(s.name for s in main.unique_defined_syms if s.name.startswith("TOOL_"))
    fixed = re.findall(r"echo '(?:# )?CONFIG_(TOOL_\w+)", recipe)
    left = [t for t in tools if t not in mapped and t not in fixed]
    check("every TOOL_* of subgate's Kconfig is in the menu or fixed by the recipe (%s)" % " ".join(tools),
          tools and not left, left)


def buildroot_kconf(repo):
    ext = os.path.join(repo, "board/buildroot")
    wrapper = """
config BR2_USE_MMU
	bool "mmu"
	default y
config BR2_TOOLCHAIN_USES_MUSL
	bool "musl"
config BR2_TOOLCHAIN_HEADERS_AT_LEAST_3_17
	bool "headers"
	default y
config BR2_PACKAGE_LIBSECCOMP_ARCH_SUPPORTS
	bool "arch"
	default y
config BR2_PACKAGE_LIBSECCOMP
	bool "libseccomp"
menu "External options"
source "$BR2_EXTERNAL_SUBGATE_PATH/Config.in"
endmenu
"""
    # Buildroot writes its .config without the CONFIG_ prefix
    return load(wrapper, {"BR2_EXTERNAL_SUBGATE_PATH": ext, "CONFIG_": ""})


def buildroot(repo):
    print("kconfig: board/buildroot (BR2_EXTERNAL)")
    ext = os.path.join(repo, "board/buildroot")
    kconf, warnings = buildroot_kconf(repo)
    check("parses without warnings", not warnings, warnings)
    subgate = sym(kconf, "BR2_PACKAGE_SUBGATE")
    subgate.set_value("y")
    check("no musl: subgate cannot be chosen", subgate.str_value == "n")
    comment = [n for n in kconf.node_iter() if n.item == kconfiglib.COMMENT and "musl" in n.prompt[0]]
    check("no musl: the comment says why", comment and kconfiglib.expr_value(comment[0].dep) == 2)
    sym(kconf, "BR2_TOOLCHAIN_USES_MUSL").set_value("y")
    subgate.set_value("y")
    check("musl: subgate can be chosen", subgate.str_value == "y")
    check("it selects subgate-deps", sym(kconf, "BR2_PACKAGE_SUBGATE_DEPS").str_value == "y")
    check("default build configuration", sym(kconf, "BR2_PACKAGE_SUBGATE_DEFCONFIG").str_value == "conf/defconfig")
    check("build-time filters need no libseccomp", sym(kconf, "BR2_PACKAGE_LIBSECCOMP").str_value == "n")
    sym(kconf, "BR2_PACKAGE_SUBGATE_SECCOMP_RUNTIME").set_value("y")
    check("filters at start select libseccomp", sym(kconf, "BR2_PACKAGE_LIBSECCOMP").str_value == "y")

    # the generic-package variables and files Buildroot needs
    mk = open(os.path.join(ext, "subgate/subgate.mk"), encoding="utf-8").read()
    for var in ("SUBGATE_VERSION", "SUBGATE_SITE", "SUBGATE_SITE_METHOD", "SUBGATE_LICENSE",
                "SUBGATE_DEPENDENCIES", "SUBGATE_BUILD_CMDS", "SUBGATE_INSTALL_TARGET_CMDS",
                "SUBGATE_INSTALL_INIT_SYSV", "SUBGATE_USERS"):
        check("subgate.mk defines " + var, re.search(r"^(?:define )?%s\b" % var, mk, re.M) is not None)
    version = open(os.path.join(repo, "VERSION"), encoding="utf-8").read().strip()
    check("SUBGATE_VERSION is the VERSION file's", re.search(r"^SUBGATE_VERSION = %s$" % re.escape(version),
                                                              mk, re.M) is not None)
    owrt = open(os.path.join(repo, "board/openwrt/subgate/Makefile"), encoding="utf-8").read()
    check("OpenWrt's PKG_VERSION is the VERSION file's", re.search(r"^PKG_VERSION:=%s$" % re.escape(version),
                                                                  owrt, re.M) is not None)
    desc = open(os.path.join(ext, "external.desc"), encoding="utf-8").read()
    check("external.desc names the tree SUBGATE", re.search(r"^name: SUBGATE$", desc, re.M) is not None)


def write_config(kind, repo, out, assignments):
    """The .config OpenWrt or Buildroot would write for these menu choices (for the recipe test)."""
    kconf, warnings = (openwrt_kconf if kind == "openwrt" else buildroot_kconf)(repo)
    if warnings:
        print("\n".join(warnings), file=sys.stderr)
        return 1
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        item = kconf.syms[name]
        item.set_value(value)
        if item.str_value != value:
            print("kconfig_check: %s=%s did not take (dependencies?)" % (name, value), file=sys.stderr)
            return 1
    kconf.write_config(out)
    return 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--write":
        return write_config(sys.argv[2], os.path.abspath(sys.argv[3]), sys.argv[4], sys.argv[5:])
    repo = os.path.abspath(sys.argv[1])
    openwrt(repo)
    buildroot(repo)
    print("kconfig: %s" % ("all passed" if failures == 0 else "%d failed" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
