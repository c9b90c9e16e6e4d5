"""The spool under pressure: quotas, a full file system, and processes killed mid-message.

Covers: spool_max_messages (452 4.3.1 at MAIL once the queue is full, in
every new session); spool_max_size (452 4.3.1 at MAIL for a too large SIZE=,
and after the data for an undeclared message too large for the quota, with
no file left); ENOSPC on a 256 KiB tmpfs mounted as the spool (452 4.3.1 at
MAIL for SIZE= above the free space and after the data without SIZE=, no
file left in tmp/ or queue/, and a small message still accepted afterwards);
kill -9 of the session process in the middle of DATA (nothing queued, the
partial tmp/ file removed, the master logs "killed by signal 9" and serves
the next client); kill -9 of the master during DATA (every child exits, a new
server on the same spool logs "N incomplete removed", tmp/ is empty and
queue/ holds only the complete message queued before).
"""

import os
import re
import signal
import subprocess

import pytest

from conftest import env_skip
from smtpkit import ConnectionClosed, children_of, dot_stuff, make_message, pid_alive, wait_for

NO_STORAGE = "452 4.3.1 Insufficient system storage"
DATA_OK = "354 End data with <CR><LF>.<CR><LF>"


def big_message(marker, size):
    line = b"x" * 78 + b"\r\n"
    base = make_message(marker)
    return base + line * ((size - len(base)) // len(line) + 1)


def start_data(c):
    assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == DATA_OK


def test_spool_max_messages(make_server):
    server = make_server(settings={"spool_max_messages": "1"})
    with server.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("first"))
        assert c.cmd("MAIL FROM:<alice@example.com>") == NO_STORAGE
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "503 5.5.1 Error: need MAIL command"
    with server.session() as c:
        assert c.cmd("MAIL FROM:<alice@example.com> SIZE=100") == NO_STORAGE
    assert server.queue_ids() == {qid}
    assert server.tmp_files() == []


def test_spool_max_size(make_server):
    server = make_server(settings={"spool_max_size": "64k", "spool_min_free": "0"})
    with server.session() as c:
        assert c.cmd("MAIL FROM:<alice@example.com> SIZE=200000") == NO_STORAGE
        assert c.cmd("MAIL FROM:<alice@example.com> SIZE=1000") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("DATA") == DATA_OK
        c.send(dot_stuff(big_message("toobig", 200000)))
        assert c.reply() == NO_STORAGE
        wait_for(lambda: server.spool_files() == [], what="an empty spool")
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("fits"))
    assert server.queue_ids() == {qid}


@pytest.fixture
def tmpfs(tmp_path):
    d = tmp_path / "tmpfs-spool"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(d)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        env_skip(f"cannot mount a tmpfs for the ENOSPC test (needs root and CAP_SYS_ADMIN): {r.stderr.strip()}")
    yield d
    subprocess.run(["umount", str(d)], check=True, capture_output=True, timeout=30)


def test_enospc(make_server, tmpfs):
    server = make_server(settings={"spool_min_free": "0", "spool_max_size": "512m", "max_message_size": "10m"},
                         spool=tmpfs)
    try:
        st = os.statvfs(tmpfs)
        free = st.f_bavail * st.f_frsize
        assert free <= 256 * 1024
        with server.session() as c:
            assert c.cmd(f"MAIL FROM:<alice@example.com> SIZE={free + 100000}") == NO_STORAGE
            start_data(c)
            c.send(dot_stuff(big_message("enospc", free + 200000)))
            assert c.reply() == NO_STORAGE
            wait_for(lambda: server.spool_files() == [], what="an empty spool")
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
            qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("small"))
        assert server.queue_ids() == {qid}
        assert server.tmp_files() == []
        assert server.spool_file(qid).content == make_message("small")
    finally:
        server.close()  # before the tmpfs is unmounted


def known_children(server):
    """Pids of the long-lived children named in the log ("NAME process|keeper started (pid N)")."""
    return {int(p) for p in re.findall(r"(?:process|keeper) started \(pid (\d+)\)", server.log_text())}


