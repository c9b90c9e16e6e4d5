"""Chaos: kill -9 of the queue, the relay and the master at random points during 1000 messages,
with a smarthost that flaps (issue 13, section 4).

One client submits 1000 messages (40 TLS sessions of 25) while
- a killer sends SIGKILL every 0.3-1.2 s (at most MAX_KILLS times) to the relay worker, the queue or
  the master, chosen at random. The relay is restarted by its keeper; a dead queue stops the
  daemon, and a dead master takes its children with it: then the test (its main thread)
  restarts `subgate serve` as a service manager would, once every old process has gone;
- the smarthost answers 451 to about one message in six and goes down for a moment now and then
  (at most MAX_FLAPS times), which aborts its connections.
A message counts as acknowledged only when the client read its 250. Asserted at the end, once the
smarthost stays up: every acknowledged message was delivered or is still in the spool
(acked <= delivered | spooled), and in fact delivered within the wait; duplicates (a Message-ID
accepted twice by the smarthost) are at most one per kill or flap. The counts are printed.
"""

import collections
import os
import random
import re
import signal
import threading
import time

import pytest

from relaykit import relay_pids, relay_settings
from smtpkit import QUEUED_RE, USER, ConnectionClosed, make_message, pid_alive, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MESSAGES = 1000
PER_SESSION = 25
MAX_KILLS = 15
MAX_FLAPS = 6
MAX_FAILED_SESSIONS = 400
DELIVERY_WAIT = 90  # seconds for the last acknowledged messages to arrive once the smarthost stays up


class Supervisor:
    """Kills processes at random. After a kill that takes the daemon down (queue, master) it clears
    `up` and waits; the test's main thread restarts the daemon (restart()) and sets `up` again.
    (The restart must come from the thread that lives as long as the daemon: Linux sends the
    parent-death signal, which the master sets, when the parent *thread* ends.)"""

    def __init__(self, server, rng):
        self.server = server
        self.rng = rng
        self.kills = collections.Counter()
        self.history = []  # (role, pid) of every kill, in order
        self.doomed = []   # the processes of the daemon that a kill took down
        self.problems = []
        self.up = threading.Event()
        self.up.set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _daemon_pids(self):
        s = self.server
        pids = [s.proc.pid, s.auth_pid, s.queue_pid, s.keeper_pid, s.reload_pid]
        return [p for p in pids + relay_pids(s) + s.session_pids() if p]

    def restart(self):
        """In the main thread: once every process of the old daemon is gone, start it again."""
        s = self.server
        wait_for(lambda: not any(pid_alive(p) for p in self.doomed), 20,
                 what=f"the old processes {self.doomed} to exit")
        s.proc.wait(timeout=20)
        s.log_fh.close()
        s.proc = None
        s.start()
        self.up.set()

    def _kill_one(self):
        s = self.server
        role = self.rng.choice(["relay", "relay", "queue", "master"])
        if role == "relay":
            before = relay_pids(s)
            pid = before[-1]
        else:
            self.doomed = self._daemon_pids()
            pid = s.queue_pid if role == "queue" else s.proc.pid
            self.up.clear()
        os.kill(pid, signal.SIGKILL)
        self.kills[role] += 1
        self.history.append((role, pid))
        if role == "relay":
            wait_for(lambda: len(relay_pids(s)) > len(before), 15, what="the relay to be restarted")
        else:
            while not self.up.wait(1) and not self.stop.is_set():
                pass

    def _run(self):
        try:
            while sum(self.kills.values()) < MAX_KILLS and not self.stop.wait(self.rng.uniform(0.3, 1.2)):
                self._kill_one()
        except Exception as e:  # reported by the test, not lost in the thread
            self.problems.append(repr(e))


def _flapper(host, rng, stop, flaps):
    while len(flaps) < MAX_FLAPS and not stop.wait(rng.uniform(0.5, 2.0)):
        host.down()
        flaps.append(time.monotonic())
        stop.wait(rng.uniform(0.05, 0.5))
        host.up()


