"""Shared fixtures of the subgate integration tests.

- `subgate_bin`: path of the binary under test ($SUBGATE_BIN, default build/subgate).
- `subgate`: runs the binary, returns a text CompletedProcess (never raises on
  a non-zero exit; a hang fails the test through the timeout).
- `certs` (session): one self-signed EC P-256 certificate+key and one RSA 2048
  certificate+key made with the openssl CLI; keys are mode 0600.
- `site`: a valid configuration in tmp_path (cert, key, users.cdb made with
  `subgate user add`, run_as = nobody, a loopback plaintext smarthost), with
  helpers to change one line and rewrite the file.
- `smtpd` (module): a running `subgate serve` (smtpkit.SubgateServer) with the
  module's SMTPD_SETTINGS / SMTPD_ALIASES, stopped with SIGTERM at the end.
- `make_server`: a factory of servers of the test's own (settings, aliases,
  users, spool), all stopped at teardown.
- `fresh_source()`: a loopback client address no other test uses (127.0.10.x,
  127.0.11.x, ...), for tests whose failed logins must not block others.
- `hooks_server`: a factory of servers of the test build (CONFIG_TEST_HOOKS,
  $SUBGATE_HOOKS_BIN, `make hooks`; skipped when it is not set), optionally
  with $SUBGATE_TEST_HOOK, all stopped at teardown.
- Relay tests (relaykit.py): `pki` (session: test CA, certificates and pins),
  `smarthost` (a factory of scripted aiosmtpd smarthosts) and `staller` (a
  factory of smarthosts that stall in the middle of DATA), all stopped at
  teardown.

All files live in pytest's temporary directories; nothing outside is touched.
"""

import grp
import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from smtpkit import SubgateServer

REPO = Path(__file__).resolve().parents[2]

# sysexits.h
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_NOUSER = 67
EX_CONFIG = 78

SITE_USER = "alice@example.com"
SITE_PASSWORD = "correct horse battery staple"


def _bin_path():
    return Path(os.environ.get("SUBGATE_BIN", REPO / "build" / "subgate")).resolve()


@pytest.fixture(scope="session")
def subgate_bin():
    path = _bin_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"subgate binary not found or not executable: {path} (set SUBGATE_BIN or run make)")
    return path


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env["LANG"] = "C"
    env["LC_ALL"] = "C"
    return env


@pytest.fixture(scope="session")
def subgate(subgate_bin):
    """subgate(*args, input=None, cwd=None) -> CompletedProcess (text)."""

    def run(*args, input=None, cwd=None, timeout=20):
        return subprocess.run(
            [str(subgate_bin), *[str(a) for a in args]],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=_env(),
            timeout=timeout,
            start_new_session=True,  # no controlling terminal: /dev/tty is never used by accident
        )

    return run


def _openssl(*args, cwd):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates")
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class KeyPair:
    def __init__(self, cert, key):
        self.cert = cert
        self.key = key


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """{'ec': KeyPair, 'rsa': KeyPair}, self-signed, keys mode 0600."""
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for kind, newkey in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]),
                         ("rsa", ["-newkey", "rsa:2048"])):
        cert, key = d / f"{kind}-cert.pem", d / f"{kind}-key.pem"
        _openssl("req", "-x509", *newkey, "-nodes", "-days", "2", "-subj", f"/CN={kind}.gw.test",
                 "-keyout", key.name, "-out", cert.name, cwd=d)
        key.chmod(0o600)
        assert b"BEGIN CERTIFICATE" in cert.read_bytes()
        assert b"PRIVATE KEY" in key.read_bytes()
        out[kind] = KeyPair(cert, key)
    return out


class Site:
    """A valid configuration directory. Paths in the file are relative to it."""

    BASE = [
        "# subgate integration-test configuration",
        "hostname = gw.example.test",
        "listen = 127.0.0.1:5587 starttls",
        "listen = [::1]:2465 tls",
        "tls_cert = cert.pem",
        "tls_key = key.pem      # must stay private",
        "users = users.cdb",
        "spool = spool",
        "run_as = nobody",
        "max_message_size = 10m",
        "smarthost = [127.0.0.1]:2525",
        "smarthost_tls = none",
        "alias = root: admin@example.com, ops@example.com",
    ]

    def __init__(self, directory):
        self.dir = directory
        self.conf = directory / "subgate.conf"
        self.cert = directory / "cert.pem"
        self.key = directory / "key.pem"
        self.users = directory / "users.cdb"
        self.lines = list(self.BASE)
        self.write()

    def write(self, lines=None):
        if lines is not None:
            self.lines = list(lines)
        self.conf.write_text("".join(line + "\n" for line in self.lines))
        return self.conf

    def line_of(self, key):
        """1-based number of the (first) line setting `key`."""
        for i, line in enumerate(self.lines, 1):
            if line.split("=", 1)[0].strip() == key:
                return i
        raise KeyError(key)

    def set(self, key, value):
        """Replaces the line of `key` in place (or appends it); returns its line number."""
        try:
            n = self.line_of(key)
            self.lines[n - 1] = f"{key} = {value}"
        except KeyError:
            self.lines.append(f"{key} = {value}")
            n = len(self.lines)
        self.write()
        return n

    def add(self, line):
        """Appends a raw line; returns its line number."""
        self.lines.append(line)
        self.write()
        return len(self.lines)

    def remove(self, key):
        self.lines = [line for line in self.lines if line.split("=", 1)[0].strip() != key]
        self.write()