def partial_data(server, c):
    """Starts DATA and sends part of a message; waits for its file in tmp/."""
    start_data(c)
    c.send(make_message("partial") + b"y" * 78 + b"\r\n" * 1 + (b"z" * 78 + b"\r\n") * 200)
    return wait_for(server.tmp_files, what="a file in tmp/")


def test_kill_session_during_data(make_server):
    server = make_server()
    start = len(server.log_text())
    c = server.session()
    try:
        partial_data(server, c)
        sessions = [p for p in server.children() if p not in known_children(server)]
        assert len(sessions) == 1, (sessions, server.children())
        os.kill(sessions[0], signal.SIGKILL)
        with pytest.raises(ConnectionClosed):
            c.reply()
    finally:
        c.close()
    server.wait_log(rf"session process {sessions[0]} for \[127\.0\.0\.1\] killed by signal 9", start=start)
    wait_for(lambda: server.tmp_files() == [], what="tmp/ emptied after the session died")
    assert server.queue_ids() == set()
    assert server.proc.poll() is None
    with server.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("next"))
    assert server.queue_ids() == {qid}
    assert server.tmp_files() == []


def test_kill_master_during_data(make_server):
    server = make_server()
    with server.session() as c:
        complete = c.submit("alice@example.com", ["rcpt@example.org"], make_message("complete"))
    c = server.session()
    try:
        partial_data(server, c)
        children = server.children()
        assert len(children) >= 3, children  # auth, queue, our session
        master = server.proc
        os.kill(master.pid, signal.SIGKILL)
        master.wait(timeout=10)
        wait_for(lambda: not any(pid_alive(p) for p in children), timeout=10,
                 what=f"children {children} to exit after the master was killed")
        with pytest.raises(ConnectionClosed):
            c.reply()
    finally:
        c.close()
    server.proc = None
    server.log_fh.close()
    # a new server on the same spool
    start = len(server.log_text())
    server.start()
    m = re.search(r"spool \S+: (\d+) messages, \d+ bytes queued; (\d+) incomplete removed",
                  server.log_text()[start:])
    assert m, server.log_text()[start:]
    assert int(m.group(1)) == 1
    assert server.tmp_files() == []
    assert server.queue_ids() == {complete}
    assert server.spool_file(complete).content == make_message("complete")
    with server.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("after-restart"))
    assert server.queue_ids() == {complete, qid}
    assert children_of(server.pid)
    assert server.stop() == 0


@pytest.mark.parametrize("tail", [b"", b"\r\n.", b"\r\n.\r"], ids=["mid-message", "before-final-crlf", "before-lf"])
def test_client_disconnect_during_data(make_server, tail):
    """A connection lost before the final CRLF.CRLF never queues a (truncated) message."""
    server = make_server()
    with server.session() as c:
        start_data(c)
        c.send(make_message("cut")[:-2] + tail)
        wait_for(server.tmp_files, what="a file in tmp/")
    wait_for(lambda: server.tmp_files() == [], what="tmp/ emptied after the client left")
    assert server.queue_ids() == set()
    with server.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("whole"))
    assert server.queue_ids() == {qid}


def test_stale_tmp_files_are_swept_at_start(make_server):
    server = make_server(start=False)
    (server.spool / "tmp").mkdir(parents=True)
    (server.spool / "queue").mkdir()
    (server.spool / "tmp" / "0123456789abcdef").write_bytes(b"subgate-spool 1\narrival 1\n")
    (server.spool / "tmp" / "fedcba9876543210").write_bytes(b"")
    server.start()
    assert re.search(r"spool \S+: 0 messages, 0 bytes queued; 2 incomplete removed", server.log_text()), \
        server.log_text()
    assert server.tmp_files() == []
    assert server.queue_ids() == set()


def test_spool_permissions(make_server):
    """Queued mail is private: directories 0700, files 0600."""
    server = make_server()
    with server.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("perm"))
    modes = {name: oct(os.stat(server.spool / name).st_mode & 0o777) for name in ("tmp", "queue", "defer")}
    assert modes == {"tmp": "0o700", "queue": "0o700", "defer": "0o700"}
    assert oct(os.stat(server.queue_dir / qid).st_mode & 0o777) == "0o600"
