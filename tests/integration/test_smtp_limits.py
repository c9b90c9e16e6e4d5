"""Session limits: timeouts, connection limits, and 50 concurrent TLS sessions.

Covers: command_timeout (an idle client after the greeting, and one that
stopped in the middle of a command line under TLS, get 421 4.4.2 and the
connection closes); data_timeout in the middle of DATA (421 4.4.2, nothing
queued, tmp/ emptied); a TLS handshake that never starts or stops half-way
(implicit TLS port, after STARTTLS) ends with the connection closed (the time
it takes is printed, only a generous bound is asserted); max_sessions_per_addr = 2 (the third concurrent
connection from one address gets 421 4.7.0 on the STARTTLS port and, after
the TLS handshake, on the TLS port; other addresses are served; a slot is free again
once a session ends); max_sessions (the connection beyond the total gets the
same 421); and 50 concurrent TLS sessions from 127.0.0.10-19 submitting 3
messages each over one connection: all 150 queued, distinct, each with its
own marker. The elapsed time and rate are printed, not asserted.
"""

import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import fresh_source
from smtpkit import GREETING, HOST, ConnectionClosed, SmtpClient, make_message, wait_for

SMTPD_SETTINGS = {"command_timeout": "2", "data_timeout": "2"}
TIMEOUT = f"421 4.4.2 {HOST} Error: timeout exceeded"
BUSY = "421 4.7.0 Error: too many connections; try again later"


def test_command_timeout_after_greeting(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        assert c.reply() == TIMEOUT
        c.expect_closed()


def test_command_timeout_in_a_partial_line_under_tls(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        c.send(b"NOOP")  # no CRLF: the timeout still applies
        assert c.reply() == TIMEOUT
        c.expect_closed()


def test_data_timeout(smtpd):
    before = smtpd.spool_files()
    with smtpd.session(source=fresh_source()) as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        c.send(make_message("stalled") + b"more text without an end")
        assert c.reply() == TIMEOUT
        c.expect_closed()
    keep = [f for f in before if not f.startswith("tmp/")]
    wait_for(lambda: smtpd.spool_files() == keep, what="the spool without the stalled message")


def greeting_or_none(port, source, tls=False):
    """The first reply line, or None when the server closes without one."""
    try:
        c = SmtpClient(port, source=source, tls=tls, timeout=10)
    except (ssl.SSLError, ConnectionResetError, OSError):
        return None
    try:
        return c.reply()
    except ConnectionClosed:
        return None
    finally:
        c.close()


def test_sessions_per_address(make_server):
    smtpd = make_server(settings={"max_sessions_per_addr": "2"})
    source, other = "127.0.4.1", "127.0.4.2"
    first = smtpd.connect(source=source)
    second = smtpd.connect(source=source, implicit=True)
    try:
        with SmtpClient(smtpd.port, source=source) as third:
            assert third.reply() == BUSY
            third.expect_closed()
        # on the TLS port the refusal completes the handshake first (test_smtp_slots.py)
        assert greeting_or_none(smtpd.tls_port, source, tls=True) == BUSY
        # the two admitted sessions are unaffected
        assert first.cmd("NOOP") == "250 2.0.0 Ok"
        assert second.cmd("NOOP") == "250 2.0.0 Ok"
        # another address is served
        with smtpd.connect(source=other) as c:
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
    finally:
        first.close()
    try:
        # once a session ends its slot is given back (the master notices the exit)
        wait_for(lambda: greeting_or_none(smtpd.port, source) == GREETING, timeout=10, interval=0.2,
                 what="a free slot after one session ended")
    finally:
        second.close()


def test_max_sessions(make_server):
    # stress_login_timeout: these sessions are too young to be closed for the newcomer
    server = make_server(settings={"max_sessions": "3", "max_sessions_per_addr": "10",
                                   "stress_login_timeout": "3600"})
    clients = [server.connect(source=f"127.0.5.{i}") for i in range(1, 4)]
    try:
        with SmtpClient(server.port, source="127.0.5.4") as c:
            assert c.reply() == BUSY
            c.expect_closed()
        for c in clients:
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
    finally:
        for c in clients:
            c.close()


SESSIONS = 50
PER_SESSION = 3


def test_fifty_concurrent_sessions(make_server, capsys):
    server = make_server(settings={"max_sessions": "64"})
    barrier = threading.Barrier(SESSIONS, timeout=60)
    sent = {}

    def run(n):
        source = f"127.0.0.{10 + n % 10}"
        c = server.session(source=source)
        try:
            barrier.wait()  # all 50 sessions are open and authenticated at the same time
            ids = []
            for k in range(PER_SESSION):
                marker = f"s{n:02d}m{k}-{threading.get_ident()}"
                message = make_message(marker, body=[f"marker {marker}", "x" * 200])
                qid = c.submit("alice@example.com", [f"r{n}@example.org"], message)
                sent[qid] = (message, source)
                ids.append(qid)
            assert c.cmd("QUIT") == "221 2.0.0 Bye"
            return ids
        finally:
            c.close()

    t0 = time.monotonic()
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(run, range(SESSIONS)))
    elapsed = time.monotonic() - t0
    ids = [qid for r in results for qid in r]
    assert len(ids) == SESSIONS * PER_SESSION
    assert len(set(ids)) == len(ids)
    assert server.queue_ids() == set(ids)
    assert server.tmp_files() == []
    markers = set()
    for qid, (message, source) in sent.items():
        f = server.spool_file(qid)
        assert (f.content, f.client) == (message, source)
        markers.add(message.split(b"marker ", 1)[1].split(b"\r\n", 1)[0])
    assert len(markers) == SESSIONS * PER_SESSION
    with capsys.disabled():
        print(f"\n[50 sessions x 3 messages] {len(ids)} messages in {elapsed:.2f} s "
              f"({len(ids) / elapsed:.0f} messages/s, incl. TLS handshakes and logins)")


def test_idle_tls_handshake_is_closed(smtpd):
    """A client that connects and never completes the TLS handshake (implicit TLS port, or after
    STARTTLS) loses the connection; the bound is generous, only to avoid a hang."""

    def idle(kind):
        if kind == "implicit":
            c = SmtpClient(smtpd.tls_port, source=fresh_source(), timeout=30)
        else:
            c = smtpd.connect(source=fresh_source(), timeout=30)
            c.ehlo()
            assert c.cmd("STARTTLS") == "220 2.0.0 Ready to start TLS"
        with c:
            if kind == "partial":
                c.send(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, then nothing
            t0 = time.monotonic()
            c.sock.settimeout(30)
            data = b""
            try:
                while True:
                    chunk = c.sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            except TimeoutError:
                raise AssertionError(f"{kind}: connection still open after 30 s") from None
            # nothing, or a TLS alert record
            assert data == b"" or data.startswith(b"\x15\x03"), (kind, data)
            return round(time.monotonic() - t0, 1)

    with ThreadPoolExecutor(3) as pool:
        waited = dict(zip(("implicit", "starttls", "partial"), pool.map(idle, ("implicit", "starttls", "partial"))))
    print(f"idle handshakes closed after {waited} s (command_timeout = 2)")
