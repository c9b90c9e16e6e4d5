"""`subgate queue list|show|flush|delete|hold|release [--json]` and `mailq`: clients of SPOOL/private/control.

Two halves:

- The client against a scripted control socket (localkit.FakeControl; these run
  without the daemon): the exact request line for every verb (`--json` -> " json"),
  the body copied to stdout byte for byte, `err CODE TEXT` -> exit CODE with
  "subgate: TEXT" on stderr, a malformed status line (76), local checks of the ID
  (64, nothing sent) and of the usage (64), the gateway not running (75, the
  socket named), a non-root caller (77; its `list` goes to public/showq), `mailq` and `sendmail -bp` / `-q` as
  the same requests, `-c FILE` and CONFIG_SPOOL_DIR when the file is unreadable.
- The real queue process behind the socket (needs the daemon's control server):
  a message deferred by a smarthost that answers 450 is listed with its last
  error (text and JSON), shown, held (state held, `!`, not delivered by a
  flush), released and delivered, flushed and delivered, deleted; unknown ids
  give 67; a non-root caller lists over SPOOL/public/showq and sees only the
  mail it submitted (with sendmail), and anything else is refused with 77.
  A local user who asks showq for a long listing and never reads it, or reads
  a trickle (again and again, on every connection it may open), does not hold
  up the queue: an SMTP submission meanwhile gets its 250.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from localkit import NOBODY, FakeControl, client_config, open_path_for_others, run, sendmail_link
from relaykit import relay_settings, spool_where
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EX_USAGE, EX_NOUSER, EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM = 64, 67, 75, 76, 77
QID = "0123456789abcdef"


# --- the client against a scripted control socket ------------------------------------


@pytest.fixture
def fake(tmp_path):
    spool = tmp_path / "spool"
    servers = []

    def make(answer=b"ok\n"):
        s = FakeControl(spool, answer)
        servers.append(s)
        return s

    yield spool, client_config(tmp_path, spool), make
    for s in servers:
        s.close()


@pytest.mark.parametrize("args,request_line", [
    (["list"], "list\n"),
    (["list", "--json"], "list json\n"),
    (["flush"], "flush\n"),
    (["--json", "flush"], "flush json\n"),
    (["show", QID], f"show {QID}\n"),
    (["show", QID, "--json"], f"show {QID} json\n"),
    (["delete", QID], f"delete {QID}\n"),
    (["hold", QID], f"hold {QID}\n"),
    (["release", QID, "--json"], f"release {QID} json\n"),
])
def test_request_lines(subgate_bin, fake, args, request_line):
    spool, conf, make = fake
    ctl = make(b"ok\nbody line 1\nbody line 2\n")
    r = run([subgate_bin, "queue", *args, "-c", conf])
    assert (r.returncode, r.stdout, r.stderr) == (0, b"body line 1\nbody line 2\n", "")
    assert ctl.requests == [request_line]


def test_body_is_copied_byte_for_byte(subgate_bin, fake):
    _, conf, make = fake
    body = b"".join(bytes([i % 256]) * 1000 + b"\r\n" for i in range(200))  # 200 kB, every byte value
    make(b"ok\n" + body)
    r = run([subgate_bin, "queue", "show", QID, "-c", conf])
    assert r.returncode == 0 and r.stdout == body


def test_err_exits_with_its_code_and_prints_the_text(subgate_bin, fake):
    _, conf, make = fake
    make(b"err 67 no message 0123456789abcdef in the queue\n")
    r = run([subgate_bin, "queue", "delete", QID, "-c", conf])
    assert (r.returncode, r.stdout) == (EX_NOUSER, b"")
    assert r.stderr == "subgate: no message 0123456789abcdef in the queue\n"
    make(b"err 75 0123456789abcdef is being delivered now; try again\n{\"error\":1}\n")
    r = run([subgate_bin, "queue", "hold", QID, "--json", "-c", conf])
    assert (r.returncode, r.stdout) == (EX_TEMPFAIL, b"{\"error\":1}\n")
    assert "subgate: 0123456789abcdef is being delivered now; try again" in r.stderr


@pytest.mark.parametrize("answer", [b"", b"maybe\n", b"err x bad\n", b"err 999 big\n", b"ok", b"x" * 600])
def test_malformed_answers(subgate_bin, fake, answer):
    _, conf, make = fake
    make(answer)
    r = run([subgate_bin, "queue", "list", "-c", conf])
    assert r.returncode == EX_PROTOCOL, (answer, r.returncode, r.stderr)
    assert r.stderr.startswith("subgate: ")


@pytest.mark.parametrize("bad", ["0000", "0123456789ABCDEF", "0123456789abcdeg", "../../etc/passwd",
                                 "0123456789abcdef0", "0123456789abcdef json"])
def test_ids_are_checked_before_anything_is_sent(subgate_bin, fake, bad):
    _, conf, make = fake
    ctl = make()
    for verb in ("show", "delete", "hold", "release"):
        r = run([subgate_bin, "queue", verb, bad, "-c", conf])
        assert r.returncode == EX_USAGE, (verb, bad, r.stderr)
        assert "is not a queue id (16 lowercase hex digits)" in r.stderr
    assert ctl.requests == []


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["show"], ["list", "extra"], ["flush", QID],
                                  ["delete"], ["hold", QID, QID], ["list", "-c"]])
def test_usage(subgate_bin, fake, args):
    _, conf, make = fake
    ctl = make()
    r = run([subgate_bin, "queue", *args] + ([] if "-c" in args else ["-c", conf]))
    assert r.returncode == EX_USAGE, (args, r.stderr)
    assert ctl.requests == []


def test_gateway_not_running(subgate_bin, tmp_path):
    spool = tmp_path / "spool"
    conf = client_config(tmp_path, spool)
    r = run([subgate_bin, "queue", "list", "-c", conf])
    assert r.returncode == EX_TEMPFAIL
    assert r.stderr == (f"subgate: the mail gateway is not running ({spool}/private/control: "
                        "No such file or directory)\n")


def test_a_config_naming_only_the_spool_is_enough(subgate_bin, fake, tmp_path):
    """The clients need the spool, not a configuration the gateway could run with."""
    spool, _, make = fake
    make(b"ok\n")
    conf = tmp_path / "spool-only.conf"
    conf.write_text(f"spool = {spool}\n")
    r = run([subgate_bin, "queue", "flush", "-c", conf])
    assert r.returncode == 0, r.stderr
    conf.write_text(f"spool = {spool}\nbogus = 1\n")
    r = run([subgate_bin, "queue", "flush", "-c", conf])
    assert r.returncode == 78 and r.stderr.startswith(f"subgate: {conf}:2: unknown key 'bogus'"), r.stderr


def test_non_root_is_refused(subgate_bin, fake, tmp_path):
    spool, conf, make = fake
    make()
    (spool / "private").chmod(0o700)  # as the master creates it
    open_path_for_others(tmp_path)
    r = run([subgate_bin, "queue", "flush", "-c", conf], user="nobody")
    assert r.returncode == EX_NOPERM
    assert r.stderr == "subgate: only root may control the queue; others may list\n"


def test_non_root_lists_over_the_public_socket(subgate_bin, fake, tmp_path):
    spool, conf, _ = fake
    showq = FakeControl(spool, b"ok\nMail queue is empty\n", path="public/showq", mode=0o666)
    try:
        open_path_for_others(tmp_path)
        links = sendmail_link(tmp_path, subgate_bin)
        for argv in ([subgate_bin, "queue", "list", "-c", conf], [subgate_bin, "queue", "list", "--json", "-c", conf],
                     [links / "mailq", "-c", conf]):
            r = run(argv, user="nobody")
            assert (r.returncode, r.stdout, r.stderr) == (0, b"Mail queue is empty\n", ""), argv
        assert showq.requests == ["list\n", "list json\n", "list\n"]
    finally:
        showq.close()


def test_mailq_and_sendmail_bp_q(subgate_bin, fake, tmp_path):
    _, conf, make = fake
    ctl = make(b"ok\nMail queue is empty\n")
    links = sendmail_link(tmp_path, subgate_bin)
    for argv in ([links / "mailq", "-c", conf], [subgate_bin, "mailq", "-c", conf],
                 [links / "sendmail", "-bp", "-c", conf], [subgate_bin, "sendmail", "-c", conf, "-bp"]):
        r = run(argv)
        assert (r.returncode, r.stdout, r.stderr) == (0, b"Mail queue is empty\n", ""), argv
    for argv in ([links / "sendmail", "-q", "-c", conf], [links / "sendmail", "-q30m", "-c", conf]):
        assert run(argv).returncode == 0
    assert ctl.requests == ["list\n"] * 4 + ["flush\n"] * 2
    r = run([links / "mailq", "-v", "-c", conf])
    assert r.returncode == EX_USAGE and "usage: mailq" in r.stderr


def test_unreadable_config_falls_back_to_the_built_in_spool(subgate_bin, tmp_path):
    conf = tmp_path / "secret.conf"
    conf.write_text("spool = /nonexistent\n")
    conf.chmod(0o600)  # root's; nobody cannot read it and uses CONFIG_SPOOL_DIR
    open_path_for_others(tmp_path)
    r = run([subgate_bin, "queue", "list", "-c", conf], user="nobody")
    assert r.returncode in (EX_TEMPFAIL, EX_NOPERM), r.stderr
    assert "/nonexistent" not in r.stderr and "secret.conf" not in r.stderr, r.stderr


# --- the real queue process behind the socket (needs the daemon's control server) --------


def queue(server, *args, user=None):
    r = run([server.bin, "queue", *args, "-c", server.conf], user=user)
    r.text = r.stdout.decode(errors="replace")
    return r


@pytest.fixture
def deferred(make_server, smarthost):
    """A server whose smarthost answers 450 to later@example.org, and one message deferred for an hour."""
    host = smarthost("plain")
    host.rcpt_replies["later@example.org"] = "450 4.2.0 <later@example.org>: mailbox busy"
    server = make_server(settings=relay_settings(host.port, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        qid = c.submit(USER, ["later@example.org"], make_message("queue-ctl-marker"))
    wait_for(lambda: spool_where(server, qid) == "defer", 15, what="the message to be deferred")
    return server, host, qid


def test_list_shows_the_deferred_message_and_its_last_error(deferred):
    server, _, qid = deferred
    r = queue(server, "list")
    assert r.returncode == 0, r.stderr
    lines = r.text.splitlines()
    assert lines[0].startswith("-Queue ID-")
    head = next(line for line in lines if line.startswith(qid))
    size = (server.defer_dir / qid).stat().st_size
    assert re.match(rf"{qid}\s+{size}\s+.*\s{re.escape(USER)}$", head), head
    assert "mailbox busy" in r.text  # the reason of the last attempt (SPOOL/reason/ID)
    assert any(line.strip() == "later@example.org" for line in lines)
    assert lines[-1] == f"-- {(size + 1023) // 1024} Kbytes in 1 Request."
    assert (server.spool / "reason" / qid).is_file()


def test_list_json(deferred):
    server, _, qid = deferred
    r = queue(server, "list", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.text)
    assert doc["count"] == 1 and doc["bytes"] == (server.defer_dir / qid).stat().st_size
    [m] = doc["messages"]
    assert (m["id"], m["state"], m["sender"]) == (qid, "deferred", USER)
    assert m["recipients"] == [{"address": "later@example.org", "state": "pending"}]
    assert isinstance(m["arrival"], int) and isinstance(m["next_attempt"], int)
    assert m["next_attempt"] > m["arrival"]
    assert "mailbox busy" in m["last_error"]
    assert "message" not in m


def test_show_text_and_json(deferred):
    server, _, qid = deferred
    r = queue(server, "show", qid)
    assert r.returncode == 0, r.stderr
    assert b"queue-ctl-marker" in r.stdout
    r = queue(server, "show", qid, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.text)
    m = doc["messages"][0] if "messages" in doc else doc
    assert m["id"] == qid and "queue-ctl-marker" in m["message"]


def test_flush_delivers(deferred):
    server, host, qid = deferred
    host.rcpt_replies.clear()
    r = queue(server, "flush")
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert t.rcpt_tos == ["later@example.org"] and b"queue-ctl-marker" in t.content
    wait_for(lambda: spool_where(server, qid) is None, what="the message to leave the spool")
    wait_for(lambda: not (server.spool / "reason" / qid).exists(), what="its reason file to go with it")


def test_delete_removes(deferred):
    server, host, qid = deferred
    r = queue(server, "delete", qid)
    assert r.returncode == 0, r.stderr
    assert spool_where(server, qid) is None and not (server.spool / "hold" / qid).exists()
    assert not (server.spool / "reason" / qid).exists()
    r = queue(server, "list")
    assert r.returncode == 0 and "Mail queue is empty" in r.text
    r = queue(server, "delete", qid)
    assert r.returncode == EX_NOUSER and r.stderr.startswith("subgate: ")
    host.rcpt_replies.clear()
    assert queue(server, "flush").returncode == 0
    assert host.messages == []


def test_hold_and_release(deferred):
    server, host, qid = deferred
    host.rcpt_replies.clear()
    r = queue(server, "hold", qid)
    assert r.returncode == 0, r.stderr
    assert (server.spool / "hold" / qid).is_file() and spool_where(server, qid) is None
    r = queue(server, "list")
    assert re.search(rf"^{qid}!", r.text, re.M), r.text
    assert json.loads(queue(server, "list", "--json").text)["messages"][0]["state"] == "held"
    # flush is answered only after the queue has looked for due mail: a held message stays held, not handed over
    assert queue(server, "flush").returncode == 0
    [m] = json.loads(queue(server, "list", "--json").text)["messages"]
    assert m["state"] == "held", m
    assert host.messages == [] and (server.spool / "hold" / qid).is_file()  # the scheduler never picks held mail
    r = queue(server, "release", qid)
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert b"queue-ctl-marker" in t.content
    wait_for(lambda: spool_where(server, qid) is None and not (server.spool / "hold" / qid).exists(),
             what="the released message to be delivered and removed")


def test_unknown_ids(deferred):
    server, _, _ = deferred
    for verb in ("show", "delete", "hold", "release"):
        r = queue(server, verb, "0000000000000000")
        assert r.returncode == EX_NOUSER, (verb, r.stderr)
        assert r.stderr.startswith("subgate: ") and "0000000000000000" in r.stderr


def test_not_root_against_the_daemon(deferred, subgate_bin):
    """nobody lists only the mail it submitted (SPOOL/public/showq); everything else stays root's."""
    server, _, qid = deferred
    open_path_for_others(server.dir)
    r = queue(server, "list", user="nobody")
    assert (r.returncode, r.text, r.stderr) == (0, "Mail queue is empty\n", "")  # root's message is not shown
    r = run([subgate_bin, "sendmail", "-c", server.conf, "later@example.org"], input=b"Subject: mine\n\nb\n",
            user="nobody")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: len([p for p in server.defer_dir.iterdir()]) == 2, 15, what="nobody's message deferred too")
    r = queue(server, "list", user="nobody")
    assert r.returncode == 0, r.stderr
    ids = re.findall(r"^([0-9a-f]{16})", r.text, re.M)
    assert len(ids) == 1 and ids[0] != qid and "nobody@" in r.text, r.text
    assert r.text.splitlines()[-1].endswith("in 1 Request.")
    doc = json.loads(queue(server, "list", "--json", user="nobody").text)
    assert doc["count"] == 1 and [m["id"] for m in doc["messages"]] == ids
    assert len(re.findall(r"^[0-9a-f]{16}", queue(server, "list").text, re.M)) == 2  # root sees both
    for verb in (["flush"], ["show", ids[0]], ["delete", ids[0]], ["hold", ids[0]]):
        r = queue(server, *verb, user="nobody")
        assert r.returncode == EX_NOPERM, verb
        assert r.stderr == "subgate: only root may control the queue; others may list\n", verb
    assert (server.defer_dir / ids[0]).exists()


