"""Descriptors a session passes to auth or queue (issue #13, item 1), with the test build
(CONFIG_TEST_HOOKS, $SUBGATE_HOOKS_BIN, `make hooks`).

A compromised session (`XHOOK ipc-fds:SERVICE:N`) sends the service valid requests that each carry
two descriptors over its channel. The service refuses the first such frame, logs it and drops that
session only; it holds no more descriptors than before once the session is gone; the daemon goes on
and the next clients log in. Before the fix every such frame was answered and left two descriptors
open in the service, until its table was full: then the master's next frame came in truncated, the
service took that for the master's end and exited, and the whole daemon stopped (exit 70) as soon
as a few clients were connected at the same time.
"""
import os
import re

import pytest

from smtpkit import pid_alive, wait_for

FRAMES = 150  # twice the descriptors auth or queue may hold (RLIMIT_NOFILE 64 + 2 * sessions + 16)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def no_sessions(server):
    return not server.session_pids()


@pytest.mark.parametrize("service", ["auth", "queue"])
def test_extra_descriptors_from_a_session_are_refused_and_closed(hooks_server, service):
    server = hooks_server().start()
    pid = server.auth_pid if service == "auth" else server.queue_pid
    with server.session() as c:  # a first session: whatever a service opens once is open now
        assert c.cmd("QUIT").startswith("221 ")
    wait_for(lambda: no_sessions(server), what="the first session to end")
    before = fd_count(pid)
    start = len(server.log_text())
    with server.session() as c:
        spec = f"ipc-fds:{service}:{FRAMES}"
        assert c.cmd("XHOOK " + spec) == f"250 test hook: {spec}: 0 answered, then the channel closed"
    server.wait_log(rf"{service}: session \S+: refused a frame \(Protocol error\); dropping it", start=start)
    wait_for(lambda: no_sessions(server), what="the attacking session to end")
    wait_for(lambda: fd_count(pid) == before, what=f"{service} to hold its {before} descriptors again")
    clients = [server.session() for _ in range(4)]  # at once: each is a frame, and a descriptor, to both
    for c in clients:
        assert c.cmd("QUIT").startswith("221 ")
        c.close()
    assert server.proc.poll() is None and pid_alive(pid)
    assert not re.search(r"master gone|process \(pid \d+\) died", server.log_text()[start:])
