"""Relay temporary failures: deferral, backoff, per-recipient results, stalls and refused credentials.

Covers: a smarthost that is down (connection refused) and comes back: the
message moves to defer/, each attempt logs its next attempt retry_min..retry_max
later (no earlier than the previous one was due), the defer/ file's mtime holds it,
and it is delivered by the scheduler alone once the smarthost listens again.
450 for one recipient and 250 for another (with and without PIPELINING): the
250 recipient gets exactly one copy and is marked "rcpt D" (one byte
rewritten in place: same inode, same size), the other stays "rcpt P" in
defer/ and is delivered once when the smarthost accepts it. 451 after the
data: nothing marked, retried, delivered once. SIGUSR1 to the master makes a
message deferred for an hour due at once. A smarthost that stalls in the
middle of DATA (stops reading a large message, or never answers the final
dot) with relay_timeout = 2: the attempt times out, the message is deferred,
the relay no longer holds a connection to it, the stalled message never got
its final dot, and a healthy smarthost on the same port gets it complete
after SIGUSR1. A 535 to our credentials: deferred, "the smarthost refused
our credentials: holding the queue" in the log, no bounce, a second message
is not tried while the queue is held (the queue logs that it waits), and SIGUSR1 after the credentials are
accepted again delivers both exactly once.
"""

import email.utils
import hashlib
import os
import re
import time

import pytest

from relaykit import (SMARTHOST_PASSWORD, SMARTHOST_USER, pending_ids, read_envelope, relay_settings, relay_sockets,
                      spool_where, write_secret)
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def deferred_re(qid, rcpt):
    return rf"{qid}: to=<{re.escape(rcpt)}>, relay=\S+, delay=\d+s, tls=\S+, status=deferred \((.*)\)"


def sent_re(qid, rcpt):
    return rf"{qid}: to=<{re.escape(rcpt)}>, relay=\S+, delay=\d+s, tls=\S+, status=sent \((.*)\)"


def wait_empty(server, timeout=15):
    wait_for(lambda: pending_ids(server) == [] and server.spool_files() == [], timeout, what="an empty spool")


def test_smarthost_down_then_up(make_server, smarthost):
    host = smarthost("plain", start=False)  # nothing listens on its port yet
    server = make_server(settings=relay_settings(host.port, retry_min="1s", retry_max="2s"))
    with server.session() as c:
        qid = c.submit(USER, ["later@example.org"], make_message("down-up"))
    m = server.wait_log(deferred_re(qid, "later@example.org"))
    assert m.group(1) == f"connect to 127.0.0.1 port {host.port}: Connection refused", m.group(0)

    # The queue logs each deferral's next-attempt time; the defer/ file's mtime holds it.
    path = server.defer_dir / qid
    next_re = re.compile(rf"{qid}: next attempt in (\d+)s \(([^)]+)\)")

    def attempts(n):
        found = [(int(d), int(email.utils.parsedate_to_datetime(at).timestamp()))
                 for d, at in next_re.findall(server.log_text())]
        return found if len(found) >= n else None

    def mtime():
        try:
            return int(os.stat(path).st_mtime)
        except FileNotFoundError:  # in flight (an attempt) or not yet renamed: look again
            return None

    wait_for(lambda: mtime() in {at for _, at in attempts(1) or []}, 10,
             what="the defer/ file's mtime to be a logged next-attempt time")
    found = wait_for(lambda: attempts(3), 15, what="three deferrals with their next attempt")
    print(f"\ndown: next attempts after {[d for d, _ in found]} s (retry_min 1 s, retry_max 2 s)")
    for delay, _ in found:
        assert 1 <= delay <= 2, found  # within retry_min..retry_max (no jitter below 10 s)
    for (_, due), (delay, at) in zip(found, found[1:]):
        assert at - delay >= due, found  # no attempt before its time, and each one moves the next
    assert len(re.findall(deferred_re(qid, "later@example.org"), server.log_text())) >= len(found)
    assert host.transactions == []

    host.up()
    up_at = time.monotonic()
    [t] = host.wait_messages(1, timeout=10)  # no SIGUSR1: the scheduler's own retry
    print(f"up: delivered {t.time - up_at:.2f} s after the smarthost came back")
    server.wait_log(sent_re(qid, "later@example.org"))
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert t.rcpt_tos == ["later@example.org"] and t.content.endswith(make_message("down-up"))
    assert len(host.transactions) == 1