# A local user's showq clients that read nothing ("never"), or now and then a piece ("trickle": 128 KiB per
# connection every 3 s, so that a blocking writer always makes some progress and is never timed out). It keeps
# every listing connection it may have open, each with a request for a long answer, and replaces one that the
# server closed (or, reading nothing, after 6 s). A connect that fails is tried again.
SLOW_READER = r"""
import socket, sys, time
path, stop, trickle = sys.argv[1], time.monotonic() + float(sys.argv[2]), sys.argv[3] == "trickle"
conns, started = [], False
while time.monotonic() < stop:
    if not trickle:
        conns = [(s, t) for s, t in conns if time.monotonic() - t < 6 or s.close()]
    while len(conns) < 3:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendall(b"list json\n")
        except OSError:
            s.close()
            break
        conns.append((s, time.monotonic()))
    if started is False and len(conns) == 3:
        started = print("connected", flush=True)
    for s, t in list(conns) if trickle else []:
        try:
            if s.recv(131072, socket.MSG_DONTWAIT) == b"":
                conns.remove((s, t))
                s.close()
        except BlockingIOError:
            pass
        except OSError:
            conns.remove((s, t))
            s.close()
    time.sleep(3 if trickle else 0.2)
"""


def write_held(spool, qid, uid, nrcpt):
    """A held message (never scheduled) that local uid `uid` submitted, with nrcpt long recipients."""
    rcpts = "".join(f"rcpt P recipient-{i:03d}-of-a-message-with-a-long-list@example.org\n" for i in range(nrcpt))
    head = (f"subgate-spool 1\narrival {int(time.time())}\nsender nobody@example.com\nuser nobody\n"
            f"client local uid={uid} pid=1\n{rcpts}\n")
    hold = spool / "hold"
    tmp = spool / "tmp" / qid
    tmp.write_bytes(head.encode() + b"Subject: held\r\n\r\nbody\r\n")
    owner = hold.stat()
    os.chown(tmp, owner.st_uid, owner.st_gid)
    os.rename(tmp, hold / qid)


