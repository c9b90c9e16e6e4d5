"""Real SMTP clients against the server: each logs in over TLS and submits one message.

Covers: Python's smtplib (STARTTLS on the submission port, SMTP_SSL on the
implicit TLS port, AUTH PLAIN/LOGIN chosen by smtplib), swaks (--tls and
--tlsc, each also with --pipeline), curl (smtp:// with --ssl-reqd and
smtps://), msmtp (STARTTLS, from a msmtprc), s-nail (STARTTLS and smtps://) and `openssl s_client -starttls smtp` driven line by line. For each,
the queue file is checked: envelope sender, user, recipient, the server's
Received: header, and the message (byte for byte where the client sends our
bytes unchanged, else the marker in the body).

The tools are Debian packages (scripts/apt-need.sh swaks curl msmtp openssl s-nail);
a missing tool fails the test with a hint rather than skipping it.
"""

import queue
import re
import shutil
import smtplib
import subprocess
import threading
from urllib.parse import quote

import pytest

from smtpkit import (AUTH_OK, BOB, BOB_PASSWORD, BOB_SENDER, HOST, PASSWORD, QUEUED_RE, USER, client_context,
                     make_message, plain_response)

RCPT = "rcpt@example.org"


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: run scripts/apt-need.sh swaks curl msmtp openssl s-nail")
    return path


def one_new(smtpd, before):
    new = smtpd.queue_ids() - before
    assert len(new) == 1, new
    return smtpd.spool_file(new.pop())


def check(f, marker, sender="alice@example.com", user=USER, rcpts=(RCPT,)):
    assert (f.sender, f.user, f.client, f.rcpts) == (sender, user, "127.0.0.1", list(rcpts))
    assert f"Authenticated sender: {user})".encode() in f.received
    assert b"TLSv1.2 with cipher " in f.received
    assert f"by {HOST} ".encode() in f.received
    assert marker.encode() in f.content
    assert b"\r\n\r\n" in f.content
    assert b"\n" not in f.content.replace(b"\r\n", b"")
    assert b"\r" not in f.content.replace(b"\r\n", b"")


def run(args, input=None, timeout=30):
    return subprocess.run(args, input=input, capture_output=True, timeout=timeout,
                          stdin=None if input else subprocess.DEVNULL)


def test_smtplib_starttls(smtpd):
    before = smtpd.queue_ids()
    message = make_message("smtplib-starttls", body=["hello", ".leading dot", "..two"])
    with smtplib.SMTP("127.0.0.1", smtpd.port, local_hostname="client.example.test", timeout=15) as s:
        assert s.ehlo()[0] == 250
        assert not s.has_extn("auth")
        assert s.starttls(context=client_context())[0] == 220
        assert s.ehlo()[0] == 250
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
        assert s.login(USER, PASSWORD) == (235, b"2.7.0 Authentication successful")
        assert s.sendmail("alice@example.com", [RCPT], message) == {}
    f = one_new(smtpd, before)
    check(f, "smtplib-starttls")
    assert f.content == message


def test_smtplib_ssl_auth_login(smtpd):
    before = smtpd.queue_ids()
    message = make_message("smtplib-ssl", sender=BOB_SENDER)
    with smtplib.SMTP_SSL("127.0.0.1", smtpd.tls_port, local_hostname="client.example.test",
                          context=client_context(), timeout=15) as s:
        s.ehlo()
        s.user, s.password = BOB, BOB_PASSWORD
        assert s.auth("LOGIN", s.auth_login) == (235, b"2.7.0 Authentication successful")
        code, reply = s.mail(BOB_SENDER)
        assert (code, reply) == (250, b"2.1.0 Ok")
        assert s.rcpt(RCPT) == (250, b"2.1.5 Ok")
        code, reply = s.data(message)
        assert code == 250 and QUEUED_RE.fullmatch("250 " + reply.decode()), reply
    f = one_new(smtpd, before)
    check(f, "smtplib-ssl", sender=BOB_SENDER, user=BOB)
    assert f.content == message


def test_smtplib_refused_sender(smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd.port, timeout=15) as s:
        s.starttls(context=client_context())
        s.login(BOB, BOB_PASSWORD)
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("alice@example.com", [RCPT], make_message("refused"))
        assert e.value.smtp_code == 553
        assert e.value.smtp_error == b"5.7.1 <alice@example.com>: Sender address rejected: not owned by user bob"


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize("mode", ["--tls", "--tlsc"])
def test_swaks(smtpd, mode, pipeline):
    """With --pipeline, swaks sends MAIL, RCPT and DATA at once after AUTH: allowed (RFC 2920), while
    pipelining before AUTH is refused (test_smtp_protocol.py)."""
    before = smtpd.queue_ids()
    marker = f"swaks{mode}{'-pipeline' if pipeline else ''}"
    port = smtpd.port if mode == "--tls" else smtpd.tls_port
    r = run([tool("swaks"), "--server", f"127.0.0.1:{port}", mode, "--auth", "PLAIN", "--auth-user", USER,
             "--auth-password", PASSWORD, "--from", "alice@example.com", "--to", RCPT,
             "--helo", "client.example.test", "--header", f"Subject: {marker}", "--body", f"marker {marker}",
             "--timeout", "15", *(["--pipeline"] if pipeline else [])])
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    assert "<~  235 2.7.0 Authentication successful" in out, out
    m = re.search(r"<~  250 2\.0\.0 Ok: queued as ([0-9a-f]{16})", out)
    assert m, out
    f = one_new(smtpd, before)
    assert f.path.name == m.group(1)
    check(f, f"marker {marker}")
    assert b"\r\nSubject: " + marker.encode() + b"\r\n" in f.content


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_curl(smtpd, scheme, tmp_path):
    before = smtpd.queue_ids()
    message = make_message(f"curl-{scheme}", body=["from curl", ".dot line", "end"])
    path = tmp_path / "message.eml"
    path.write_bytes(message)
    port = smtpd.port if scheme == "smtp" else smtpd.tls_port
    r = run([tool("curl"), "--silent", "--show-error", "--verbose", "--ssl-reqd", "--insecure",
             "--max-time", "20", f"{scheme}://127.0.0.1:{port}/client.example.test",
             "--mail-from", "alice@example.com", "--mail-rcpt", RCPT, "--user", f"{USER}:{PASSWORD}",
             "--upload-file", str(path)])
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    assert "< 235 2.7.0 Authentication successful" in err, err
    m = re.search(r"< 250 2\.0\.0 Ok: queued as ([0-9a-f]{16})", err)
    assert m, err
    f = one_new(smtpd, before)
    assert f.path.name == m.group(1)
    check(f, f"curl-{scheme}")
    assert f.content == message


