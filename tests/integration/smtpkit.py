"""Helpers of the SMTP server integration tests (imported by conftest.py and the test_smtp_* files).

- `SubgateServer`: writes a configuration into a directory (certificate, key,
  users.cdb made with `subgate user add`, free loopback ports, a "black hole"
  smarthost that accepts TCP connections and never answers, with
  relay_timeout = 3600 s, so that the relay waits for its greeting for the
  whole test and mail stays in queue/; the relay tests pass their own
  smarthost), runs `subgate serve -f` (jailed: the tests run as root) with stderr (the log) in a
  file, waits for "subgate ready", and stops it with SIGTERM (asserting that
  it exits). `queue_ids()` and `spool_file()` look in queue/ and defer/, so a
  message the relay deferred is still found.
- `SmtpClient`: a raw line-level SMTP client over TCP or TLS (self-signed
  server certificates are accepted) that returns replies as exact text, for
  asserting codes, enhanced codes and wording byte for byte.
- SCRAM-SHA-256 client (RFC 5802/7677) that verifies the server signature.
- Spool file parsing (`SpoolFile`), message builders and dot-stuffing.
- `built_with(binary, "OPTION")`: whether the binary was built with CONFIG_OPTION
  (the features line of `subgate version`).

Everything talks to 127.0.0.0/8 only.
"""

import base64
import hashlib
import hmac
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

HOST = "gw.example.test"
USER = "alice@example.com"
PASSWORD = "correct horse battery staple"
BOB = "bob"
BOB_PASSWORD = "bob-Pa55word-x"
BOB_SENDER = "bob@example.net"

GREETING = f"220 {HOST} ESMTP subgate"
EHLO_PLAIN = [f"250-{HOST}", "250-PIPELINING", "250-SIZE {size}", "250-STARTTLS",
              "250-ENHANCEDSTATUSCODES", "250 8BITMIME"]
EHLO_TLS = [f"250-{HOST}", "250-PIPELINING", "250-SIZE {size}", "250-AUTH PLAIN LOGIN SCRAM-SHA-256",
            "250-ENHANCEDSTATUSCODES", "250 8BITMIME"]
MUST_STARTTLS = "530 5.7.0 Must issue a STARTTLS command first"
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_FAILED = "535 5.7.8 Error: authentication failed"
QUEUED_RE = re.compile(r"250 2\.0\.0 Ok: queued as ([0-9a-f]{16})")

IO_TIMEOUT = 15  # seconds; only a guard against hangs


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def b64d(text):
    return base64.b64decode(text.encode(), validate=True)


