"""The installed tree: `make rootfs` and `make install DESTDIR= PREFIX=`.

- every path of the device table (makedevs format) exists with its type,
  mode, owner and group, and every path the tree should have is in it;
- the sendmail/mailq links, no newaliases, a static binary, the man pages;
- the init script and the first-start hook pass `sh -n` and `busybox ash -n`;
- `subgate check` on the shipped configuration (its paths moved into the
  tree) reports exactly the files a device makes on its first start or an
  operator provides, and passes after the first-start hook ran against the
  tree and the smarthost secret was put in place;
- the init script starts, reloads, reports and stops a real daemon.

Runs `make` in the repository with B= the directory of $SUBGATE_BIN, as
root (owners are applied only as root). Groups: RUN_AS_GROUP=nogroup (an
account that exists on Debian) for the chown path, and a group that does not
exist for the "record it, leave it root's" path.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, _bin_path, env_skip
from smtpkit import wait_for


@pytest.fixture(scope="module", autouse=True)
def _root():
    if os.geteuid() != 0:
        env_skip("the install tree test runs as root")


RUN_GROUP = "nogroup"
RUN_USER = "nobody"

# path -> (type, mode, owner, group); GROUP stands for RUN_AS_GROUP.
EXPECTED = {
    "/usr/sbin/subgate": ("f", 0o755, "root", "root"),
    "/usr/libexec/subgate": ("d", 0o755, "root", "root"),
    "/usr/libexec/subgate/first-start": ("f", 0o755, "root", "root"),
    "/etc/subgate": ("d", 0o755, "root", "root"),
    "/etc/subgate/subgate.conf": ("f", 0o644, "root", "root"),
    "/etc/subgate/smarthost.secret.example": ("f", 0o600, "root", "root"),
    "/etc/subgate/users.cdb": ("f", 0o640, "root", "GROUP"),
    "/etc/init.d/subgate": ("f", 0o755, "root", "root"),
    "/var/spool/subgate": ("d", 0o755, "root", "root"),
    "/usr/share/man/man1/subgate-sendmail.1": ("f", 0o644, "root", "root"),
    "/usr/share/man/man5/subgate.conf.5": ("f", 0o644, "root", "root"),
    "/usr/share/man/man8/subgate.8": ("f", 0o644, "root", "root"),
}
LINKS = {
    "/usr/sbin/sendmail": "subgate",
    "/usr/bin/mailq": "../sbin/subgate",
    "/usr/lib/sendmail": "../sbin/subgate",
}


def _build_dir():
    binary = _bin_path()
    try:
        rel = binary.parent.relative_to(REPO)
    except ValueError:
        env_skip(f"SUBGATE_BIN {binary} is not a build of this tree")
    if binary.name != "subgate":
        env_skip(f"SUBGATE_BIN {binary} is not a plain build (wrapper?)")
    return str(rel)


def make(*args):
    """make ARGS in the repository, without the calling make's jobserver."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    env["LC_ALL"] = "C"
    b = _build_dir()
    # a build with its own configuration (build/cfg/*, build/hooks, ...): not the top .config, which
    # would rebuild that binary without its options
    own = [f"KCONFIG_CONFIG={b}/.config"] if (REPO / b / ".config").is_file() else []
    r = subprocess.run(["make", "--no-print-directory", f"B={b}", *own, *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"make {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r


def read_table(path):
    """The device table: {path: (type, mode, owner, group)}, and the link comments."""
    entries, links = {}, {}
    for line in Path(path).read_text().splitlines():
        m = re.fullmatch(r"# link (\S+) -> (\S+)", line)
        if m:
            links[m.group(1)] = m.group(2)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split()
        assert len(f) == 10 and f[5:] == ["-"] * 5, f"not a makedevs line: {line!r}"
        assert f[1] in ("f", "d"), line
        assert f[0] not in entries, f"{f[0]} listed twice"
        entries[f[0]] = (f[1], int(f[2], 8), f[3], f[4])
    return entries, links


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """`make rootfs` into a temporary ROOTFS: (root Path, device table Path)."""
    root = tmp_path_factory.mktemp("rootfs") / "rootfs"
    make("rootfs", f"ROOTFS={root}", f"RUN_AS_GROUP={RUN_GROUP}")
    return root, Path(f"{root}.devtable")


def test_device_table_lists_the_tree(tree):
    root, table = tree
    entries, links = read_table(table)
    expected = {p: (t, m, o, RUN_GROUP if g == "GROUP" else g) for p, (t, m, o, g) in EXPECTED.items()}
    assert entries == expected
    assert links == LINKS


def test_owners_and_modes_follow_the_table(tree):
    root, table = tree
    entries, _ = read_table(table)
    for path, (kind, mode, owner, group) in entries.items():
        st = os.lstat(f"{root}{path}")
        assert (stat.S_ISDIR(st.st_mode) if kind == "d" else stat.S_ISREG(st.st_mode)), path
        assert stat.S_IMODE(st.st_mode) == mode, f"{path}: mode {stat.S_IMODE(st.st_mode):04o}, table {mode:04o}"
        assert st.st_uid == pwd.getpwnam(owner).pw_uid, path
        assert st.st_gid == grp.getgrnam(group).gr_gid, path


def test_links_and_no_newaliases(tree):
    root, _ = tree
    binary = root / "usr/sbin/subgate"
    for path, target in LINKS.items():
        link = Path(f"{root}{path}")
        assert link.is_symlink() and os.readlink(link) == target, path
        assert link.resolve() == binary.resolve(), path
    assert not [p for p in root.rglob("newaliases*")]


def test_binary_is_static_and_runs(tree, subgate_bin):
    binary = tree[0] / "usr/sbin/subgate"
    assert binary.read_bytes() == subgate_bin.read_bytes()
    data = binary.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "expected ELF64 little endian"
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    types = [int.from_bytes(data[phoff + i * phentsize:phoff + i * phentsize + 4], "little") for i in range(phnum)]
    assert 3 not in types, "PT_INTERP: the binary is dynamically linked"
    r = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith("subgate ")


def test_man_pages_are_the_sources(tree):
    root, _ = tree
    for page in (REPO / "man").glob("*.[158]"):
        installed = root / f"usr/share/man/man{page.suffix[1:]}" / page.name
        assert installed.read_bytes() == page.read_bytes(), page.name


@pytest.mark.parametrize("script", ["etc/init.d/subgate", "usr/libexec/subgate/first-start"])
def test_scripts_parse(tree, script):
    path = tree[0] / script
    shells = [["sh", "-n"]]
    if shutil.which("busybox"):
        shells.append(["busybox", "ash", "-n"])
    for shell in shells:
        r = subprocess.run([*shell, path], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, f"{shell}: {r.stderr}"
    assert path.read_text().startswith("#!/bin/sh\n")


def in_tree(root, text, **overrides):
    """The shipped configuration with its absolute paths moved into ROOT and
    KEY = VALUE lines replaced (None: removed) or added."""
    text = re.sub(r"(= *)(/etc/subgate/|/var/spool/)", lambda m: f"{m.group(1)}{root}{m.group(2)}", text)
    text = re.sub(r"^run_as *=.*$", f"run_as = {RUN_USER}", text, flags=re.M)
    for key, value in overrides.items():
        text = re.sub(rf"^{key} *=.*\n", "", text, flags=re.M)
        if value is not None:
            for v in value if isinstance(value, list) else [value]:
                text += f"{key} = {v}\n"
    return text


def check_errors(binary, conf):
    r = subprocess.run([binary, "check", "-c", conf], capture_output=True, text=True, timeout=30)
    keys = set(re.findall(r"^subgate: \S+:\d+: (\w+)", r.stderr, flags=re.M))
    return r, keys


def test_check_wants_only_the_first_start_files(tree, tmp_path, subgate_bin):
    root, _ = tree
    conf = tmp_path / "subgate.conf"
    conf.write_text(in_tree(root, (root / "etc/subgate/subgate.conf").read_text()))
    r, keys = check_errors(subgate_bin, conf)
    expected = {"tls_cert", "tls_key", "smarthost_auth"}
    if not Path("/etc/ssl/certs/ca-certificates.crt").exists():
        expected.add("smarthost_ca")
    assert r.returncode != 0
    assert keys == expected, r.stderr


def test_first_start_hook_completes_the_tree(tree, tmp_path, subgate_bin):
    src_root, _ = tree
    root = tmp_path / "root"
    copy_tree(src_root, root)
    (root / "etc/subgate/users.cdb").unlink()
    shutil.rmtree(root / "var/spool/subgate")
    # the image's own account database names the run_as account (-r: not this machine's)
    gid = grp.getgrnam(RUN_GROUP).gr_gid
    (root / "etc/passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\nsubgate:x:{gid}:{gid}::/:/bin/false\n")
    hook = root / "usr/libexec/subgate/first-start"
    env = dict(os.environ, SUBGATE=str(root / "usr/sbin/subgate"))
    r = subprocess.run([hook, "-c", root / "etc/subgate/subgate.conf", "-r", root], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    etc = root / "etc/subgate"
    assert stat.S_IMODE((etc / "key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((etc / "cert.pem").stat().st_mode) == 0o644
    assert stat.S_IMODE((etc / "users.cdb").stat().st_mode) == 0o640
    assert (etc / "users.cdb").stat().st_gid == gid
    assert stat.S_IMODE((root / "var/spool/subgate").stat().st_mode) == 0o755
    # the certificate: EC P-256, for the configured host name
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    cert = x509.load_pem_x509_certificate((etc / "cert.pem").read_bytes())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "gw.example.net"
    # the new user database is empty and readable by the tool
    r = subprocess.run([root / "usr/sbin/subgate", "user", "list", "--db", etc / "users.cdb"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0 and r.stdout == ""
    # a second run changes nothing
    before = {p: p.read_bytes() for p in etc.iterdir()}
    r = subprocess.run([hook, "-c", etc / "subgate.conf", "-r", root], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0 and r.stderr == ""
    assert {p: p.read_bytes() for p in etc.iterdir()} == before
    # the operator's part: the smarthost account; then the whole check passes
    shutil.copy(etc / "smarthost.secret.example", etc / "smarthost.secret")
    os.chmod(etc / "smarthost.secret", 0o600)
    conf = tmp_path / "subgate.conf"
    conf.write_text(in_tree(root, (etc / "subgate.conf").read_text()))
    r, keys = check_errors(subgate_bin, conf)
    expected = set() if Path("/etc/ssl/certs/ca-certificates.crt").exists() else {"smarthost_ca"}
    assert keys == expected, r.stderr
    if not expected:
        assert r.returncode == 0, r.stderr


def copy_tree(src, dst):
    """A copy with owners (shutil.copytree keeps modes only)."""
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def greeting(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        return s.recv(100)


SHELLS = [["sh"]] + ([["busybox", "ash"]] if shutil.which("busybox") else [])


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[-1])
def test_init_script_runs_the_daemon(tree, tmp_path, shell):
    src_root, _ = tree
    root = tmp_path / "root"
    copy_tree(src_root, root)
    port = free_port()
    conf = root / "etc/subgate/subgate.conf"
    conf.write_text(in_tree(root, conf.read_text(), listen=f"127.0.0.1:{port} starttls",
                            smarthost="[127.0.0.1]:9", smarthost_tls="none", smarthost_auth=None,
                            pid_file=f"{root}/run/subgate.pid"))
    (root / "run").mkdir()
    defaults = tmp_path / "default"
    defaults.write_text(f"SUBGATE={root}/usr/sbin/subgate\nFIRST_START={root}/usr/libexec/subgate/first-start\n"
                        f"CONF={conf}\nSTOP_TIMEOUT=20\n")
    init = root / "etc/init.d/subgate"
    env = dict(os.environ, SUBGATE_DEFAULTS=str(defaults))

    def run(action):
        return subprocess.run([*shell, init, action], capture_output=True, text=True, env=env, timeout=60)

    assert run("status").returncode == 3
    r = run("start")
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert "made a self-signed certificate" in r.stderr
        pid = int((root / "run/subgate.pid").read_text())
        r = run("status")
        assert r.returncode == 0 and f"pid {pid}" in r.stdout
        assert greeting(port).startswith(b"220 gw.example.net ")
        assert run("start").stdout.strip().endswith(f"already running (pid {pid})")
        conf.write_text(re.sub(r"(?m)^hostname *=.*$", "hostname = reloaded.example.net", conf.read_text()))
        r = run("reload")
        assert r.returncode == 0, r.stdout + r.stderr
        # the reload is done once a new session greets with the new name (the same daemon still runs)
        wait_for(lambda: greeting(port).startswith(b"220 reloaded.example.net "), 15,
                 what="the reloaded host name in the greeting")
        assert run("status").returncode == 0
        assert int((root / "run/subgate.pid").read_text()) == pid
        r = run("stop")
        assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
        assert not Path(f"/proc/{pid}").exists()
        assert run("status").returncode == 3
    finally:
        text = (root / "run/subgate.pid").read_text() if (root / "run/subgate.pid").exists() else ""
        if text.strip():
            try:
                os.kill(int(text), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_start_refuses_a_broken_configuration(tree, tmp_path):
    src_root, _ = tree
    root = tmp_path / "root"
    copy_tree(src_root, root)
    conf = root / "etc/subgate/subgate.conf"
    conf.write_text(in_tree(root, conf.read_text(), smarthost="smtp.example.com:587",
                            pid_file=f"{root}/subgate.pid"))
    defaults = tmp_path / "default"
    defaults.write_text(f"SUBGATE={root}/usr/sbin/subgate\nFIRST_START=/nonexistent\nCONF={conf}\n")
    r = subprocess.run(["sh", root / "etc/init.d/subgate", "start"], capture_output=True, text=True,
                       env=dict(os.environ, SUBGATE_DEFAULTS=str(defaults)), timeout=60)
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "MX lookups are not supported" in r.stderr
    assert not (root / "subgate.pid").exists()


def test_install_prefix_and_kept_configuration(tmp_path):
    dest = tmp_path / "dest"
    table = tmp_path / "table"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local", f"MANIFEST={table}", "RUN_AS_GROUP=no-such-group-here")
    entries, links = read_table(table)
    assert "/usr/local/sbin/subgate" in entries and "/etc/subgate/subgate.conf" in entries
    assert "/var/spool/subgate" in entries
    assert links["/usr/local/bin/mailq"] == "../sbin/subgate"
    assert not (dest / "usr/local/etc").exists() and not (dest / "usr/local/var").exists()
    init = (dest / "etc/init.d/subgate").read_text()
    assert "SUBGATE=/usr/local/sbin/subgate\n" in init
    assert "FIRST_START=/usr/local/libexec/subgate/first-start\n" in init
    assert (dest / "usr/local/share/man/man8/subgate.8").is_file()
    # a group this machine lacks: recorded, the file stays root's
    assert entries["/etc/subgate/users.cdb"] == ("f", 0o640, "root", "no-such-group-here")
    assert (dest / "etc/subgate/users.cdb").stat().st_gid == 0
    # a second install keeps what the operator changed
    conf = dest / "etc/subgate/subgate.conf"
    conf.write_text(conf.read_text() + "# mine\n")
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr/local", f"MANIFEST={table}")
    assert "KEEP    /etc/subgate/subgate.conf" in r.stdout
    assert conf.read_text().endswith("# mine\n")


def test_procd_variant_installs_openwrt_files(tmp_path):
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "INIT=procd", f"MANIFEST={tmp_path / 'table'}")
    files = REPO / "board/openwrt/subgate/files"
    assert (dest / "etc/init.d/subgate").read_bytes() == (files / "subgate.init").read_bytes()
    assert (dest / "usr/lib/subgate/subgate-uci.sh").read_bytes() == (files / "subgate-uci.sh").read_bytes()
    assert stat.S_IMODE((dest / "etc/config/subgate").stat().st_mode) == 0o600
    assert os.access(dest / "etc/uci-defaults/90-subgate", os.X_OK)


def test_no_sendmail_links_without_the_sendmail_tool(tmp_path):
    """CONFIG_TOOL_SENDMAIL off (here overridden on make's command line): no sendmail, mailq links."""
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", f"MANIFEST={tmp_path / 'table'}", "CONFIG_TOOL_SENDMAIL=")
    assert (dest / "usr/sbin/subgate").is_file()
    for path in LINKS:
        assert not os.path.lexists(f"{dest}{path}"), path
    table = (tmp_path / "table").read_text()
    assert "/usr/sbin/sendmail" not in table and "subgate-sendmail.1" not in table  # nor its man page
