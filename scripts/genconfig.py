#!/usr/bin/python3
"""Turn .config into build/include/config.h and config_list.h.

config.h defines every Kconfig symbol, bools as 0 or 1 (BusyBox style), so
that code can use `#if CONFIG_X` under -Werror=undef. config_list.h is an
X-macro list of every symbol for `subgate version`. Files are rewritten only
when their content changes, so an unchanged .config rebuilds nothing.
"""
import argparse
import os
import sys

import kconfiglib


def c_string(value):
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + out + '"'


def symbol_lines(kconf):
    header, listing = [], []
    for sym in sorted(kconf.unique_defined_syms, key=lambda s: s.name):
        name = "CONFIG_" + sym.name
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            value = "1" if sym.str_value == "y" else "0"
            header.append("#define %s %s" % (name, value))
            listing.append('CONFIG_BOOL("%s", %s)' % (sym.name, name))
        elif sym.orig_type in (kconfiglib.INT, kconfiglib.HEX):
            value = sym.str_value or "0"
            header.append("#define %s %s" % (name, value))
            listing.append('CONFIG_NUM("%s", %s)' % (sym.name, name))
        elif sym.orig_type == kconfiglib.STRING:
            header.append("#define %s %s" % (name, c_string(sym.str_value)))
            listing.append('CONFIG_STR("%s", %s)' % (sym.name, name))
    return header, listing


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kconfig", default="Kconfig")
    ap.add_argument("--config", default=".config")
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args()
    kconf = kconfiglib.Kconfig(args.kconfig, warn_to_stderr=True)
    kconf.load_config(args.config)
    header, listing = symbol_lines(kconf)
    os.makedirs(args.outdir, exist_ok=True)
    guard = "/* Generated from %s by scripts/genconfig.py: do not edit. */\n" % args.config
    write_if_changed(os.path.join(args.outdir, "config.h"),
                     guard + "#ifndef SUBGATE_CONFIG_H\n#define SUBGATE_CONFIG_H\n"
                     + "\n".join(header) + "\n#endif\n")
    write_if_changed(os.path.join(args.outdir, "config_list.h"),
                     guard + "\n".join(listing) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
