"""Relay against a malicious smarthost: always deferred, never plaintext after a TLS failure, never a bounce.

A scripted raw smarthost double (relaykit.RawSmarthost) answers what no
honest server would: 454 to STARTTLS; a "220" to STARTTLS and then
plaintext instead of a handshake (a stripping middlebox); a plaintext
greeting where implicit TLS was expected; reply lines of 1 MiB (in the
greeting, the EHLO reply and the MAIL reply); 200,000 continuation lines to
EHLO and a never-ending multi-line reply to MAIL; a TLS 1.0-only server
(STARTTLS and implicit TLS). Each time: status=deferred in the log with a
reason that names the fault, nothing delivered, no AUTH, MAIL, RCPT or DATA
seen by the double after the fault (the credentials never cross a refused
or failed TLS channel), the message in defer/ with its recipient pending,
no bounce. The relay survives: the same worker delivers the message once
the double behaves (switched to good replies, then the master's SIGUSR1,
as `subgate queue flush` sends it). Over-long lines and floods end at the
relay's own limits ("reply line too long" after 64 KiB, "malformed reply"
after 64 lines), not at a timeout (relay_timeout is 30 s here), and the
never-ending reply proves it: the double stops only when the relay hangs up.

With the test build (CONFIG_TEST_HOOKS, $SUBGATE_HOOKS_BIN) the relay's
clock is injected (SUBGATE_TEST_CLOCK). At 1970, as on a device without RTC
at boot, certificates are judged at the clock floor (the build date): one
valid since 2001 still verifies and the mail goes out, with the "before
this build's date" warning; one valid only from tomorrow on is deferred with
"(clock floor used)". A clock 60 days ahead sees today's certificate expired:
deferred, never bounced.

Covered elsewhere: the reply injected behind the 220 to STARTTLS
(test_relay_smarthost.py); STARTTLS not offered, expired, not-yet-valid,
wrong-name and unknown-CA certificates, a pin mismatch (test_relay_tls.py).
"""

import itertools
import re
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from relaykit import (RawSmarthost, pending_ids, read_envelope, relay_pids, relay_settings, server_context,
                      spool_where, write_secret)
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RCPT = "hostile@example.org"
MIB = 1 << 20


@pytest.fixture
def raw_smarthost():
    """raw_smarthost(script=None, **RawSmarthost keywords) -> RawSmarthost, closed at teardown."""
    made = []

    def make(script=None, **kw):
        host = RawSmarthost(script, **kw)
        made.append(host)
        return host

    yield make
    for host in made:
        host.close()
    for host in made:
        assert host.error is None, f"the smarthost double failed: {host.error!r}"


def status_re(qid, status):
    return rf"{qid}: to=<{re.escape(RCPT)}>, relay=\S+, delay=\d+s, tls=\S+, status={status} \((.*)\)"


def submit(server, marker):
    with server.session() as c:
        return c.submit(USER, [RCPT], make_message(marker))


def assert_deferred(server, host, qid, reason):
    """Deferred with `reason` (a regex), in defer/ with its recipient pending, nothing delivered, no bounce."""
    m = server.wait_log(status_re(qid, "deferred"))
    assert re.fullmatch(reason, m.group(1)), m.group(0)
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert read_envelope(server, qid).rcpts == [("P", RCPT)]
    assert pending_ids(server) == [qid]  # no bounce queued
    log = server.log_text()
    assert "status=bounced" not in log and "bounce" not in log and "status=sent" not in log, log[-2000:]
    assert host.messages == []
    return m


def assert_nothing_after(conn, verbs=("AUTH", "MAIL", "RCPT", "DATA")):
    """The relay sent none of `verbs`, neither as a command we read nor anywhere in the plaintext bytes."""
    assert not set(verbs) & set(conn.verbs()), conn.commands
    for verb in verbs:
        assert verb.encode() not in bytes(conn.plain), bytes(conn.plain[:2000])


def assert_recovers(server, host, qid):
    """The same relay worker delivers the message once the double answers well."""
    worker = server.relay_pid
    host.script = {}
    server.flush()
    m = server.wait_log(status_re(qid, "sent"))
    assert m.group(1) == "250 2.0.0 Ok: queued as RAW", m.group(0)
    server.wait_log(rf"{qid}: removed")
    [message] = host.messages
    assert message.endswith(make_message("recover"))
    assert pending_ids(server) == []
    assert relay_pids(server) == [worker], "the relay worker was restarted"
    assert "bounce" not in server.log_text()


