#!/usr/bin/python3
"""tests/seccomp/check.py - the seccomp filters of every role, for every architecture subgate ships for.

For x86_64, aarch64, arm and mipsel it runs the build-time policy compiler (sandbox-bpfgen) and:
  1. compares each role's PFC with the golden file in tests/seccomp/golden/ARCH/ (a policy change
     must be reviewed: `tests/seccomp/check.py --update` rewrites them);
  2. runs the generated BPF in a small classic-BPF interpreter (what the kernel does with
     struct seccomp_data) and checks: every syscall the PFC allows unconditionally is allowed;
     execve, ptrace and mount are killed in every role; the same calls made with a foreign
     architecture's token are killed; argument filters hold (auth cannot open for writing,
     the relay cannot open an AF_UNIX socket, the master cannot start a thread).
This is how the filters of the cross builds are verified: qemu-user cannot enforce a guest's
seccomp filter. Usage: check.py BPFGEN OUTDIR [--update]
"""
import re
import struct
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
ARCHES = {  # libseccomp name: (AUDIT_ARCH token, {syscall: number} for the forbidden probes)
    "x86_64": (0xC000003E, {"execve": 59, "ptrace": 101, "mount": 165, "open": 2, "socket": 41, "clone": 56}),
    "aarch64": (0xC00000B7, {"execve": 221, "ptrace": 117, "mount": 40, "openat": 56, "socket": 198, "clone": 220}),
    "arm": (0x40000028, {"execve": 11, "ptrace": 26, "mount": 21, "open": 5, "socket": 281, "clone": 120}),
    "mipsel": (0x40000008, {"execve": 4011, "ptrace": 4026, "mount": 4021, "open": 4005, "socket": 4183,
                            "clone": 4120}),
}
ROLES = ["master", "session", "auth", "queue", "relay_keeper", "relay", "reload"]
ALLOW, KILL_PROCESS, KILL_THREAD = 0x7FFF0000, 0x80000000, 0x00000000
O_WRONLY, AF_UNIX, AF_INET, CLONE_THREAD = 1, 1, 2, 0x00010000
ABI = {"mipsel": {"O_CREAT": 0x100, "O_TRUNC": 0x200, "O_APPEND": 0x8, "SIGCHLD": 18}}  # the target's values
GENERIC_ABI = {"O_CREAT": 0x40, "O_TRUNC": 0x200, "O_APPEND": 0x400, "SIGCHLD": 17}


def run_bpf(prog, nr, arch, args=(0, 0, 0, 0, 0, 0)):
    """Classic BPF as seccomp runs it over struct seccomp_data (little-endian targets)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    acc, x, mem, pc = 0, 0, [0] * 16, 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        cls, op = code & 0x07, code & 0xF0
        if code == 0x20:                      # ld [k]
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x00:                    # ld #k
            acc = k
        elif code == 0x60:                    # ld M[k]
            acc = mem[k]
        elif code == 0x02:                    # st M[k]
            mem[k] = acc
        elif code == 0x07:                    # tax
            x = acc
        elif code == 0x87:                    # txa
            acc = x
        elif cls == 0x04:                     # alu #k
            acc = {0x50: acc & k, 0x40: acc | k, 0x00: (acc + k), 0x10: (acc - k)}[op] & 0xFFFFFFFF
        elif code == 0x05:                    # ja
            pc += k
        elif cls == 0x05:                     # jeq/jgt/jge/jset #k
            taken = {0x10: acc == k, 0x20: acc > k, 0x30: acc >= k, 0x40: (acc & k) != 0}[op]
            pc += jt if taken else jf
        elif code == 0x06:                    # ret #k
            return k & 0xFFFF0000 if k & 0xFFFF0000 != 0x7FFF0000 else ALLOW
        else:
            raise AssertionError(f"unexpected BPF opcode 0x{code:02x}")


def load_programs(header):
    progs, current = {}, None
    for line in Path(header).read_text().splitlines():
        m = re.match(r"static const struct sock_filter sandbox_bpf_(\w+)\[\] = \{", line)
        if m:
            current = progs.setdefault(m.group(1), [])
            continue
        m = re.match(r"\s*\{ 0x([0-9a-f]+), (\d+), (\d+), 0x([0-9a-f]+) \},", line)
        if m and current is not None:
            current.append((int(m.group(1), 16), int(m.group(2)), int(m.group(3)), int(m.group(4), 16)))
    return progs


def unconditional_allows(pfc):
    """Syscall numbers whose rule is a bare ALLOW (no argument test) in libseccomp's PFC."""
    out, lines = [], Path(pfc).read_text().splitlines()
    for i, line in enumerate(lines[:-1]):
        m = re.match(r"\s*if \(\$syscall == (\d+)\)$", line)
        if m and lines[i + 1].strip() == "action ALLOW;" and int(m.group(1)) < 0x80000000:
            out.append(int(m.group(1)))
    return out


