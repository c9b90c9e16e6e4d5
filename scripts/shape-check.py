#!/usr/bin/env python3
"""scripts/shape-check.py - the house limits that no compiler checks (run by
`make lint`): every C file under gateway/ and tools/ starts with a comment
that names it ("/*\n * NAME.c - what it owns"), stays under FILE_MAX lines,
and has no function body over FUNC_MAX lines (DESIGN.md section 8.10). With
--objects DIR (the build's object directory), every symbol a gateway object
exports starts with its file's stem or with its family's prefix (the stem's
first word: spool_state.o may export spool_*).
Exits 1 and names each offender."""
import glob
import os
import subprocess
import sys

FILE_MAX = 600
FUNC_MAX = 60


def check(path):
    problems = []
    lines = open(path, encoding="utf-8").read().split("\n")
    name = path.rsplit("/", 1)[-1]
    if len(lines) < 2 or lines[0] != "/*" or not lines[1].startswith(" * " + name + " - "):
        problems.append(f"{path}:1: the top comment must start with ' * {name} - what it owns'")
    if len(lines) > FILE_MAX:
        problems.append(f"{path}: {len(lines)} lines (at most {FILE_MAX}): split it by job")
    start = None
    for i, line in enumerate(lines):
        if line == "{" and start is None:
            start = i
        elif line == "}" and start is not None:
            if i - start - 1 > FUNC_MAX:
                problems.append(f"{path}:{start}: {lines[start - 1].strip()}: {i - start - 1} lines "
                                f"(at most {FUNC_MAX})")
            start = None
    return problems


# Exports that keep a name everyone knows, or that the linker dictates.
EXPORT_EXCEPTIONS = {"main", "fatal"}
EXPORT_PREFIX_EXCEPTIONS = ("__wrap_",)  # alloc.o: the allocation trap's -Wl,--wrap entry points


def check_exports(objdir):
    problems = []
    for obj in sorted(glob.glob(os.path.join(objdir, "gateway", "**", "*.o"), recursive=True)):
        stem = os.path.basename(obj)[:-2]
        if not os.path.exists(obj[len(objdir) + 1:-2] + ".c"):
            continue  # an object left behind by a renamed file
        family = stem.split("_")[0] + "_"
        out = subprocess.run(["nm", "-g", "--defined-only", obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            name = line.split()[-1]
            if name.startswith((stem, family) + EXPORT_PREFIX_EXCEPTIONS) or name in EXPORT_EXCEPTIONS:
                continue
            problems.append(f"{obj}: exports {name}: an export starts with '{stem}' or '{family}'")
    return problems


def main():
    files = sorted(glob.glob("gateway/**/*.[ch]", recursive=True) + glob.glob("tools/*.c"))
    problems = [p for f in files for p in check(f)]
    if len(sys.argv) == 3 and sys.argv[1] == "--objects":
        problems += check_exports(sys.argv[2])
    for p in problems:
        print(p, file=sys.stderr)
    print(f"shape: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