def hostile_server(make_server, host, tls="none", name="localhost", **extra):
    """A gateway whose smarthost is the double: one attempt per flush (retry_min 1h), a long relay_timeout."""
    return make_server(settings=relay_settings(host.port, tls, name, retry_min="1h", retry_max="2h",
                                               relay_timeout="30", **extra))


# --- STARTTLS refused or stripped -----------------------------------------------------------------------------


def test_454_to_starttls_defers_without_plaintext(make_server, raw_smarthost, pki, tmp_path):
    host = raw_smarthost({"starttls": b"454 4.7.0 TLS not available due to temporary reason\r\n"},
                         ctx=server_context(pki.localhost))
    server = hostile_server(make_server, host, "starttls", smarthost_ca=pki.ca, smarthost_auth=write_secret(tmp_path))
    qid = submit(server, "recover")
    assert_deferred(server, host, qid,
                    r"STARTTLS refused: 454 4\.7\.0 TLS not available due to temporary reason")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert conn.verbs()[:2] == ["EHLO", "STARTTLS"] and not conn.tls
    assert set(conn.verbs()[2:]) <= {"QUIT"}, conn.commands
    assert_nothing_after(conn)
    assert_recovers(server, host, qid)
    assert host.conns[-1].tls and host.conns[-1].verbs()[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"]


def test_220_to_starttls_then_plaintext_defers(make_server, raw_smarthost, pki, tmp_path):
    """A stripping middlebox: it says 220 to STARTTLS and goes on in plaintext. The handshake fails; no AUTH."""
    host = raw_smarthost({"handshake": False}, ctx=server_context(pki.localhost))
    server = hostile_server(make_server, host, "starttls", smarthost_ca=pki.ca, smarthost_auth=write_secret(tmp_path))
    qid = submit(server, "stripped")
    assert_deferred(server, host, qid, rf"TLS handshake with localhost\[127\.0\.0\.1\]:{host.port} failed: .*")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert conn.verbs()[:2] == ["EHLO", "STARTTLS"] and not conn.tls
    assert_nothing_after(conn)
    assert b"\x16\x03" in bytes(conn.plain), "no ClientHello after the 220"  # the relay tried TLS, not plaintext


def test_plaintext_server_for_implicit_tls_defers(make_server, raw_smarthost, pki, tmp_path):
    host = raw_smarthost()  # a plaintext greeting where a ServerHello belongs
    server = hostile_server(make_server, host, "tls", smarthost_ca=pki.ca, smarthost_auth=write_secret(tmp_path))
    qid = submit(server, "implicit")
    assert_deferred(server, host, qid, rf"TLS handshake with localhost\[127\.0\.0\.1\]:{host.port} failed: .*")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert_nothing_after(conn, ("EHLO", "AUTH", "MAIL", "RCPT", "DATA"))
    assert bytes(conn.plain).startswith(b"\x16\x03"), bytes(conn.plain[:64])  # a ClientHello, nothing in clear


# --- over-long replies and floods ---------------------------------------------------------------------------


def long_line(code):
    return lambda: [code + b" ", b"x" * MIB, b"\r\n"]


@pytest.mark.parametrize("stage", ["greeting", "ehlo", "mail"])
def test_reply_line_of_one_mib_defers(make_server, raw_smarthost, stage):
    host = raw_smarthost({stage: long_line(b"220" if stage == "greeting" else b"250")})
    server = hostile_server(make_server, host)
    qid = submit(server, "recover")
    assert_deferred(server, host, qid, rf"reply line too long from localhost\[127\.0\.0\.1\]:{host.port}")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert_nothing_after(conn, ("RCPT", "DATA") if stage == "mail" else ("MAIL", "RCPT", "DATA"))
    assert_recovers(server, host, qid)


def test_ehlo_flood_defers(make_server, raw_smarthost):
    """200,000 continuation lines to EHLO: the relay stops at its reply line limit."""
    host = raw_smarthost({"ehlo": lambda: itertools.chain(
        [b"250-raw.example.test\r\n"], itertools.repeat(b"250-x\r\n" * 1000, 200), [b"250 8BITMIME\r\n"])})
    server = hostile_server(make_server, host)
    qid = submit(server, "recover")
    assert_deferred(server, host, qid, rf"malformed reply from localhost\[127\.0\.0\.1\]:{host.port}")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert_nothing_after(conn, ("MAIL", "RCPT", "DATA"))
    assert_recovers(server, host, qid)


def test_never_ending_reply_to_mail_defers(make_server, raw_smarthost):
    """A multi-line reply that never ends: the double sends until the relay hangs up, so the relay must."""
    host = raw_smarthost({"mail": lambda: itertools.repeat(b"250-x\r\n" * 1000)})
    server = hostile_server(make_server, host)
    qid = submit(server, "recover")
    assert_deferred(server, host, qid, rf"malformed reply from localhost\[127\.0\.0\.1\]:{host.port}")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert conn.cut
    assert_nothing_after(conn, ("RCPT", "DATA"))
    assert_recovers(server, host, qid)


# --- TLS 1.0 -----------------------------------------------------------------------------------------------------


def tls10_context(cert):
    ctx = server_context(cert)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    return ctx


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_tls10_only_server_defers(make_server, raw_smarthost, pki, tmp_path, mode):
    host = raw_smarthost(ctx=tls10_context(pki.localhost), implicit=mode == "tls")
    server = hostile_server(make_server, host, mode, smarthost_ca=pki.ca, smarthost_auth=write_secret(tmp_path))
    qid = submit(server, "tls10")
    assert_deferred(server, host, qid, rf"TLS handshake with localhost\[127\.0\.0\.1\]:{host.port} failed: "
                                       r"(unsupported protocol version|server sent fatal alert (40|70))")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert not conn.tls and conn.tls_error is not None
    assert conn.verbs()[:2] == (["EHLO", "STARTTLS"] if mode == "starttls" else [])
    assert_nothing_after(conn)


# --- the device clock (the test build: SUBGATE_TEST_CLOCK) ----------------------------------------------------------


def clock_server(hooks_server, host, pki, tmp_path, clock):
    """A gateway of the test build whose relay believes it is `clock` (seconds since 1970)."""
    if subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[2]), "log", "-1", "--format=%ct"],
                      capture_output=True, timeout=30).returncode != 0:
        pytest.skip("no git history: the build may have no build date (SUBGATE_BUILD_EPOCH 0), so no clock floor")
    server = hooks_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                  smarthost_auth=write_secret(tmp_path), retry_min="1h",
                                                  retry_max="2h", relay_timeout="30"))
    server.env_extra["SUBGATE_TEST_CLOCK"] = str(clock)
    return server.start()