def plain_response(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env["LANG"] = "C"
    env["LC_ALL"] = "C"
    return env


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns a true value; returns it. Raises AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- the server -------------------------------------------------------------------------


class SubgateServer:
    """One `subgate serve` process with its own directory, ports, users and spool."""

    def __init__(self, directory, subgate_bin, certs, settings=None, aliases=None, users=None, key="ec",
                 spool=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)  # the jailed auth process (run_as nobody) lives in this directory (users.cdb)
        self.bin = str(subgate_bin)
        self.conf = self.dir / "subgate.conf"
        self.log = self.dir / "subgate.log"
        self.spool = Path(spool) if spool is not None else self.dir / "spool"
        self.proc = None
        self.auth_pid = self.queue_pid = self.keeper_pid = self.relay_pid = self.reload_pid = None
        self.env_extra = {}  # e.g. SUBGATE_TEST_HOOK for the hooks build
        self.preexec = None  # e.g. a function that drops to another user before exec
        self.serve_args = []  # e.g. ["--no-jail"] for such a user
        self.wrapper = []  # a command that execs the rest, e.g. to start it in a mount namespace
        self.expect_alloc_trap = False  # the test provokes the allocation trap itself
        holders = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            holders.append(s)
        self.port, self.tls_port = (s.getsockname()[1] for s in holders)
        for s in holders:
            s.close()
        # A smarthost that accepts and never answers: the relay waits relay_timeout (the maximum) for the
        # greeting of its first connection, delivers nothing, and every message stays in queue/.
        self.blackhole = socket.socket()
        self.blackhole.bind(("127.0.0.1", 0))
        self.blackhole.listen(16)
        (self.dir / "cert.pem").write_bytes(Path(certs[key].cert).read_bytes())
        (self.dir / "key.pem").write_bytes(Path(certs[key].key).read_bytes())
        (self.dir / "key.pem").chmod(0o600)
        self.settings = {
            "hostname": HOST,
            "tls_cert": "cert.pem",
            "tls_key": "key.pem",
            "users": "users.cdb",
            "spool": str(self.spool),
            "run_as": "nobody",
            "pid_file": str(self.dir / "subgate.pid"),  # locked by the master: one per server
            "max_message_size": "10m",
            "smarthost": f"[127.0.0.1]:{self.blackhole.getsockname()[1]}",
            "smarthost_tls": "none",
            "relay_timeout": "3600",
        }
        self.settings.update(settings or {})
        self.aliases = list(aliases if aliases is not None else ["root: admin@example.com, ops@example.com"])
        self.write_conf()
        if users is None:
            users = [(USER, PASSWORD, ["@example.com"]), (BOB, BOB_PASSWORD, [BOB_SENDER])]
        for name, password, senders in users:
            self.add_user(name, password, senders)

    @property
    def max_size(self):
        return parse_size(self.settings["max_message_size"])

    def write_conf(self):
        lines = ["# written by smtpkit.SubgateServer", f"listen = 127.0.0.1:{self.port} starttls",
                 f"listen = 127.0.0.1:{self.tls_port} tls"]
        lines += [f"{k} = {v}" for k, v in self.settings.items()]
        lines += [f"alias = {a}" for a in self.aliases]
        self.conf.write_text("".join(line + "\n" for line in lines))

    def add_user(self, name, password, senders):
        args = [self.bin, "user", "add", name, "--stdin", "-c", str(self.conf)]
        for s in senders:
            args += ["--sender", s]
        r = subprocess.run(args, input=password + "\n", capture_output=True, text=True, env=_env(), timeout=30,
                           stdin=None, start_new_session=True)
        assert r.returncode == 0, f"user add {name}: {r.stderr}"

    def start(self, timeout=15):
        offset = len(self.log_text())  # before the start: a fast server may log "subgate ready" at once
        self.log_fh = open(self.log, "ab")
        self.proc = subprocess.Popen([*self.wrapper, self.bin, "serve", "-f", *self.serve_args, "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self.log_fh, stderr=self.log_fh,
                                     env={**_env(), **self.env_extra}, start_new_session=True,
                                     preexec_fn=self.preexec)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"subgate serve exited with {self.proc.returncode}:\n{self.log_text()}")
            return "subgate ready" in self.log_text()[offset:]

        wait_for(ready, timeout, what="'subgate ready' in the log")
        text = self.log_text()[offset:]
        self.auth_pid = int(re.findall(r"auth process started \(pid (\d+)\)", text)[-1])
        self.queue_pid = int(re.findall(r"queue process started \(pid (\d+)\)", text)[-1])
        self.keeper_pid = int(re.findall(r"relay keeper started \(pid (\d+)\)", text)[-1])
        self.reload_pid = int(re.findall(r"reload process started \(pid (\d+)\)", text)[-1])
        relay = re.findall(r"relay process started \(pid (\d+)\)", text)  # the keeper's worker (a grandchild)
        self.relay_pid = int(relay[-1]) if relay else None
        return self

    def stop(self):
        """SIGTERM; asserts that the master exits (returns its exit status)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        try:
            if proc.poll() is None:
                kids = children_of(proc.pid)
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                    raise AssertionError(f"subgate serve did not exit on SIGTERM:\n{self.log_text()[-3000:]}")
                wait_for(lambda: not any(pid_alive(p) for p in kids), 10,
                         what=f"the children {kids} to exit with the master")
            # the allocation-trap build (make test-alloc-trap): a process that allocated after start-up
            trapped = [line for line in self.log_text().splitlines() if "alloc-trap:" in line and "probe" not in line]
            assert not trapped or self.expect_alloc_trap, "\n".join(trapped)
            return proc.returncode
        finally:
            self.log_fh.close()

    def close(self):
        try:
            return self.stop()
        finally:
            self.blackhole.close()

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10, start=0):
        """Waits for a regex in the log (from character offset `start`); returns the match."""
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log_text(), start), timeout, what=f"log line /{pattern}/")

    # spool -----------------------------------------------------------------------------
    @property
    def queue_dir(self):
        return self.spool / "queue"

    @property
    def tmp_dir(self):
        return self.spool / "tmp"

    @property
    def defer_dir(self):
        return self.spool / "defer"

    def queue_ids(self):
        """Ids of the committed messages: queue/ and defer/ (where the relay moves what it could not deliver)."""
        ids = set(os.listdir(self.queue_dir))
        if self.defer_dir.is_dir():
            ids |= set(os.listdir(self.defer_dir))
        return ids

    def tmp_files(self):
        return sorted(os.listdir(self.tmp_dir))

    def spool_files(self):
        """Every file in tmp/, queue/ and defer/ (relative paths); the jail's etc/ copies are not mail."""
        out = []
        for d in ("tmp", "queue", "defer"):
            for root, _, files in os.walk(self.spool / d):
                out += [os.path.relpath(os.path.join(root, f), self.spool) for f in files]
        return sorted(out)

    def spool_file(self, qid):
        """The committed message `qid`, in queue/ or defer/ (a rename between the two is retried)."""
        for _ in range(50):
            for d in (self.queue_dir, self.defer_dir):
                try:
                    return SpoolFile(d / qid)
                except FileNotFoundError:
                    continue
            time.sleep(0.02)
        raise FileNotFoundError(f"{qid} is neither in {self.queue_dir} nor in {self.defer_dir}")

    def flush(self):
        """SIGUSR1 to the master: every deferred message is due now."""
        os.kill(self.pid, signal.SIGUSR1)

    # processes -------------------------------------------------------------------------
    @property
    def pid(self):
        return self.proc.pid

    def children(self):
        return children_of(self.pid)

    def session_pids(self):
        return [p for p in self.children()
                if p not in (self.auth_pid, self.queue_pid, self.keeper_pid, self.reload_pid)]

    # clients ---------------------------------------------------------------------------
    def connect(self, source=None, implicit=False, timeout=IO_TIMEOUT):
        """A client that has read the greeting (and, with implicit=True, done the TLS handshake)."""
        c = SmtpClient(self.tls_port if implicit else self.port, source=source, tls=implicit, timeout=timeout)
        assert c.reply() == GREETING
        return c

    def session(self, user=USER, password=PASSWORD, source=None, implicit=False):
        """TLS + EHLO + AUTH PLAIN done: ready for MAIL."""
        c = self.connect(source=source, implicit=implicit)
        if not implicit:
            c.ehlo()
            c.starttls()
        assert c.ehlo() == [line.format(size=self.max_size) for line in EHLO_TLS]
        assert c.cmd("AUTH PLAIN " + plain_response(user, password)) == AUTH_OK
        return c


def parse_size(text):
    m = re.fullmatch(r"(\d+)([kmg]?)", text.strip().lower())
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2)]


