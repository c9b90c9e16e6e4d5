"""bench/loadgen (the SMTP load generator) against aiosmtpd sinks on loopback (relaykit.Smarthost).

The binary comes from $SUBGATE_LOADGEN (build it with `make build/loadgen`); without it the
tests are skipped (conftest.env_skip: a failure under CI). Checked: every message arrives once with the asked body size and valid
headers, the JSON line agrees with what the sink saw (messages, connections, handshakes),
STARTTLS + AUTH, implicit TLS, --ca with a name check and --insecure, and every failure
gives a non-zero exit: a wrong password, an unknown CA, rejected messages, a server that
never answers (bounded by --max-seconds).
"""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import env_skip

LOADGEN = os.environ.get("SUBGATE_LOADGEN")


@pytest.fixture(autouse=True)
def _loadgen_built():
    if not LOADGEN:
        env_skip("SUBGATE_LOADGEN is not set (path of the built loadgen binary)")

USER, PASSWORD = "bench@example.com", "loadgen password"
HEADERS = ("From", "To", "Subject", "Date", "Message-ID")


def loadgen(*args, timeout=60):
    """Runs loadgen (--timeout 10 unless args say otherwise); returns (CompletedProcess, the JSON line or None)."""
    r = subprocess.run([LOADGEN, "--timeout", "10", *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=timeout)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(lines) <= 1, r.stdout
    return r, (json.loads(lines[0]) if lines else None)


def check_message(t, size):
    """One received message: envelope, RFC 5322 header fields, line lengths, body size."""
    assert t.mail_from == "bench@example.com" and t.rcpt_tos == ["sink@example.org"]
    head, sep, body = t.content.partition(b"\r\n\r\n")
    assert sep and len(body) == size, (len(body), size)
    names = [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")]
    assert sorted(names) == sorted(HEADERS), names
    for line in t.content.split(b"\r\n"):
        assert len(line) <= 76 and not line.startswith(b"."), line
    assert b"\n" not in t.content.replace(b"\r\n", b"")
    assert re.fullmatch(r"<[0-9.]+@loadgen\.invalid>", t.message_id)


def test_starttls_auth_ca_reconnects(smarthost, pki):
    n, c, m, size = 40, 4, 3, 1000
    host = smarthost("starttls", cert=pki.localhost, auth=(USER, PASSWORD))
    r, out = loadgen("--port", host.port, "--ca", pki.ca, "--servername", "localhost", "--user", USER,
                     "--pass", PASSWORD, "-n", n, "-c", c, "-m", m, "-s", size)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    msgs = host.messages
    assert len(msgs) == n == len(host.transactions)
    for t in msgs:
        check_message(t, size)
    assert len({t.message_id for t in msgs}) == n
    assert {t.header("Subject") for t in msgs} == {f"loadgen message {i} of {n}" for i in range(1, n + 1)}
    sessions = host.sessions
    per_conn = [sum(t.connection == s.number for t in msgs) for s in sessions]
    assert max(per_conn) <= m and sum(per_conn) == n
    assert all(s.tls and len(s.ehlo) == 2 and [a[3] for a in s.auth] == [True] for s in sessions)
    assert out == {**out, "messages": n, "failed": 0, "connections": len(sessions), "handshakes": len(sessions)}
    assert len(sessions) >= -(-n // m)
    assert 0 < out["p50_ms"] <= out["p99_ms"] and out["msgs_per_s"] > 0 and out["seconds"] > 0


def test_implicit_tls_insecure_one_connection_per_thread(smarthost, certs):
    host = smarthost("tls", cert=certs["ec"])  # openssl self-signed: only --insecure accepts it
    r, out = loadgen("--mode", "tls", "--port", host.port, "--insecure", "-n", 12, "-c", 3, "-s", 0)
    assert r.returncode == 0, r.stderr
    assert len(host.messages) == 12
    for t in host.messages:
        check_message(t, 0)
    assert len(host.sessions) <= 3 and all(s.tls for s in host.sessions)
    assert (out["messages"], out["failed"], out["connections"]) == (12, 0, len(host.sessions))


def test_plain_odd_body_size(smarthost):
    host = smarthost("plain")
    r, out = loadgen("--mode", "plain", "--port", host.port, "-n", 3, "-s", 79)
    assert r.returncode == 0, r.stderr
    assert [len(t.content.partition(b"\r\n\r\n")[2]) for t in host.messages] == [79] * 3
    assert out["handshakes"] == 0 and out["failed"] == 0


def test_wrong_password_fails_without_hammering(smarthost, pki):
    host = smarthost("starttls", cert=pki.localhost, auth=(USER, PASSWORD))
    r, out = loadgen("--port", host.port, "--ca", pki.ca, "--user", USER, "--pass", "wrong", "-n", 20, "-c", 2)
    assert r.returncode != 0
    assert "AUTH: 535" in r.stderr and "20 of 20 messages not accepted" in r.stderr
    assert (out["messages"], out["failed"]) == (20, 20)
    assert host.transactions == [] and len(host.sessions) <= 2  # each thread gives up after one refusal


def test_unknown_ca_fails(smarthost, pki):
    host = smarthost("tls", cert=pki.unknown_ca)
    r, out = loadgen("--mode", "tls", "--port", host.port, "--ca", pki.ca, "-n", 3)
    assert r.returncode != 0 and "certificate not trusted" in r.stderr
    assert out["failed"] == 3 and out["handshakes"] == 0 and host.transactions == []


def test_rejected_messages_counted_reply_printed_once(smarthost):
    host = smarthost("plain")
    host.data_reply = lambda sender, rcpts, content: (
        "554 5.7.1 not this one" if re.search(rb"Subject: loadgen message [37] of", content) else None)
    r, out = loadgen("--mode", "plain", "--port", host.port, "-n", 10)
    assert r.returncode != 0
    assert r.stderr.count("554 5.7.1 not this one") == 1, r.stderr
    assert (out["messages"], out["failed"], out["connections"]) == (10, 2, 1)
    assert len(host.messages) == 8 and len(host.transactions) == 10


def test_silent_server_bounded_by_max_seconds(staller):
    """The bound that ends the run is --max-seconds (it says so), not the 60 s --timeout (the
    subprocess limit of 30 s only keeps a hang from blocking the suite)."""
    s = staller("no-reply")
    start = time.monotonic()
    r, out = loadgen("--mode", "plain", "--port", s.port, "-n", 2, "--timeout", 60, "--max-seconds", 2, timeout=30)
    print(f"\nsilent server: loadgen gave up after {time.monotonic() - start:.1f} s (--max-seconds 2)")
    assert r.returncode != 0 and "--max-seconds deadline reached" in r.stderr
    assert out["failed"] == 2


def test_usage():
    r, _ = loadgen("-h")
    assert r.returncode == 0 and "--max-seconds" in r.stdout
    for bad in (["-n", "0"], ["--mode", "smtps", "--insecure"], ["--bogus", "1"], ["--mode", "tls"]):
        r, out = loadgen(*bad)
        assert r.returncode == 64 and out is None and r.stderr.startswith("loadgen: "), (bad, r.stderr)
    assert Path(LOADGEN).stat().st_size > 0