def test_clock_at_1970_judges_certificates_at_the_build_date(hooks_server, raw_smarthost, pki, tmp_path):
    """A device without RTC boots in 1970: a certificate valid since 2001 still verifies (at the clock floor)."""
    host = raw_smarthost(ctx=server_context(pki.since_2001))
    server = clock_server(hooks_server, host, pki, tmp_path, 0)
    qid = submit(server, "clock")
    m = server.wait_log(status_re(qid, r"\w+"))
    assert "status=sent (250 2.0.0 Ok: queued as RAW)" in m.group(0), m.group(0)
    assert "relay: the system clock is before this build's date" in server.log_text()
    [conn] = host.conns
    assert conn.tls and conn.verbs()[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"]
    [message] = host.messages
    assert message.endswith(make_message("clock"))
    server.wait_log(rf"{qid}: removed")


def test_clock_at_1970_certificate_not_yet_valid_at_the_floor_defers(hooks_server, raw_smarthost, pki, tmp_path):
    host = raw_smarthost(ctx=server_context(pki.not_yet_valid))
    server = clock_server(hooks_server, host, pki, tmp_path, 0)
    qid = submit(server, "floor")
    assert_deferred(server, host, qid, rf"TLS handshake with localhost\[127\.0\.0\.1\]:{host.port} failed: "
                                       r"certificate expired or not yet valid \(clock floor used\)")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert conn.verbs()[:2] == ["EHLO", "STARTTLS"] and not conn.tls
    assert_nothing_after(conn)


def test_clock_in_the_future_defers(hooks_server, raw_smarthost, pki, tmp_path):
    """A clock 60 days ahead: the certificate has expired for the relay; deferred, not bounced, no floor."""
    host = raw_smarthost(ctx=server_context(pki.localhost))
    server = clock_server(hooks_server, host, pki, tmp_path, int(time.time()) + 60 * 86400)
    qid = submit(server, "future")
    assert_deferred(server, host, qid, rf"TLS handshake with localhost\[127\.0\.0\.1\]:{host.port} failed: "
                                       r"certificate expired or not yet valid")
    [conn] = host.conns
    wait_for(lambda: conn.closed, what="the relay to hang up")
    assert_nothing_after(conn)
    assert "the system clock is before this build's date" not in server.log_text()
