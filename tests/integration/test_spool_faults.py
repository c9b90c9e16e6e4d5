"""Spool faults injected into the real queue process with strace (issue 13, section 4).

strace attaches to the running queue process and makes one of the system calls of the commit
protocol (write of the message, fsync of the file, renameat into queue/, fsync of queue/) fail
with ENOSPC or EIO. What the client must see: never a 250; 452 4.3.1 for a full disk, 451 4.3.0
for an I/O error. What the spool must hold afterwards: no file of that message in tmp/ or queue/.
Once strace detaches, the next message is accepted (the queue survived the fault).

strace's injection rewrites the system call number, which a seccomp filter rightly answers by
killing the process, so these tests run a build without CONFIG_SANDBOX_SECCOMP
($SUBGATE_NOSECCOMP_BIN, made by `make test-integration`); everything else (jail, uid, chroot)
is as in production.
"""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from smtpkit import USER, SubgateServer, built_with, dot_stuff, make_message, wait_for

NOSECCOMP_BIN = os.environ.get("SUBGATE_NOSECCOMP_BIN")

# (name, strace -e inject= spec, expected reply to the end of DATA)
FAULTS = [
    ("write-enospc", "write:error=ENOSPC:when=2+", "452 4.3.1 Insufficient system storage"),
    ("write-eio", "write:error=EIO:when=2+", "451 4.3.0 Error: queue file write error"),
    ("fsync-file-eio", "fsync:error=EIO:when=1", "451 4.3.0 Error: queue file write error"),
    ("fsync-file-enospc", "fsync:error=ENOSPC:when=1", "452 4.3.1 Insufficient system storage"),
    ("rename-eio", "renameat:error=EIO:when=1", "451 4.3.0 Error: queue file write error"),
    ("rename-enospc", "renameat:error=ENOSPC:when=1", "452 4.3.1 Insufficient system storage"),
    ("fsync-dir-eio", "fsync:error=EIO:when=2", "451 4.3.0 Error: queue file write error"),
]


@pytest.fixture
def fault_server(tmp_path, certs):
    if not NOSECCOMP_BIN:
        pytest.skip("SUBGATE_NOSECCOMP_BIN (a build without CONFIG_SANDBOX_SECCOMP) is not set")
    assert not built_with(NOSECCOMP_BIN, "SANDBOX_SECCOMP"), f"{NOSECCOMP_BIN} has seccomp filters"
    server = SubgateServer(tmp_path / "server", NOSECCOMP_BIN, certs)
    server.start()
    yield server
    assert server.close() == 0, server.log_text()[-3000:]


class Injector:
    """strace attached to one process, injecting a fault; detaches on stop()."""

    def __init__(self, pid, spec, log):
        self.log = Path(log)
        self.proc = subprocess.Popen(["strace", "-qq", "-p", str(pid), "-o", str(self.log),
                                      "-e", f"trace={spec.split(':')[0]}", "-e", f"inject={spec}"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        # attached once the tracee shows a tracer in /proc/PID/status
        wait_for(lambda: _tracer_of(pid) == self.proc.pid, 10, what=f"strace attached to {pid}")

    def injected(self):
        return self.log.read_text().count("(INJECTED)")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)


def _tracer_of(pid):
    m = re.search(r"^TracerPid:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def _spool_names(server):
    return {d: sorted(os.listdir(server.spool / d)) for d in ("tmp", "queue", "defer")}


@pytest.mark.parametrize("name,spec,reply", FAULTS, ids=[f[0] for f in FAULTS])
def test_spool_fault_never_acknowledged(fault_server, tmp_path, name, spec, reply):
    server = fault_server
    before = _spool_names(server)
    with server.session() as c:
        assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<fault@example.org>") == "250 2.1.5 Ok"
        injector = Injector(server.queue_pid, spec, tmp_path / "strace.log")
        try:
            assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
            c.send(dot_stuff(make_message(name, body=["x" * 900] * 25)))
            got = c.reply()
        finally:
            injector.stop()
        assert injector.injected() >= 1, f"strace injected nothing:\n{injector.log.read_text()[-2000:]}"
        assert got == reply, (got, server.log_text()[-2000:])
        assert _spool_names(server) == before, server.log_text()[-2000:]
        # the queue survived: the next message of the same session is committed
        qid = c.submit(USER, ["after@example.org"], make_message(name + "-after"))
    assert server.queue_ids() == {qid}