@pytest.mark.parametrize("reads", ["never", "trickle"])
def test_a_showq_client_that_does_not_read_does_not_stall_the_queue(make_server, reads):
    server = make_server()
    open_path_for_others(server.dir)
    nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True, check=True).stdout)
    for k in range(120):  # a listing of about 600 KB: far more than a socket buffers
        write_held(server.spool, f"{0x6000000000000000 + k:016x}", nobody, 50)
    attacker = subprocess.Popen(NOBODY + [sys.executable, "-c", SLOW_READER, str(server.spool / "public/showq"), "90",
                                          reads],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert attacker.stdout.readline() == b"connected\n", attacker.stderr.read()
        with server.session() as c:  # IO_TIMEOUT bounds each reply; the queue answers it at once
            qid = c.submit(USER, ["someone@example.org"], make_message("while-showq-stalls"))
        assert qid in server.queue_ids()
    finally:
        attacker.kill()
        attacker.wait()
    # the long answers, made piece by piece as the client reads, are whole: valid JSON, every message once
    doc = json.loads(queue(server, "list", "--json").text)
    held = [m for m in doc["messages"] if m["state"] == "held"]
    assert len(held) == 120 and len({m["id"] for m in held}) == 120
    assert all(len(m["recipients"]) == 50 for m in held)
    text = queue(server, "list").text
    assert text.count("recipient-049-of-a-message") == 120 and "Requests." in text.splitlines()[-1]