_FEATURES = {}


def built_with(binary, option):
    """Whether `subgate version` of the binary lists +OPTION (a Kconfig bool, without CONFIG_)."""
    binary = str(binary)
    if binary not in _FEATURES:
        out = subprocess.run([binary, "version"], capture_output=True, text=True, env=_env(), timeout=30,
                             stdin=subprocess.DEVNULL).stdout
        line = re.search(r"^features:(.*)$", out, re.M)
        assert line, f"no features line in `{binary} version`:\n{out}"
        _FEATURES[binary] = {w[1:]: w[0] == "+" for w in line.group(1).split()}
    return _FEATURES[binary].get(option, False)


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def pid_alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


# --- the client -------------------------------------------------------------------------


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ConnectionClosed(AssertionError):
    pass


class SmtpClient:
    def __init__(self, port, source=None, tls=False, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.tls = False
        if tls:
            self._wrap()

    def _wrap(self):
        self.sock = client_context().wrap_socket(self.sock)
        self.tls = True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError, BrokenPipeError):
            chunk = b""
        if not chunk:
            raise ConnectionClosed(f"connection closed by the server (pending bytes: {self.buf!r})")
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            assert b"\n" not in self.buf and b"\r" not in self.buf.rstrip(b"\r"), \
                f"reply line without CRLF: {self.buf!r}"
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def reply(self):
        """One complete reply (all lines of a multi-line reply joined by newline), exactly as sent."""
        lines = []
        while True:
            line = self.read_line()
            assert re.match(r"\d{3}([ -]|$)", line), f"malformed reply line {line!r}"
            if lines:
                assert line[:3] == lines[0][:3], f"mixed codes in one reply: {lines + [line]}"
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, name="client.example.test"):
        return self.cmd(f"EHLO {name}").split("\n")

    def starttls(self):
        assert self.cmd("STARTTLS") == "220 2.0.0 Ready to start TLS"
        assert self.buf == b"", f"bytes after the 220 reply to STARTTLS: {self.buf!r}"
        self._wrap()

    def expect_closed(self, timeout=10):
        """Asserts the server closes the connection without sending anything more."""
        self.sock.settimeout(timeout)
        data = self.buf
        try:
            while True:
                try:
                    chunk = self.sock.recv(65536)
                except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError, BrokenPipeError):
                    chunk = b""
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            raise AssertionError(f"connection still open after {timeout} s (received {data!r})") from None
        assert data == b"", f"unexpected bytes before the close: {data!r}"

    def submit(self, sender, rcpts, message, size=None):
        """MAIL/RCPT/DATA with exact replies; returns the queue id. `message` is unstuffed bytes."""
        param = f" SIZE={size}" if size is not None else ""
        assert self.cmd(f"MAIL FROM:<{sender}>{param}") == "250 2.1.0 Ok"
        for r in rcpts:
            assert self.cmd(f"RCPT TO:<{r}>") == "250 2.1.5 Ok"
        assert self.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        self.send(dot_stuff(message))
        reply = self.reply()
        m = QUEUED_RE.fullmatch(reply)
        assert m, reply
        return m.group(1)


