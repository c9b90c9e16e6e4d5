"""Relay crash safety: kill -9 of the relay process at random moments during 200 deliveries.

The smarthost (STARTTLS + AUTH) records each message before it answers the
data and then waits 20 ms, so that kills also land in the window between the
smarthost's acceptance and our mark. A killer thread sends SIGKILL to the
current relay process (its pid from the log line "relay process started (pid
N)", which the master logs again at every restart) every 0.1-0.5 s, at most
20 times, while 200 messages are submitted and relayed. Asserted: the master
logs every kill and restarts the relay each time; every message arrives at
least once; duplicates (a recipient receiving the same Message-ID twice) are
at most the number of kills; nothing is bounced or deferred for good; the
spool is empty at the end, and a new message is still accepted and relayed.
The kill and duplicate counts are printed. A run in which deliveries stop for
10 s fails at once, with the queue's complaints counted from the log.

A second test aims the kills at the window just after the smarthost's 250
(the relay reports, the queue marks the recipient and hands over the next
message): 40 messages, a kill 0-10 ms after every third reply (at most 10),
with the same assertions.
"""

import collections
import os
import random
import re
import signal
import threading
import time

import pytest

from relaykit import (SMARTHOST_PASSWORD, SMARTHOST_USER, pending_ids, relay_pids, relay_settings, spool_ids,
                      write_secret)
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MESSAGES = 200
MAX_KILLS = 20
OVERALL_TIMEOUT = 60
NO_PROGRESS = 10  # seconds without any delivery: the relay is wedged, stop waiting


def test_kill_relay_during_deliveries(make_server, smarthost, pki, tmp_path):
    host = smarthost("starttls", cert=pki.localhost, auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    host.reply_delay = 0.02
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path), retry_min="1s",
                                                 retry_max="2s"))
    expected = {f"<crash{i}@client.example.test>" for i in range(MESSAGES)}
    delivered = lambda: {mid for _, mid in host.deliveries()}  # noqa: E731
    kills = []
    problems = []
    stop = threading.Event()
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))

    def killer():
        while not stop.is_set() and len(kills) < MAX_KILLS:
            if stop.wait(rng.uniform(0.1, 0.5)):
                return
            pids = relay_pids(server)
            try:
                os.kill(pids[-1], signal.SIGKILL)
            except ProcessLookupError:
                problems.append(f"relay pid {pids[-1]} was already gone")
                return
            kills.append(pids[-1])
            try:
                wait_for(lambda: len(relay_pids(server)) > len(pids), 10, what="the relay to be restarted")
            except AssertionError as e:
                problems.append(str(e))
                return

    deadline = time.monotonic() + OVERALL_TIMEOUT
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        for batch in range(4):
            with server.session() as c:
                for i in range(batch * MESSAGES // 4, (batch + 1) * MESSAGES // 4):
                    c.submit(USER, [f"r{i}@example.org"], make_message(f"crash{i}"))
        progress = (0, time.monotonic())
        while time.monotonic() < deadline and delivered() != expected:
            if len(host.transactions) != progress[0]:
                progress = (len(host.transactions), time.monotonic())
            elif time.monotonic() - progress[1] > NO_PROGRESS:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(15)
    assert not problems, problems
    missing = expected - delivered()
    if missing:
        log = server.log_text()
        handoff = re.findall(r"([0-9a-f]{16}): cannot hand to the relay: (.*)", log)
        pytest.fail(f"{len(missing)} of {MESSAGES} messages never arrived after {len(kills)} kills (no delivery for "
                    f"{NO_PROGRESS} s); queue/ {len(spool_ids(server, 'queue'))}, defer/ "
                    f"{len(spool_ids(server, 'defer'))}; {len(handoff)} log lines 'ID: cannot hand to the relay' "
                    f"for {sorted(set(handoff))[:3]}; log {len(log)} bytes; last lines without them:\n"
                    + "\n".join([line for line in log.splitlines() if "cannot hand" not in line][-8:]))
    wait_for(lambda: pending_ids(server) == [] and server.spool_files() == [], 20, what="an empty spool")

    counts = collections.Counter(host.deliveries())
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nkill -9 of the relay: {len(kills)} kills, {MESSAGES} messages, {duplicates} duplicates, "
          f"{len(host.sessions)} smarthost connections")
    assert len(kills) >= 1
    assert duplicates <= len(kills), counts.most_common(5)
    log = server.log_text()
    for pid in kills:
        assert re.search(rf"relay process \(pid {pid}\) exited \(signal 9\); restarting it", log), pid
    assert len(relay_pids(server)) == len(kills) + 1
    assert "bounced" not in log and "non-delivery" not in log
    assert all(t.mail_from == USER and len(t.rcpt_tos) == 1 for t in host.transactions)
    assert server.proc.poll() is None
    # and the gateway still takes and relays mail
    with server.session() as c:
        qid = c.submit(USER, ["after@example.org"], make_message("after-kills"))
    server.wait_log(rf"{qid}: removed")


def test_kill_relay_just_after_the_smarthost_accepted(make_server, smarthost):
    """Kills aimed at the window after the smarthost's 250: the relay reports, the queue marks and hands over the
    next message. Every third message, the relay is killed 0-10 ms after the smarthost answered (at most 10 times).
    Nothing may be lost or wedged: all 40 messages arrive, the spool empties, new mail is still accepted."""
    n = 40
    host = smarthost("plain")
    server = make_server(settings=relay_settings(host.port))
    kills = []
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))

    def kill():
        pid = relay_pids(server)[-1]
        try:
            os.kill(pid, signal.SIGKILL)
            kills.append(pid)
        except ProcessLookupError:
            pass

    def on_reply(transaction):
        if len(kills) < 10 and len(host.transactions) % 3 == 0:
            threading.Timer(rng.uniform(0, 0.01), kill).start()

    host.on_reply = on_reply
    with server.session() as c:
        for i in range(n):
            c.submit(USER, [f"k{i}@example.org"], make_message(f"aimed{i}"))
    expected = {f"<aimed{i}@client.example.test>" for i in range(n)}
    progress = (0, time.monotonic())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and {t.message_id for t in host.messages} != expected:
        if len(host.transactions) != progress[0]:
            progress = (len(host.transactions), time.monotonic())
        elif time.monotonic() - progress[1] > 5:
            break
        time.sleep(0.1)
    host.on_reply = None
    missing = expected - {t.message_id for t in host.messages}
    if missing:
        log = server.log_text()
        handoff = re.findall(r"([0-9a-f]{16}): cannot hand to the relay: (.*)", log)
        pytest.fail(f"{len(missing)} of {n} messages never arrived after {len(kills)} kills (no delivery for 5 s); "
                    f"queue/ {len(spool_ids(server, 'queue'))}; {len(handoff)} log lines 'ID: cannot hand to the "
                    f"relay' for {sorted(set(handoff))[:3]}; log {len(log)} bytes")
    wait_for(lambda: pending_ids(server) == [] and server.spool_files() == [], 20, what="an empty spool")
    counts = collections.Counter(host.deliveries())
    duplicates = sum(c - 1 for c in counts.values())
    print(f"\naimed kills: {len(kills)} kills, {n} messages, {duplicates} duplicates")
    assert duplicates <= len(kills)
    with server.session() as c:
        qid = c.submit(USER, ["after@example.org"], make_message("after-aimed"))
    server.wait_log(rf"{qid}: removed")
