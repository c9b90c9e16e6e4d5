"""`subgate version`, command-line dispatch and the binary itself.

Covers: the version/"built with"/features/settings report (every Kconfig bool
as +NAME/-NAME, every int/string symbol as NAME=value, matching the generated
config.h when it sits next to the binary), usage errors (no command, unknown
command, stray argument: exit 64), and that the binary is a static ELF (no
PT_INTERP segment, no DT_NEEDED entry).
"""

import re
import struct
from pathlib import Path

import pytest

from conftest import EX_USAGE, REPO, env_skip

PT_DYNAMIC = 2
PT_INTERP = 3
DT_NULL = 0
DT_NEEDED = 1


def kconfig_symbols():
    """{NAME: type} of every symbol defined in the Kconfig tree."""
    symbols = {}
    seen = set()

    def walk(path):
        if path in seen:
            return
        seen.add(path)
        current = None
        for raw in path.read_text().splitlines():
            line = raw.strip()
            m = re.match(r'source\s+"([^"]+)"', line)
            if m:
                walk(REPO / m.group(1))
                continue
            m = re.match(r"(?:menu)?config\s+([A-Z0-9_]+)$", line)
            if m:
                current = m.group(1)
                continue
            m = re.match(r"(bool|tristate|int|hex|string|def_bool|def_tristate)\b", line)
            if m and current is not None:
                kind = m.group(1)
                symbols[current] = "bool" if kind in ("bool", "tristate", "def_bool", "def_tristate") else kind
                current = None
            elif line and not line.startswith("#") and current is not None and not raw[:1].isspace():
                current = None

    walk(REPO / "Kconfig")
    return symbols


def parse_version(stdout):
    lines = stdout.splitlines()
    assert len(lines) >= 4, stdout
    assert lines[1].startswith("built with: "), lines[1]
    assert lines[2].startswith("features:"), lines[2]
    assert lines[3] == "settings:", lines[3]
    features = {}
    for word in lines[2][len("features:"):].split():
        assert re.fullmatch(r"[+-][A-Z0-9_]+", word), word
        assert word[1:] not in features, f"{word[1:]} listed twice"
        features[word[1:]] = word[0] == "+"
    settings = {}
    for line in lines[4:]:
        m = re.fullmatch(r"  ([A-Z0-9_]+)=(.*)", line)
        assert m, f"bad settings line {line!r}"
        assert m.group(1) not in settings, f"{m.group(1)} listed twice"
        settings[m.group(1)] = m.group(2)
    return lines[0], lines[1], features, settings


@pytest.fixture(scope="module")
def version(subgate):
    r = subgate("version")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return parse_version(r.stdout)


def test_version_line(version):
    first = version[0]
    m = re.fullmatch(r"subgate (\d+\.\d+\.\d+)(\S*)", first)
    assert m, first
    assert m.group(1) == (REPO / "VERSION").read_text().strip()


def test_built_with_names_the_libraries(version):
    built = version[1]
    for lib in ("bearssl", "tinycdb"):
        assert lib in built, built


def test_features_are_exactly_the_kconfig_bools(version):
    features = version[2]
    bools = {n for n, t in kconfig_symbols().items() if t == "bool"}
    assert bools, "no bool symbol found in Kconfig"
    assert set(features) == bools
    # a few the rest of the suite relies on
    assert features["AUTH_SCRAM_SHA256"] is True
    assert features["TOOL_USER"] is True
    assert "AUTH_LOGIN" in features


def test_settings_are_the_kconfig_values(version):
    settings = version[3]
    others = {n for n, t in kconfig_symbols().items() if t != "bool"}
    assert set(settings) == others
    assert re.fullmatch(r"\d+", settings["SUBMISSION_PORT"])
    for name, value in settings.items():
        assert re.fullmatch(r'-?\d+|0x[0-9a-fA-F]+|"[^"]*"', value), f"{name}={value}"


def test_report_matches_generated_config_h(version, subgate_bin):
    config_h = Path(subgate_bin).parent / "include" / "config.h"
    if not config_h.is_file():
        env_skip(f"no {config_h} next to the binary")
    defines = dict(re.findall(r"^#define CONFIG_([A-Z0-9_]+) (.+)$", config_h.read_text(), re.M))
    _, _, features, settings = version
    for name, on in features.items():
        assert name in defines, name
        assert defines[name] == ("1" if on else "0"), f"{name}: config.h {defines[name]}, version {on}"
    for name, value in settings.items():
        assert defines[name] == value, f"{name}: config.h {defines[name]}, version {value}"


def test_version_takes_no_argument(subgate):
    r = subgate("version", "extra")
    assert r.returncode == EX_USAGE
    assert "usage: subgate version" in r.stderr
    assert r.stdout == ""


def test_no_command_prints_usage(subgate):
    r = subgate()
    assert r.returncode == EX_USAGE
    assert "usage: subgate COMMAND" in r.stderr
    for cmd in ("version", "check", "config", "user"):
        assert re.search(rf"^\s+{cmd}\s", r.stderr, re.M), cmd
    assert r.stdout == ""


def test_unknown_command(subgate):
    r = subgate("frobnicate")
    assert r.returncode == EX_USAGE
    assert "unknown command 'frobnicate'" in r.stderr
    assert "usage: subgate COMMAND" in r.stderr
    assert r.stdout == ""


def _elf_segments(data):
    assert data[:4] == b"\x7fELF", "not an ELF file"
    cls, endian = data[4], data[5]
    assert cls in (1, 2) and endian in (1, 2)
    e = "<" if endian == 1 else ">"
    if cls == 2:
        phoff, = struct.unpack_from(e + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(e + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(e + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(e + "HH", data, 0x2A)
    segs = []
    for i in range(phnum):
        off = phoff + i * phentsize
        if cls == 2:
            p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from(e + "IIQQQQ", data, off)
        else:
            p_type, p_offset, _va, _pa, p_filesz = struct.unpack_from(e + "IIIII", data, off)
        segs.append((p_type, p_offset, p_filesz))
    return cls, e, segs


def test_binary_is_static_elf(subgate_bin, version):
    if "ASan" in version[1]:
        pytest.skip("sanitizer builds are dynamic")
    data = Path(subgate_bin).read_bytes()
    cls, e, segs = _elf_segments(data)
    assert segs, "no program headers"
    types = [t for t, _, _ in segs]
    assert PT_INTERP not in types, "PT_INTERP present: dynamically linked"
    # static-pie keeps PT_DYNAMIC for self-relocation, but must need no library
    fmt, size = (e + "qQ", 16) if cls == 2 else (e + "iI", 8)
    for p_type, p_offset, p_filesz in segs:
        if p_type != PT_DYNAMIC:
            continue
        for off in range(p_offset, p_offset + p_filesz - size + 1, size):
            tag, _val = struct.unpack_from(fmt, data, off)
            if tag == DT_NULL:
                break
            assert tag != DT_NEEDED, "DT_NEEDED entry: needs a shared library"