def _submit_all(server, sup, acked):
    """Submits MESSAGES messages; a message whose 250 never came is simply not acknowledged.
    Bounded: at most MAX_FAILED_SESSIONS sessions that fail before their first message."""
    i = 0
    failed = 0
    while i < MESSAGES:
        if not sup.up.is_set():
            sup.restart()
        assert pid_alive(server.proc.pid), f"the daemon stopped, and not by a kill:\n{server.log_text()[-2000:]}"
        assert failed < MAX_FAILED_SESSIONS, f"{failed} sessions failed at once:\n{server.log_text()[-2000:]}"
        start = i
        try:
            with server.session() as c:
                for _ in range(PER_SESSION):
                    if i >= MESSAGES:
                        break
                    n, i = i, i + 1
                    if c.cmd(f"MAIL FROM:<{USER}>") != "250 2.1.0 Ok" or \
                            c.cmd(f"RCPT TO:<c{n}@example.org>") != "250 2.1.5 Ok" or \
                            c.cmd("DATA") != "354 End data with <CR><LF>.<CR><LF>":
                        break
                    c.send(make_message(f"chaos{n}"))
                    c.send(b".\r\n")
                    if QUEUED_RE.fullmatch(c.reply()):
                        acked.add(f"<chaos{n}@client.example.test>")
                    else:
                        break
        except (ConnectionClosed, OSError, AssertionError):
            pass
        failed = failed + 1 if i == start else 0
        if i == start:
            sup.stop.wait(0.05)  # the daemon is restarting: ask again shortly


def _spooled_ids(server):
    ids = set()
    for where in ("queue", "defer", "hold"):
        d = server.spool / where
        for name in os.listdir(d) if d.is_dir() else []:
            try:
                text = (d / name).read_bytes()
            except FileNotFoundError:
                continue
            ids.update(m.decode() for m in re.findall(rb"(?im)^Message-ID: (<[^>]*>)", text))
    return ids


def test_kill9_queue_relay_master_with_a_flapping_smarthost(make_server, smarthost):
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    host = smarthost("plain")
    host.data_reply = lambda sender, rcpts, content: "451 4.3.0 flapping" if rng.random() < 0.16 else None
    server = make_server(settings=relay_settings(host.port, retry_min="1s", retry_max="2s"))
    sup = Supervisor(server, rng)
    acked = set()
    flaps = []
    stop_flapping = threading.Event()
    flapper = threading.Thread(target=_flapper, args=(host, rng, stop_flapping, flaps), daemon=True)
    sup.thread.start()
    flapper.start()
    try:
        _submit_all(server, sup, acked)
    finally:
        sup.stop.set()
        stop_flapping.set()
        sup.thread.join(60)
        flapper.join(10)
    assert not sup.problems, sup.problems
    if not sup.up.is_set():
        sup.restart()
    assert pid_alive(server.proc.pid), server.log_text()[-3000:]
    host.data_reply = None
    delivered = lambda: {mid for _, mid in host.deliveries()}  # noqa: E731
    try:
        wait_for(lambda: acked <= delivered(), DELIVERY_WAIT, what="every acknowledged message delivered")
    finally:
        lost = acked - delivered() - _spooled_ids(server)
        counts = collections.Counter(mid for _, mid in host.deliveries())
        duplicates = sum(n - 1 for n in counts.values())
        print(f"\nchaos: {len(acked)} of {MESSAGES} acknowledged, {len(delivered())} delivered, "
              f"{len(_spooled_ids(server))} still spooled, {duplicates} duplicates; kills {dict(sup.kills)}, "
              f"{len(flaps)} smarthost flaps, {len(host.sessions)} smarthost connections")
    assert lost == set(), sorted(lost)[:10]
    assert sum(sup.kills.values()) >= 3
    assert len(acked) >= MESSAGES // 2, "too few messages got through for the run to mean anything"
    assert duplicates <= sum(sup.kills.values()) + len(flaps), counts.most_common(5)