def test_sigusr1_makes_deferred_mail_due(make_server, smarthost):
    host = smarthost("plain", start=False)
    server = make_server(settings=relay_settings(host.port, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        qid = c.submit(USER, ["flush@example.org"], make_message("flush"))
    server.wait_log(deferred_re(qid, "flush@example.org"))
    m = server.wait_log(rf"{qid}: next attempt in (\d+)s \(([^)]+)\)")
    assert 3240 <= int(m.group(1)) <= 3960, m.group(0)  # an hour away (retry_min 1 h, jittered by 10 %)
    due = email.utils.parsedate_to_datetime(m.group(2)).timestamp()
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert read_envelope(server, qid).mtime == due
    host.up()
    start = len(server.log_text())
    server.flush()
    server.wait_log(r"queue: flush: 1 deferred message due now", start=start)
    [t] = host.wait_messages(1, timeout=10)
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert t.rcpt_tos == ["flush@example.org"]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "no-pipelining"])
def test_4xx_for_one_recipient_2xx_for_another(make_server, smarthost, pipelining):
    host = smarthost("plain", pipelining=pipelining)
    host.rcpt_replies["slow@example.org"] = "450 4.2.1 Mailbox busy, try later"
    server = make_server(settings=relay_settings(host.port, retry_min="1s", retry_max="2s"))
    host.hold()
    with server.session() as c:
        qid = c.submit(USER, ["slow@example.org", "fast@example.org"], make_message("mixed"))
    wait_for(lambda: host.mail_seen, what="MAIL at the smarthost")
    original = (server.queue_dir / qid).read_bytes()
    inode = os.stat(server.queue_dir / qid).st_ino
    host.release()

    m = server.wait_log(deferred_re(qid, "slow@example.org"))
    assert m.group(1) == "450 4.2.1 Mailbox busy, try later"
    server.wait_log(sent_re(qid, "fast@example.org"))
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    env = read_envelope(server, qid)
    assert env.rcpts == [("P", "slow@example.org"), ("D", "fast@example.org")]
    now = (server.defer_dir / qid).read_bytes()
    assert os.stat(server.defer_dir / qid).st_ino == inode  # renamed, not rewritten
    assert len(now) == len(original)
    assert [(i, a, b) for i, (a, b) in enumerate(zip(original, now)) if a != b] == \
        [(original.index(b"rcpt P fast@") + 5, ord("P"), ord("D"))]

    host.rcpt_replies.pop("slow@example.org")
    server.wait_log(sent_re(qid, "slow@example.org"), timeout=10)
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    got = sorted(r for t in host.messages for r in t.rcpt_tos)
    assert got == ["fast@example.org", "slow@example.org"]  # one copy each
    assert [r for _, r, reply in host.rcpt_seen if r == "fast@example.org"] == ["fast@example.org"]
    assert all(t.content.endswith(make_message("mixed")) for t in host.messages)


def test_451_after_data_is_retried(make_server, smarthost):
    host = smarthost("plain")
    replies = ["451 4.3.0 Temporary local problem"]
    host.data_reply = lambda mail_from, rcpts, content: replies.pop() if replies else None
    server = make_server(settings=relay_settings(host.port, retry_min="1s", retry_max="2s"))
    with server.session() as c:
        qid = c.submit(USER, ["a@example.org", "b@example.org"], make_message("451"))
    for r in ("a@example.org", "b@example.org"):
        m = server.wait_log(deferred_re(qid, r))
        assert m.group(1) == "451 4.3.0 Temporary local problem"
    [t] = host.wait_messages(1, timeout=10)  # the retry, without SIGUSR1
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert len(host.transactions) == 2 and not host.transactions[0].accepted
    assert t.rcpt_tos == ["a@example.org", "b@example.org"]


