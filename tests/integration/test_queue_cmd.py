"""`subgate queue list|show|flush|delete` on a live spool.

The server's smarthost is a loopback port where nothing listens, so a
submitted message is deferred (defer/, next attempt in an hour) and stays
there for the queue tool to list, show, flush and delete. `flush` signals
the master through pid_file; with the server stopped it must say so (69).
"""
import re
import socket
import subprocess

from smtpkit import USER, make_message, wait_for

EX_USAGE, EX_NOINPUT, EX_UNAVAILABLE = 64, 66, 69


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queue(server, *args):
    return subprocess.run([server.bin, "queue", *args, "-c", str(server.conf)], capture_output=True, text=True,
                          timeout=30)


def deferred_server(make_server):
    server = make_server(settings={"smarthost": f"[127.0.0.1]:{closed_port()}", "retry_min": "1h",
                                   "retry_max": "2h", "relay_timeout": "5", "pid_file": "subgate.pid"})
    with server.session() as c:
        qid = c.submit(USER, ["rcpt@example.org"], make_message("queued-marker"))
    wait_for(lambda: (server.defer_dir / qid).exists(), 15, what="the message to be deferred")
    return server, qid


def test_list_shows_the_deferred_message(make_server):
    server, qid = deferred_server(make_server)
    r = queue(server, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["-Queue", "ID-", "--Size--", "---Arrival", "Time", "(UTC)---",
                                "-Sender/Recipient-------"]
    size = (server.defer_dir / qid).stat().st_size
    head = next(line for line in lines if line.startswith(qid))
    assert re.fullmatch(rf"{qid} +{size} [A-Z][a-z]{{2}}, \d\d [A-Z][a-z]{{2}} \d{{4}} \d\d:\d\d:\d\d \+0000 +{USER}",
                        head), head
    assert any("(deferred; next attempt " in line for line in lines)
    assert any(line.strip() == "rcpt@example.org" for line in lines)
    assert lines[-1] == f"-- {(size + 1023) // 1024} Kbytes in 1 Request."


def test_show_prints_envelope_and_message(make_server):
    server, qid = deferred_server(make_server)
    r = queue(server, "show", qid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("subgate-spool 1\n")
    assert "rcpt P rcpt@example.org\n" in r.stdout
    assert "queued-marker" in r.stdout
    raw = subprocess.run([server.bin, "queue", "show", qid, "-c", str(server.conf)], capture_output=True,
                         timeout=30).stdout
    assert raw == (server.defer_dir / qid).read_bytes()  # byte for byte, CRLFs included


def test_flush_makes_deferred_mail_due(make_server):
    server, qid = deferred_server(make_server)
    start = len(server.log_text())
    r = queue(server, "flush")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "flush requested: every deferred message will be tried now\n"
    server.wait_log(r"queue: flush: 1 deferred message due now", start=start)
    server.wait_log(rf"{qid}: to=<rcpt@example.org>, .*status=deferred", start=start)


def test_delete_removes_the_message(make_server):
    server, qid = deferred_server(make_server)
    r = queue(server, "delete", qid)
    assert (r.returncode, r.stdout) == (0, f"{qid}: deleted\n"), r.stderr
    assert not (server.defer_dir / qid).exists() and not (server.queue_dir / qid).exists()
    r = queue(server, "list")
    assert r.returncode == 0 and "Mail queue is empty" in r.stdout


def test_unknown_ids_and_usage(make_server):
    server, _ = deferred_server(make_server)
    for verb in ("show", "delete"):
        for bad in ("0000000000000000", "not-an-id", "../../etc/passwd"):
            r = queue(server, verb, bad)
            assert r.returncode == EX_NOINPUT, (verb, bad, r.stderr)
            assert f"no message {bad} in the queue" in r.stderr
    for args in ([], ["frobnicate"], ["show"], ["list", "extra"]):
        r = queue(server, *args)
        assert r.returncode == EX_USAGE, (args, r.stderr)
        assert "usage: subgate queue" in r.stderr


def test_flush_without_a_running_gateway(make_server):
    server, _ = deferred_server(make_server)
    assert server.close() == 0
    r = queue(server, "flush")
    assert r.returncode == EX_UNAVAILABLE, r.stderr
    assert f"the gateway is not running (pid file {server.dir}/subgate.pid)" in r.stderr
