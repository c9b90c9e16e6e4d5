"""Local submission over SPOOL/public/submit: the daemon side of sendmail.

The socket speaks plain ESMTP without TLS or AUTH; the kernel names the peer
(SO_PEERCRED). Root may use any sender; another user only its login name or
its local_sender address, which becomes the envelope sender. Bare local
recipients go through the alias lines. These tests drive the socket directly
(as root, and as nobody in a child that drops its ids); test_sendmail.py drives
it through the sendmail front end.
"""
import grp
import json
import os
import pwd
import socket
import stat
import subprocess
import sys

from localkit import open_path_for_others
from relaykit import relay_settings
from smtpkit import HOST, IO_TIMEOUT, wait_for

NOBODY = pwd.getpwnam("nobody")
NOGROUP = grp.getgrnam("nogroup")

# A child that connects to `submit` in its working directory as whoever it runs as,
# sends each command line and prints every reply as a JSON list of lines.
CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("submit")
except OSError as e:
    print(json.dumps({"connect_error": e.errno})); sys.exit(0)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode().rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            return lines
out = [reply()]
for cmd in json.loads(sys.argv[1]):
    s.sendall(cmd.encode() + b"\r\n")
    if cmd != "DATA-BODY":
        out.append(reply())
print(json.dumps({"replies": out}))
"""


def run_client(server, commands, as_nobody=False):
    """Runs CLIENT in SPOOL/public; returns its JSON result."""
    def drop():
        os.setgroups([])
        os.setgid(NOGROUP.gr_gid)
        os.setuid(NOBODY.pw_uid)

    r = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(commands)], cwd=server.spool / "public",
                       capture_output=True, text=True, timeout=IO_TIMEOUT, preexec_fn=drop if as_nobody else None)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def message(subject):
    return f"Subject: {subject}\r\nTo: someone\r\n\r\nbody of {subject}\r\n."


def local_server(make_server, smarthost, **extra):
    host = smarthost("plain")
    server = make_server(settings=relay_settings(host.port, **extra))
    return server, host


def test_socket_modes(make_server):
    server = make_server()
    public, private = server.spool / "public", server.spool / "private"
    for path, mode in ((public, 0o755), (private, 0o700), (public / "submit", 0o666), (private / "control", 0o600),
                       (public / "showq", 0o666)):
        st = os.lstat(path)
        assert stat.S_IMODE(st.st_mode) == mode, path
        assert (st.st_uid, st.st_gid) == (0, 0), path
    assert stat.S_ISSOCK(os.lstat(public / "submit").st_mode) and stat.S_ISSOCK(os.lstat(public / "showq").st_mode)


def test_group_restricts_the_socket(make_server):
    server = make_server(settings={"local_submit_group": "root"})
    for name in ("submit", "showq"):
        st = os.lstat(server.spool / "public" / name)
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == 0, name
    result = run_client(server, ["QUIT"], as_nobody=True)
    assert result == {"connect_error": 13}  # EACCES: nobody is not in group root


def test_unknown_group_is_a_config_error(make_server):
    server = make_server(start=False, settings={"local_submit_group": "no-such-group-here"})
    r = subprocess.run([server.bin, "check", "-c", str(server.conf)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 78
    assert "no such group 'no-such-group-here'" in r.stderr


def test_root_submits_to_an_alias(make_server, smarthost):
    server, host = local_server(make_server, smarthost)
    r = run_client(server, ["EHLO localhost", "MAIL FROM:<root>", "RCPT TO:<root>", "DATA", message("alias"), "QUIT"])
    greeting, ehlo, mail, rcpt, data, end, quit_ = r["replies"]
    assert greeting == [f"220 {HOST} ESMTP subgate"]
    assert not any("STARTTLS" in line or "AUTH" in line for line in ehlo), ehlo
    assert mail == [f"250 2.1.0 <root@{HOST}>: Sender ok"]
    assert rcpt == ["250 2.1.5 Ok"]
    assert end[0].startswith("250 2.0.0 Ok: queued as ")
    [t] = host.wait_messages(1)
    assert t.mail_from == f"root@{HOST}"
    assert sorted(t.rcpt_tos) == ["admin@example.com", "ops@example.com"]
    assert b"Received: by gw.example.test (subgate, from userid 0)" in t.content


def test_root_may_use_any_sender_and_null(make_server, smarthost):
    server, host = local_server(make_server, smarthost)
    r = run_client(server, ["EHLO localhost", "MAIL FROM:<>", "RCPT TO:<x@example.org>", "DATA", message("null"),
                            "MAIL FROM:<anyone@example.net>", "RCPT TO:<y@example.org>", "DATA", message("any"),
                            "QUIT"])
    replies = r["replies"]
    assert replies[2] == ["250 2.1.0 <>: Sender ok"]
    assert replies[6] == ["250 2.1.0 <anyone@example.net>: Sender ok"]
    host.wait_messages(2)
    assert sorted(t.mail_from for t in host.messages) == ["", "anyone@example.net"]


def test_unaliased_bare_name_is_refused(make_server, smarthost):
    server, _ = local_server(make_server, smarthost)
    r = run_client(server, ["EHLO localhost", "MAIL FROM:<root>", "RCPT TO:<backup>", "QUIT"])
    assert r["replies"][3] == ["550 5.1.1 <backup>: Recipient address rejected: local name without an alias"]


def test_user_gets_its_own_address(make_server, smarthost):
    server, host = local_server(make_server, smarthost)
    r = run_client(server, ["EHLO localhost", "MAIL FROM:<nobody>", "RCPT TO:<rcpt@example.org>", "DATA",
                            message("nobody"), "QUIT"], as_nobody=True)
    assert r["replies"][2] == [f"250 2.1.0 <nobody@{HOST}>: Sender ok"]
    [t] = host.wait_messages(1)
    assert t.mail_from == f"nobody@{HOST}"
    assert f"Received: by {HOST} (subgate, from userid {NOBODY.pw_uid})".encode() in t.content


def test_user_may_not_spoof(make_server, smarthost):
    server, host = local_server(make_server, smarthost)
    r = run_client(server, ["EHLO localhost", "MAIL FROM:<root>", "MAIL FROM:<boss@example.com>", "MAIL FROM:<>",
                            "QUIT"], as_nobody=True)
    for reply in r["replies"][2:5]:
        assert reply[0].startswith("553 5.7.1 "), reply
        assert "not allowed for local user nobody" in reply[0]
    server.wait_log(r"not allowed for local user nobody")


def test_local_sender_line(make_server, smarthost):
    server, host = local_server(make_server, smarthost, local_sender="nobody: alerts@example.com")
    r = run_client(server, ["EHLO localhost", "MAIL FROM:<nobody>", "RSET", "MAIL FROM:<alerts@example.com>",
                            "RCPT TO:<rcpt@example.org>", "DATA", message("mapped"), "QUIT"], as_nobody=True)
    assert r["replies"][2] == ["250 2.1.0 <alerts@example.com>: Sender ok"]
    assert r["replies"][4] == ["250 2.1.0 <alerts@example.com>: Sender ok"]
    [t] = host.wait_messages(1)
    assert t.mail_from == "alerts@example.com"


def test_local_sender_for_unknown_user_is_a_config_error(make_server):
    server = make_server(start=False, settings={"local_sender": "no-such-user-x: a@example.com"})
    r = subprocess.run([server.bin, "check", "-c", str(server.conf)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 78
    assert "no such local user 'no-such-user-x'" in r.stderr


def test_no_tls_or_auth_on_the_socket(make_server):
    server = make_server()
    r = run_client(server, ["EHLO localhost", "STARTTLS", "QUIT"])
    assert r["replies"][2] == ["502 5.5.1 Error: STARTTLS is not offered on the local socket"]


def test_control_socket_refuses_non_root(make_server):
    server = make_server()
    probe = r"""
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("control")
    print("connected")