def check_arch(name, progs, pfc_dir):
    token, nrs = ARCHES[name]
    foreign = ARCHES["mipsel" if name != "mipsel" else "arm"][0]
    failures = []

    def expect(role, what, got, want):
        if (got == ALLOW) != (want == ALLOW):
            failures.append(f"{name}/{role}: {what}: got 0x{got:08x}")

    for role in ROLES:
        prog = progs[role]
        allowed = unconditional_allows(pfc_dir / f"{role}.pfc")
        assert len(allowed) > 10, (name, role, allowed)
        for nr in allowed:
            expect(role, f"allowed syscall {nr}", run_bpf(prog, nr, token), ALLOW)
            expect(role, f"syscall {nr} with a foreign arch token", run_bpf(prog, nr, foreign), KILL_PROCESS)
        for call in ("execve", "ptrace", "mount"):
            expect(role, call, run_bpf(prog, nrs[call], token), KILL_PROCESS)
    abi = ABI.get(name, GENERIC_ABI)
    open_call = "openat" if "openat" in nrs else "open"
    flags_arg = 2 if open_call == "openat" else 1
    args = [0] * 6
    for reader in ("auth", "reload"):  # both may only read files
        for flag, value in [("O_WRONLY", O_WRONLY)] + [(f, abi[f]) for f in ("O_CREAT", "O_TRUNC", "O_APPEND")]:
            args[flags_arg] = value
            expect(reader, f"{open_call} with {flag}", run_bpf(progs[reader], nrs[open_call], token, args),
                   KILL_PROCESS)
        args[flags_arg] = 0
        expect(reader, f"{open_call} read-only", run_bpf(progs[reader], nrs[open_call], token, args), ALLOW)
    for call in ("socket", "clone"):  # the reload process reads files: no network, no children
        expect("reload", call, run_bpf(progs["reload"], nrs[call], token, (AF_UNIX, 1, 0, 0, 0, 0)), KILL_PROCESS)
    expect("relay", "socket(AF_UNIX)", run_bpf(progs["relay"], nrs["socket"], token, (AF_UNIX, 1, 0, 0, 0, 0)),
           KILL_PROCESS)
    expect("relay", "socket(AF_INET)", run_bpf(progs["relay"], nrs["socket"], token, (AF_INET, 1, 0, 0, 0, 0)),
           ALLOW)
    expect("session", "socket(AF_INET)", run_bpf(progs["session"], nrs["socket"], token, (AF_INET, 1, 0, 0, 0, 0)),
           KILL_PROCESS)
    expect("master", "clone(CLONE_THREAD)",
           run_bpf(progs["master"], nrs["clone"], token, (CLONE_THREAD | abi["SIGCHLD"], 0, 0, 0, 0, 0)), KILL_PROCESS)
    expect("master", "clone(SIGCHLD), a fork",
           run_bpf(progs["master"], nrs["clone"], token, (abi["SIGCHLD"], 0, 0, 0, 0, 0)), ALLOW)
    return failures


def main():
    bpfgen, out, update = sys.argv[1], Path(sys.argv[2]), "--update" in sys.argv
    failures = []
    for name in ARCHES:
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        subprocess.run([bpfgen, "--arch", name, "--trap", "0", "--header", str(d / "bpf.h"), "--pfc", str(d)],
                       check=True)
        for role in ROLES:
            golden, made = GOLDEN / name / f"{role}.pfc", d / f"{role}.pfc"
            if update:
                golden.parent.mkdir(parents=True, exist_ok=True)
                golden.write_bytes(made.read_bytes())
            elif not golden.exists() or golden.read_bytes() != made.read_bytes():
                failures.append(f"{name}/{role}: the filter differs from {golden} (review it; then --update)")
        progs = load_programs(d / "bpf.h")
        failures += check_arch(name, progs, d)
        sizes = ", ".join(f"{r} {len(progs[r])}" for r in ROLES)
        print(f"  SECCOMP {name}: BPF instructions: {sizes}")
    for f in failures:
        print("  FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