def big_message(marker, size):
    line = b"y" * 998 + b"\r\n"
    base = make_message(marker)
    return base + line * (size // len(line) + 1)


@pytest.mark.parametrize("mode", ["stop-reading", "no-reply"])
def test_stall_in_data_times_out(make_server, staller, smarthost, mode):
    stall = staller(mode)
    message = big_message("stall", 8 * 1024 * 1024) if mode == "stop-reading" else make_message("stall")
    server = make_server(settings=relay_settings(stall.port, retry_min="1m", retry_max="1h", relay_timeout="2",
                                                 max_message_size="10m"))
    with server.session() as c:
        qid = c.submit(USER, ["stalled@example.org"], message)
    spooled = server.spool_file(qid).message
    wait_for(lambda: stall.conns and stall.conns[0]["stalled"], 15, what="the staller to stall")
    stalled_at = time.monotonic()
    # relay_timeout is 2 s: allow six times that before calling the attempt hung
    try:
        m = server.wait_log(deferred_re(qid, "stalled@example.org"), timeout=12)
    except AssertionError:
        m = None
    if m is None:
        pytest.fail(f"{mode}: the attempt did not end within 12 s of the stall although relay_timeout = 2 "
                    f"(log tail: {server.log_text()[-400:]!r})")
    print(f"\n{mode}: deferred {time.monotonic() - stalled_at:.1f} s after the stall: {m.group(1)}")
    peer = f"127.0.0.1[127.0.0.1]:{stall.port}"
    assert m.group(1) == (f"timeout writing to {peer}" if mode == "stop-reading"
                          else f"timeout waiting for a reply from {peer}"), m.group(0)
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert read_envelope(server, qid).rcpts == [("P", "stalled@example.org")]
    relay = server.relay_pid
    wait_for(lambda: relay_sockets(relay, stall.port) == 0, 5, what="the relay to drop its connection to the staller")
    stall.release()  # the staller reads what is left: the connection ends without the final dot
    wait_for(lambda: stall.conns[0]["eof"], 10, what="EOF at the staller")
    assert len(stall.conns) == 1
    if mode == "stop-reading":
        assert not stall.conns[0]["final_dot"]
        assert stall.conns[0]["data_bytes"] < len(spooled)
    stall.close()

    host = smarthost("plain", port=stall.port)
    server.flush()
    [t] = host.wait_messages(1, timeout=15)
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert hashlib.sha256(t.content).hexdigest() == hashlib.sha256(spooled).hexdigest()
    assert t.rcpt_tos == ["stalled@example.org"]


def test_535_holds_the_queue(make_server, smarthost, pki, tmp_path):
    host = smarthost("starttls", cert=pki.localhost, auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    host.accept_auth = False
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path), retry_min="1s",
                                                 retry_max="60s"))
    with server.session() as c:
        first = c.submit(USER, ["held@example.org"], make_message("held1"))
    m = server.wait_log(deferred_re(first, "held@example.org"))
    assert m.group(1) == "AUTH PLAIN refused: 535 5.7.8 Authentication credentials invalid", m.group(0)
    server.wait_log(r"queue: the smarthost refused our credentials: holding the queue for 60s")
    wait_for(lambda: spool_where(server, first) == "defer", what="the message in defer/")
    assert read_envelope(server, first).rcpts == [("P", "held@example.org")]
    assert [c.auth for c in host.sessions] == [[("PLAIN", SMARTHOST_USER, SMARTHOST_PASSWORD, False)]]
    assert host.mail_seen == []

    start = len(server.log_text())
    with server.session() as c:
        second = c.submit(USER, ["held@example.org"], make_message("held2"))
    # the scheduler's decision about the new message (without the hold it would be tried at once)
    server.wait_log(r"queue: holding for another \d+s: new mail waits", start=start)
    assert len(host.sessions) == 1
    assert spool_where(server, second) == "queue"
    assert pending_ids(server) == sorted([first, second])  # no bounce

    host.accept_auth = True
    server.flush()
    done = host.wait_messages(2, timeout=10)
    for qid in (first, second):
        server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert sorted(t.header("Subject") for t in done) == ["test held1", "test held2"]
    assert len(host.transactions) == 2