except OSError as e:
    print(e.errno)
"""

    def drop():
        os.setgroups([])
        os.setgid(NOGROUP.gr_gid)
        os.setuid(NOBODY.pw_uid)

    # opened as root, then the ids dropped: the directory's mode no longer protects, the socket's 0600 does
    r = subprocess.run([sys.executable, "-c", probe], cwd=server.spool / "private", capture_output=True, text=True,
                       timeout=IO_TIMEOUT, preexec_fn=drop)
    assert r.stdout.strip() == "13", r.stdout + r.stderr
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(server.spool / "private" / "control"))
    s.close()


def control(server, request):
    """One request on SPOOL/private/control as root: (status line, body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    s.connect(str(server.spool / "private" / "control"))
    s.sendall(request.encode() + b"\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    status, _, body = data.partition(b"\n")
    return status.decode(), body


def test_control_socket_reaches_the_queue(make_server, smarthost):
    host = smarthost("plain", start=False)  # down: the message is deferred
    server = make_server(settings=relay_settings(host.port, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], b"Subject: ctl\r\n\r\nbody\r\n")
    wait_for(lambda: (server.defer_dir / qid).exists(), what="the message to be deferred")
    status, body = control(server, "list json")
    assert status == "ok"
    listing = json.loads(body)
    assert [m["id"] for m in listing["messages"]] == [qid]
    assert control(server, "hold " + qid) == ("ok", f"{qid}: placed on hold\n".encode())
    assert (server.spool / "hold" / qid).exists()
    assert control(server, "bogus")[0].startswith("err 64 ")


def test_sockets_of_a_daemon_started_by_another_user(make_server):
    """Started as nobody (--no-jail, as in development): the sockets are nobody's, not root's (which
    it could not make them), and nobody may use both: the control socket takes its owner and root."""
    server = make_server(start=False)
    open_path_for_others(server.dir.parent)
    for path in [server.dir, *server.dir.rglob("*")]:
        os.chown(path, NOBODY.pw_uid, NOGROUP.gr_gid)

    def drop():
        os.setgroups([])
        os.setgid(NOGROUP.gr_gid)
        os.setuid(NOBODY.pw_uid)

    server.preexec = drop
    server.serve_args = ["--no-jail"]
    server.start()
    for path, mode in (("public/submit", 0o666), ("private/control", 0o600), ("private", 0o700)):
        st = os.stat(server.spool / path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY.pw_uid, NOGROUP.gr_gid, mode), path
    out = run_client(server, ["EHLO client.example", "QUIT"], as_nobody=True)
    assert out["replies"][1][0].startswith("250-") and out["replies"][2] == ["221 2.0.0 Bye"]
    r = subprocess.run([server.bin, "queue", "list", "-c", str(server.conf)], capture_output=True, text=True,
                       timeout=IO_TIMEOUT, preexec_fn=drop)
    assert (r.returncode, r.stdout, r.stderr) == (0, "Mail queue is empty\n", ""), r.stderr
    status, _ = control(server, "list")  # root
    assert status == "ok", status