@pytest.fixture
def site(tmp_path, certs, subgate):
    d = tmp_path / "site"
    d.mkdir()
    s = Site(d)
    shutil.copyfile(certs["ec"].cert, s.cert)
    shutil.copyfile(certs["ec"].key, s.key)
    s.key.chmod(0o600)
    r = subgate("user", "add", SITE_USER, "--sender", "@example.com", "--stdin", "--db", s.users,
                input=SITE_PASSWORD + "\n")
    assert r.returncode == EX_OK, r.stderr
    assert s.users.is_file()
    os.chown(s.users, -1, grp.getgrnam("nogroup").gr_gid)  # --db alone cannot know run_as (nobody)
    return s


# --- SMTP server fixtures ----------------------------------------------------------------

_sources = itertools.count(1)


def fresh_source():
    """A loopback source address used by no other test of this run (127.0.10.x and up; tests that
    name their own addresses use 127.0.0.x-127.0.9.x)."""
    n = next(_sources)
    return f"127.0.{10 + n // 250}.{1 + n % 250}"


@pytest.fixture(scope="module")
def smtpd(request, tmp_path_factory, subgate_bin, certs):
    """The module's server: SMTPD_SETTINGS (dict) and SMTPD_ALIASES (list) of the test module."""
    settings = getattr(request.module, "SMTPD_SETTINGS", {})
    aliases = getattr(request.module, "SMTPD_ALIASES", None)
    server = SubgateServer(tmp_path_factory.mktemp("smtpd"), subgate_bin, certs, settings=settings,
                           aliases=aliases)
    server.start()
    yield server
    assert server.close() == 0, server.log_text()[-3000:]


@pytest.fixture
def make_server(tmp_path, subgate_bin, certs):
    """make_server(name="server", start=True, **SubgateServer keywords) -> SubgateServer."""
    servers = []

    def make(name="server", start=True, **kw):
        server = SubgateServer(tmp_path / name, subgate_bin, certs, **kw)
        servers.append(server)
        if start:
            server.start()
        return server

    yield make
    codes = [server.close() for server in servers]
    assert all(code in (0, None) for code in codes), codes  # None: the test stopped it itself


# --- relay fixtures (relaykit.py; imported lazily so that only the relay tests need aiosmtpd) ----


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """relaykit.make_pki(): a test CA, server certificates (good, wrong name, expired, ...) and pins."""
    import relaykit

    return relaykit.make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def smarthost():
    """smarthost(mode="plain", start=True, **relaykit.Smarthost keywords) -> Smarthost, stopped at teardown."""
    import relaykit

    made = []

    def make(mode="plain", start=True, **kw):
        host = relaykit.Smarthost(mode, **kw)
        made.append(host)
        if start:
            host.up()
        return host

    yield make
    for host in made:
        host.close()


@pytest.fixture
def staller():
    """staller(mode, **relaykit.Staller keywords) -> Staller (listening at once), closed at teardown."""
    import relaykit

    made = []

    def make(mode="stop-reading", **kw):
        s = relaykit.Staller(mode, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# --- the test build (CONFIG_TEST_HOOKS) ------------------------------------------------------------


@pytest.fixture
def hooks_bin():
    """$SUBGATE_HOOKS_BIN (`make hooks`); the test is skipped, saying so, when it is not set."""
    path = os.environ.get("SUBGATE_HOOKS_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SUBGATE_HOOKS_BIN (the CONFIG_TEST_HOOKS build, `make hooks`) not set")
    return path


@pytest.fixture
def hooks_server(tmp_path, hooks_bin, certs):
    """hooks_server(name="server", hook="ROLE:ACTION", **SubgateServer keywords) -> an unstarted
    SubgateServer of the test build ($SUBGATE_TEST_HOOK set to `hook`), stopped at teardown."""
    servers = []

    def make(name="server", hook=None, **kw):
        server = SubgateServer(tmp_path / name, hooks_bin, certs, **kw)
        if hook:
            server.env_extra["SUBGATE_TEST_HOOK"] = hook
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
