"""Signals to the master: SIGTERM stops gracefully, SIGHUP reloads.

SIGTERM: no new connections; idle sessions get 421 4.3.2 at once; a session in
DATA finishes its message (commit, then 250) and is told 421 after it; the
master exits 0 leaving every acknowledged message in the spool and no partial
file in tmp/.
"""
import os
import re
import signal
import socket
import ssl
import threading
from pathlib import Path

from smtpkit import QUEUED_RE, USER, ConnectionClosed, make_message, wait_for

SESSIONS = 20


def start_stopping_server(make_server):
    return make_server(settings={"max_sessions": "40", "max_sessions_per_addr": "40"})


def test_sigterm_during_twenty_submissions(make_server):
    server = start_stopping_server(make_server)
    ready = threading.Barrier(SESSIONS + 1, timeout=60)
    told = threading.Event()  # the master has logged the stop: every session has had its SIGTERM
    results = [None] * SESSIONS

    def submit(i):
        c = server.session()
        try:
            assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
            assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
            assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
            msg = make_message(f"term-{i}")
            c.send(msg[: len(msg) // 2])
            ready.wait()  # every session is in the middle of DATA
            assert told.wait(30), "the master never logged the stop"
            c.send(msg[len(msg) // 2:] + b".\r\n")
            reply = c.reply()
            after = c.cmd("NOOP")  # the daemon is stopping: 421 instead of 250
            results[i] = (reply, after)
        except ConnectionClosed as e:
            results[i] = ("closed", str(e))
        finally:
            c.close()

    idle = server.session()
    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SESSIONS)]
    for t in threads:
        t.start()
    ready.wait()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.wait_log(rf"stopping on signal 15 from pid \d+: no new sessions; {SESSIONS + 1} sessions may finish")
    finally:
        told.set()
    assert idle.reply().startswith("421 4.3.2 ")  # idle: told at once, without a command
    idle.close()
    for t in threads:
        t.join(60)
    assert server.proc.wait(30) == 0
    acknowledged = {}
    for i, (reply, after) in enumerate(results):
        m = QUEUED_RE.fullmatch(reply)
        assert m, (reply, after)  # every session in DATA was allowed to finish
        assert after.startswith("421 4.3.2 "), after
        acknowledged[m.group(1)] = i
    assert len(acknowledged) == SESSIONS
    assert set(acknowledged) <= server.queue_ids()
    assert server.tmp_files() == []
    for qid, i in acknowledged.items():
        assert server.spool_file(qid).content == make_message(f"term-{i}")  # whole, committed
    log = server.log_text()
    assert "all sessions finished; stopped" in log
    server.proc = None
    server.log_fh.close()


def test_no_new_connections_while_stopping(make_server):
    server = start_stopping_server(make_server)
    c = server.session()
    assert c.cmd(f"MAIL FROM:<{USER}>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
    server.proc.send_signal(signal.SIGTERM)
    server.wait_log(r"stopping on signal 15 from pid \d+: no new sessions; 1 session may finish")

    def refused():
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
            return False
        except ConnectionRefusedError:
            return True

    wait_for(refused, 5, what="the listener to close")
    assert server.proc.poll() is None  # still waiting for the message
    c.send(make_message("late") + b".\r\n")
    assert QUEUED_RE.fullmatch(c.reply())
    c.close()
    assert server.proc.wait(15) == 0
    server.proc = None
    server.log_fh.close()


# --- SIGHUP ---------------------------------------------------------------------------------


def peer_cert(c):
    return c.sock.getpeercert(binary_form=True)


def pem_der(path):
    return ssl.PEM_cert_to_DER_cert(Path(path).read_text())


def test_sighup_new_certificate(make_server, subgate):
    server = make_server()
    old_der = pem_der(server.dir / "cert.pem")
    ongoing = server.session()  # logged in with the old certificate
    assert peer_cert(ongoing) == old_der
    before_tls = server.connect()  # connected before the reload, STARTTLS after it
    before_tls.ehlo()
    new = server.dir / "new"
    new.mkdir()
    r = subgate("cert", "--self-signed", "--hostname", "new.gw.example.test", "--cert", new / "cert.pem",
                "--key", new / "key.pem")
    assert r.returncode == 0, r.stderr
    os.replace(new / "cert.pem", server.dir / "cert.pem")
    os.replace(new / "key.pem", server.dir / "key.pem")
    new_der = pem_der(server.dir / "cert.pem")
    assert new_der != old_der
    start = len(server.log_text())
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(r"reloaded \S+subgate.conf: certificate \S+cert.pem \(key generation 1\)", start=start)
    with server.session() as fresh:
        assert peer_cert(fresh) == new_der
        fresh.submit(USER, ["rcpt@example.org"], make_message("after-reload"))
    before_tls.starttls()  # forked before the reload: the old certificate, signed by the old key
    assert peer_cert(before_tls) == old_der
    before_tls.close()
    ongoing.submit(USER, ["rcpt@example.org"], make_message("ongoing"))  # not dropped
    assert ongoing.cmd("QUIT") == "221 2.0.0 Bye"
    ongoing.close()
    assert server.proc.poll() is None


def test_sighup_bad_config_keeps_running(make_server):
    server = make_server()
    good = server.conf.read_text()
    server.conf.write_text(good + "max_message_size = lots\n")
    start = len(server.log_text())
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(r"reload failed: .*; still running with the previous settings", start=start)
    assert re.search(r"subgate\.conf:\d+: .*max_message_size", server.log_text()[start:])
    with server.session() as c:
        c.submit(USER, ["rcpt@example.org"], make_message("still-up"))
    server.conf.write_text(good.replace("max_message_size = 10m", "max_message_size = 2m"))
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(r"reloaded ", start=start)
    server.settings["max_message_size"] = "2m"  # what EHLO now advertises
    with server.session() as c:  # a new session sees the new limit
        assert c.cmd(f"MAIL FROM:<{USER}> SIZE=3000000") == "552 5.3.4 Message size exceeds fixed limit"


def test_sighup_start_only_key_is_kept(make_server):
    server = make_server()
    server.conf.write_text(server.conf.read_text().replace("run_as = nobody", "run_as = daemon"))
    start = len(server.log_text())
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(r"run_as changed; it takes effect at the next start", start=start)
    server.wait_log(r"reloaded ", start=start)
    with server.session() as c:
        c.submit(USER, ["rcpt@example.org"], make_message("kept"))