# --- SCRAM-SHA-256 ----------------------------------------------------------------------


def _hmac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def scram_login(c, user, password, initial=True, nonce=None, tamper_proof=False):
    """Runs AUTH SCRAM-SHA-256 on client c. Returns the final reply text.

    Verifies the server-first message (nonce prefix, salt, iterations) and the
    server signature v= against our own computation from the password."""
    nonce = nonce or b64(os.urandom(18))
    name = user.replace("=", "=3D").replace(",", "=2C")
    bare = f"n={name},r={nonce}"
    first = "n,," + bare
    if initial:
        r = c.cmd("AUTH SCRAM-SHA-256 " + b64(first))
    else:
        r = c.cmd("AUTH SCRAM-SHA-256")
        assert r == "334 ", r
        r = c.cmd(b64(first))
    if not r.startswith("334 "):
        return r
    server_first = b64d(r[4:]).decode()
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    assert list(attrs) == ["r", "s", "i"], server_first
    assert attrs["r"].startswith(nonce) and len(attrs["r"]) > len(nonce), server_first
    salt, iterations = b64d(attrs["s"]), int(attrs["i"])
    assert len(salt) >= 16 and iterations >= 4096, server_first
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = _hmac(salted, b"Server Key")
    without_proof = f"c={b64('n,,')},r={attrs['r']}"
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    proof = bytes(a ^ b for a, b in zip(client_key, _hmac(stored_key, auth_message)))
    if tamper_proof:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    r = c.cmd(b64(f"{without_proof},p={b64(proof)}"))
    if not r.startswith("334 "):
        return r
    assert b64d(r[4:]).decode() == "v=" + b64(_hmac(server_key, auth_message)), "wrong server signature"
    return c.cmd("")


# --- messages and the spool -------------------------------------------------------------


def make_message(marker, sender=USER, to="rcpt@example.org", body=None, message_id=True, date=True):
    """A CRLF message; with Message-ID and Date unless told otherwise, so nothing is inserted."""
    lines = [f"From: <{sender}>", f"To: <{to}>", f"Subject: test {marker}"]
    if date:
        lines.append("Date: Mon, 01 Jan 2024 12:00:00 +0000")
    if message_id:
        lines.append(f"Message-ID: <{marker}@client.example.test>")
    lines.append("")
    lines += body if body is not None else [f"marker {marker}", "second line"]
    return "".join(line + "\r\n" for line in lines).encode()


def dot_stuff(message):
    """Dot-stuffs a CRLF message and appends the end-of-data line."""
    assert message == b"" or message.endswith(b"\r\n")
    out = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                   for line in message.split(b"\r\n")[:-1])
    return out + b".\r\n"


class SpoolFile:
    """A queue file: text envelope (LF lines), an empty line, then the message (CRLF lines)."""

    def __init__(self, path):
        self.path = Path(path)
        self.data = self.path.read_bytes()
        head, sep, self.message = self.data.partition(b"\n\n")
        assert sep, f"{path}: no empty line after the envelope"
        lines = head.decode().split("\n")
        assert lines[0] == "subgate-spool 1", lines
        assert re.fullmatch(r"arrival \d+", lines[1]), lines
        self.arrival = int(lines[1].split()[1])
        assert lines[2].startswith("sender "), lines
        self.sender = lines[2][7:]
        assert lines[3].startswith("user "), lines
        self.user = lines[3][5:]
        assert lines[4].startswith("client "), lines
        self.client = lines[4][7:]
        self.rcpts = []
        self.states = {}  # address -> P (pending), D (delivered) or B (bounced)
        for line in lines[5:]:
            m = re.fullmatch(r"rcpt ([PDB]) (\S+)", line)
            assert m, f"bad envelope line {line!r}"
            self.rcpts.append(m.group(2))
            self.states[m.group(2)] = m.group(1)
        # The Received: header added by the server: first line plus continuation lines.
        assert self.message.startswith(b"Received: "), self.message[:200]
        pos = self.message.index(b"\r\n") + 2
        while self.message[pos:pos + 1] in (b"\t", b" "):
            pos = self.message.index(b"\r\n", pos) + 2
        self.received = self.message[:pos]
        self.content = self.message[pos:]