def test_msmtp(smtpd, tmp_path):
    before = smtpd.queue_ids()
    rc = tmp_path / "msmtprc"
    rc.write_text("\n".join([
        "defaults", "tls on", "tls_starttls on", "tls_certcheck off", "auth on",
        "account default", "host 127.0.0.1", f"port {smtpd.port}", "from alice@example.com",
        f"user {USER}", f"password {PASSWORD}", "domain client.example.test", "timeout 15", ""]))
    rc.chmod(0o600)
    message = make_message("msmtp-starttls").replace(b"\r\n", b"\n")  # a local program writes LF
    r = run([tool("msmtp"), "-C", str(rc), "-a", "default", RCPT], input=message)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    f = one_new(smtpd, before)
    check(f, "msmtp-starttls")
    assert f.content.endswith(message.replace(b"\n", b"\r\n").split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize("implicit", [False, True])
def test_s_nail(smtpd, tmp_path, implicit):
    """s-nail (mailx), a MUA: STARTTLS on 587 or TLS on 465, AUTH PLAIN, then the message."""
    before = smtpd.queue_ids()
    marker = f"s-nail-{'smtps' if implicit else 'starttls'}"
    cred = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}"
    mta = f"smtps://{cred}@127.0.0.1:{smtpd.tls_port}" if implicit else f"smtp://{cred}@127.0.0.1:{smtpd.port}"
    args = [tool("s-nail"), "-:/", "-Sv15-compat", "-Ssendwait", "-Sttycharset=utf-8", f"-Smta={mta}",
            "-Stls-verify=ignore", "-Ssmtp-auth=plain", "-Sfrom=alice@example.com",
            "-Shostname=client.example.test", "-s", f"test {marker}", RCPT]
    if not implicit:
        args.insert(-3, "-Ssmtp-use-starttls")
    r = run(args, input=f"marker {marker}\nsecond line\n".encode(), timeout=30)
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")
    f = one_new(smtpd, before)
    check(f, f"marker {marker}")


class SClient:
    """openssl s_client -starttls smtp, fed line by line; replies read from its stdout."""

    def __init__(self, port):
        self.proc = subprocess.Popen([tool("openssl"), "s_client", "-starttls", "smtp", "-connect",
                                      f"127.0.0.1:{port}", "-quiet", "-ign_eof"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def cmd(self, line):
        self.proc.stdin.write(line.encode() + b"\r\n")
        self.proc.stdin.flush()
        return self.reply()

    def reply(self):
        out = []
        while True:
            line = self.lines.get(timeout=15)
            assert line is not None, f"s_client ended; so far {out}"
            assert line.endswith(b"\r\n"), line
            out.append(line[:-2].decode())
            if out[-1][3:4] != "-":
                return "\n".join(out)

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_openssl_s_client(smtpd):
    before = smtpd.queue_ids()
    message = make_message("openssl-s-client", body=["via s_client", "..stuffed"])
    c = SClient(smtpd.port)
    try:
        ehlo = c.cmd("EHLO client.example.test").split("\n")
        assert "250-AUTH PLAIN LOGIN SCRAM-SHA-256" in ehlo and "250-STARTTLS" not in ehlo, ehlo
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd(f"RCPT TO:<{RCPT}>") == "250 2.1.5 Ok"
        assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        for line in message.split(b"\r\n")[:-1]:
            c.proc.stdin.write((b"." + line if line.startswith(b".") else line) + b"\r\n")
        reply = c.cmd(".")
        assert QUEUED_RE.fullmatch(reply), reply
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    finally:
        c.close()
    f = one_new(smtpd, before)
    assert f.path.name == QUEUED_RE.fullmatch(reply).group(1)
    check(f, "openssl-s-client")
    assert f.content == message


def test_smtplib_large_message(smtpd):
    """A message of several MiB (limit 10 MiB) passes through TLS and the queue unchanged."""
    before = smtpd.queue_ids()
    line = "".join(chr(33 + i % 90) for i in range(900))
    message = make_message("large", body=[f"{i:06d} {line}" for i in range(8 * 1024)])
    assert 7 * 1024 * 1024 < len(message) < 9 * 1024 * 1024
    with smtplib.SMTP_SSL("127.0.0.1", smtpd.tls_port, context=client_context(), timeout=30) as s:
        s.login(USER, PASSWORD)
        assert s.sendmail("alice@example.com", [RCPT], message) == {}  # smtplib sends SIZE=
    f = one_new(smtpd, before)
    check(f, "large")
    assert f.content == message
