"""`sendmail` (and `subgate sendmail`): a message from standard input submitted over SPOOL/public/submit.

Two halves:

- The client against a scripted submission socket (localkit.FakeSubmit; these
  run without the daemon): the command sequence (EHLO localhost, MAIL FROM with
  -f / -r or the login name, RCPT per recipient, comma lists in arguments,
  -t recipients from To:/Cc:/Bcc: including folded lines, groups and display
  names, duplicates once), the message on the wire (LF -> CRLF, dot-stuffing,
  Bcc: removed with its folded lines, From: added from the 250 reply to MAIL
  with -F NAME, a body without a header block), a lone "." ending the input
  unless -i / -oi, exit codes and messages for a refused recipient (67, RSET,
  QUIT, no DATA), a temporary refusal (75), a refused sender (77), refusals
  after the data (65 / 75), a line over 998 bytes (65; in the body the
  connection ends without the final dot, in the header nothing is sent at
  all), no recipients (66), usage errors (64), -bi, -bs, the gateway not
  running (75) and a socket the caller may not use (77).
- The real gateway behind the socket (needs the daemon's local submission:
  sockets, local sessions, aliases, local_sender, local_submit_group): an alias
  delivers to its targets at a smarthost, an unaliased bare name is refused (67),
  -t as root with -f and as nobody (sender nobody@HOST, From: added), Bcc:
  stripped while its recipient still gets the message, the daemon stopped (75),
  a caller outside local_submit_group (77), a sender a user may not use (77).
"""

import re
import socket

import pytest

from localkit import HOST, FakeSubmit, client_config, open_path_for_others, run, sendmail_link
from relaykit import relay_settings
from smtpkit import wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_NOUSER, EX_TEMPFAIL, EX_NOPERM = 64, 65, 66, 67, 75, 77


# --- the client against a scripted submission socket -------------------------------------


class Env:
    def __init__(self, tmp_path, subgate_bin):
        self.tmp = tmp_path
        self.bin = subgate_bin
        self.spool = tmp_path / "spool"
        self.conf = client_config(tmp_path, self.spool)
        self.links = sendmail_link(tmp_path, subgate_bin)
        self.sendmail = self.links / "sendmail"
        self.fake = None

    def serve(self, **kw):
        self.fake = FakeSubmit(self.spool, **kw)
        return self.fake

    def run(self, *args, input=b"", user=None):
        if isinstance(input, str):
            input = input.encode()
        r = run([self.sendmail, "-c", self.conf, *args], input=input, user=user)
        if self.fake is not None:
            self.fake.settle()  # the fake has read to the end of what the client sent (an abort included)
        return r


@pytest.fixture
def env(tmp_path, subgate_bin):
    e = Env(tmp_path, subgate_bin)
    yield e
    if e.fake is not None:
        e.fake.close()


def envelope(fake):
    return [c for c in fake.commands if c.split(" ", 1)[0] in ("EHLO", "MAIL", "RCPT", "DATA", "RSET", "QUIT")]


def test_simple_message_as_root(env):
    fake = env.serve()
    r = env.run("root", input="Subject: hi\n\nline 1\nline 2\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", "")
    assert envelope(fake) == ["EHLO localhost", "MAIL FROM:<root>", "RCPT TO:<root>", "DATA", "QUIT"]
    assert fake.messages == [f"From: root@{HOST}\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\n".encode()]


def test_subgate_sendmail_is_the_same_command(env):
    fake = env.serve()
    r = run([env.bin, "sendmail", "-c", env.conf, "-f", "a@example.org", "b@example.org"], input=b"x\n")
    assert r.returncode == 0, r.stderr
    assert envelope(fake)[1:3] == ["MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>"]


def test_crlf_dot_stuffing_and_body_without_header(env):
    fake = env.serve()
    body = "first\r\n.\r\n..\r\n.x\r\nlast line without newline"
    r = env.run("-i", "-f", "<ops@example.org>", "a@example.org", input=body)
    assert r.returncode == 0, r.stderr
    assert envelope(fake)[1] == "MAIL FROM:<ops@example.org>"
    # "first" is no header field: the body starts there, after the added From: and an empty line
    assert fake.messages == [b"From: ops@example.org\r\n\r\nfirst\r\n..\r\n...\r\n..x\r\n"
                             b"last line without newline\r\n"]


def test_a_lone_dot_ends_the_message_unless_i(env):
    fake = env.serve()
    assert env.run("a@x", input="Subject: s\n\nbefore\n.\nafter\n").returncode == 0
    assert env.run("-oi", "a@x", input="Subject: s\n\nbefore\n.\nafter\n").returncode == 0
    assert env.run("-i", "a@x", input="Subject: s\n\nbefore\n.\nafter\n").returncode == 0
    assert fake.messages[0].endswith(b"\r\n\r\nbefore\r\n")
    assert fake.messages[1].endswith(b"\r\n\r\nbefore\r\n..\r\nafter\r\n")
    assert fake.messages[2] == fake.messages[1]


def test_from_added_with_full_name_and_never_twice(env):
    fake = env.serve()
    assert env.run("-F", "Cron Daemon", "-f", "cron", "a@x", input="Subject: s\n\nb\n").returncode == 0
    assert fake.messages[0].startswith(f"From: Cron Daemon <cron@{HOST}>\r\nSubject: s\r\n".encode())
    assert env.run("-FSmith, Bob", "a@x", input="Subject: s\n\nb\n").returncode == 0
    assert fake.messages[1].startswith(f"From: \"Smith, Bob\" <root@{HOST}>\r\n".encode())
    assert env.run("-F", "Ignored", "a@x", input="from: Me <me@x>\nSubject: s\n\nb\n").returncode == 0
    assert fake.messages[2] == b"from: Me <me@x>\r\nSubject: s\r\n\r\nb\r\n"


def test_recipients_from_arguments(env):
    fake = env.serve()
    r = env.run("--", "a@x,b@x", "Carol <c@x>", "a@x", input="Subject: s\n\nb\n")
    assert r.returncode == 0, r.stderr
    assert [c for c in fake.commands if c.startswith("RCPT")] == ["RCPT TO:<a@x>", "RCPT TO:<b@x>", "RCPT TO:<c@x>"]


def test_t_reads_to_cc_bcc_and_strips_bcc(env):
    fake = env.serve()
    message = ("From: Me <me@example.org>\n"
               "To: Alice <alice@example.org>,\n"
               "  \"Bob, Jr.\" <bob@example.org>\n"
               "Cc: carol@example.org (Carol), friends: dave@example.org, erin@example.org;\n"
               "Bcc: hidden@example.org,\n"
               "\tsecret@example.org\n"
               "Subject: To: not-a-recipient@example.org\n"
               "bcc: more-hidden@example.org\n"
               "\n"
               "Bcc: this is the body\n")
    r = env.run("-t", "extra@example.org", input=message)
    assert r.returncode == 0, r.stderr
    rcpts = [c[len("RCPT TO:<"):-1] for c in fake.commands if c.startswith("RCPT")]
    assert rcpts == ["extra@example.org", "alice@example.org", "bob@example.org", "carol@example.org",
                     "dave@example.org", "erin@example.org", "hidden@example.org", "secret@example.org",
                     "more-hidden@example.org"]
    assert fake.messages == [b"From: Me <me@example.org>\r\n"
                             b"To: Alice <alice@example.org>,\r\n"
                             b"  \"Bob, Jr.\" <bob@example.org>\r\n"
                             b"Cc: carol@example.org (Carol), friends: dave@example.org, erin@example.org;\r\n"
                             b"Subject: To: not-a-recipient@example.org\r\n"
                             b"\r\n"
                             b"Bcc: this is the body\r\n"]


def test_bcc_is_removed_without_t_too(env):
    fake = env.serve()
    assert env.run("a@x", input="Bcc: b@x\nSubject: s\n\nbody\n").returncode == 0
    assert [c for c in fake.commands if c.startswith("RCPT")] == ["RCPT TO:<a@x>"]
    assert b"Bcc" not in fake.messages[0] and b"b@x" not in fake.messages[0]


def test_a_refused_recipient_sends_nothing(env):
    fake = env.serve()
    fake.rcpt_replies["nosuch"] = "550 5.1.1 <nosuch>: Recipient address rejected: local name without an alias"
    r = env.run("ok@x", "nosuch", "ok2@x", input="Subject: s\n\nb\n")
    assert r.returncode == EX_NOUSER
    assert ("sendmail: RCPT TO:<nosuch>: 550 5.1.1 <nosuch>: Recipient address rejected: "
            "local name without an alias\n") in r.stderr
    assert envelope(fake) == ["EHLO localhost", "MAIL FROM:<root>", "RCPT TO:<ok@x>", "RCPT TO:<nosuch>",
                              "RCPT TO:<ok2@x>", "RSET", "QUIT"]
    assert fake.messages == [] and fake.aborted == []


def test_a_temporarily_refused_recipient_is_75(env):
    fake = env.serve()
    fake.rcpt_replies["b@x"] = "452 4.5.3 Error: too many recipients"
    r = env.run("a@x", "b@x", input="b\n")
    assert r.returncode == EX_TEMPFAIL
    assert "sendmail: RCPT TO:<b@x>: 452 4.5.3 Error: too many recipients" in r.stderr
    fake.rcpt_replies["c@x"] = "550 5.1.1 no"
    assert env.run("b@x", "c@x", input="b\n").returncode == EX_NOUSER  # a permanent refusal wins
    assert fake.messages == []


def test_a_refused_sender_is_77(env):
    fake = env.serve()
    fake.mail_replies["boss@example.org"] = ("553 5.7.1 <boss@example.org>: sender not allowed for local user "
                                             "nobody (uid 65534)")
    r = env.run("-f", "boss@example.org", "a@x", input="b\n")
    assert r.returncode == EX_NOPERM
    assert r.stderr.startswith("sendmail: MAIL FROM:<boss@example.org>: 553 5.7.1 <boss@example.org>: "
                               "sender not allowed")
    assert envelope(fake)[-2:] == ["RSET", "QUIT"] and fake.messages == []


@pytest.mark.parametrize("reply,code", [("554 5.6.0 Error: message contains a NUL", EX_DATAERR),
                                        ("552 5.3.4 Error: message too big", EX_DATAERR),
                                        ("451 4.3.0 Error: queue file write error", EX_TEMPFAIL)])
def test_refusal_after_the_data(env, reply, code):
    fake = env.serve()
    fake.data_reply = reply
    r = env.run("a@x", input="b\n")
    assert r.returncode == code
    assert f"sendmail: end of DATA: {reply}" in r.stderr


def test_long_body_line_aborts_without_the_final_dot(env):
    fake = env.serve()
    ok = "x" * 998
    assert env.run("a@x", input=f"Subject: s\n\n{ok}\n").returncode == 0
    r = env.run("a@x", input=f"Subject: s\n\nline\n{ok}y\nmore\n")
    assert r.returncode == EX_DATAERR
    assert "sendmail: line 4 of the message is longer than 998 bytes; message not sent" in r.stderr
    assert len(fake.messages) == 1 and len(fake.aborted) == 1  # the connection ended inside DATA
    assert b"x" * 999 not in fake.aborted[0] and not fake.aborted[0].endswith(b"\r\n.\r\n")


def test_long_header_line_sends_nothing(env):
    fake = env.serve()
    r = env.run("a@x", input="Subject: " + "y" * 1000 + "\n\nbody\n")
    assert r.returncode == EX_DATAERR
    assert "line 1 of the message is longer than 998 bytes" in r.stderr
    r = env.run("a@x", input="".join(f"X-H{i}: " + "v" * 900 + "\n" for i in range(80)) + "\nbody\n")
    assert r.returncode == EX_DATAERR
    assert "header is longer than 65536 bytes" in r.stderr
    assert fake.connections == 0


def test_bare_cr_is_refused(env):
    fake = env.serve()
    r = env.run("a@x", input="Subject: s\n\nab\rcd\n")
    assert r.returncode == EX_DATAERR and "carriage return" in r.stderr
    assert fake.messages == []


def test_no_recipients(env):
    fake = env.serve()
    for args, message in (([], "Subject: s\n\nb\n"), (["-t"], "Subject: s\n\nb\n"),
                          (["-t"], "To: undisclosed-recipients:;\n\nb\n")):
        r = env.run(*args, input=message)
        assert r.returncode == EX_NOINPUT, args
        assert r.stderr == "sendmail: no recipients\n"
    assert fake.connections == 0


def test_bad_addresses(env):
    env.serve()
    r = env.run("Alice Smith", input="b\n")
    assert r.returncode == EX_USAGE and "bad recipient 'Alice Smith'" in r.stderr
    r = env.run("-t", input="To: Broken <b@x\n\nb\n")
    assert r.returncode == EX_DATAERR and "the To: header" in r.stderr
    r = env.run("-f", "a b@x", "c@x", input="b\n")
    assert r.returncode == EX_USAGE and "invalid sender" in r.stderr


@pytest.mark.parametrize("args", [["-Z", "a@x"], ["-f"], ["-bz"], ["-bd"], ["-c"], ["-x", "a@x"], ["-bsp"]])
def test_usage_errors(env, args):
    fake = env.serve()
    r = run([env.sendmail, *args], input=b"b\n")
    assert r.returncode == EX_USAGE, args
    assert "usage: sendmail" in r.stderr
    assert fake.connections == 0


def test_ignored_options(env):
    fake = env.serve()
    r = env.run("-oem", "-odi", "-odb", "-v", "-n", "-U", "-m", "-em", "-ee", "-eq", "-B", "8BITMIME",
                "-N", "never", "-R", "hdrs", "-V", "envid", "-L", "tag", "-h", "3",
                "-O", "Opt=1", "-X", "/tmp/log", "-bm", "-ti", "a@x", input="To: b@x\n\nb\n")
    assert r.returncode == 0, r.stderr
    assert [c for c in fake.commands if c.startswith("RCPT")] == ["RCPT TO:<a@x>", "RCPT TO:<b@x>"]


@pytest.mark.parametrize("form", ["separate", "attached"])
def test_capital_c_names_the_configuration(env, form):
    """Postfix's sendmail -C FILE is the configuration: the same as -c, never ignored."""
    fake = env.serve()
    opt = ["-C", str(env.conf)] if form == "separate" else [f"-C{env.conf}"]
    r = run([env.sendmail, *opt, "a@x"], input=b"Subject: s\n\nb\n")
    assert r.returncode == 0, r.stderr
    fake.settle()
    assert [c for c in fake.commands if c.startswith("RCPT")] == ["RCPT TO:<a@x>"]


def test_bi(env):
    r = env.run("-bi")
    assert r.returncode == 0
    assert "aliases live in" in r.stderr and "alias = NAME: ADDRESS" in r.stderr


def test_bs_relays_smtp(env):
    fake = env.serve()
    session = b"EHLO client\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n"
    r = env.run("-bs", input=session)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith(f"220 {HOST} ESMTP subgate\r\n")
    assert "354 " in out and "250 2.0.0 Ok: queued as" in out and out.endswith("221 2.0.0 Bye\r\n")
    assert fake.messages == [b"hello\r\n"] and bytes(fake.raw) == session


def test_gateway_not_running(env):
    r = env.run("a@x", input="Subject: s\n\nb\n")
    assert r.returncode == EX_TEMPFAIL
    assert r.stderr == (f"sendmail: the mail gateway is not running ({env.spool}/public/submit: "
                        "No such file or directory); message not sent\n")
    env.spool.joinpath("public").mkdir(parents=True, exist_ok=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(env.spool / "public" / "submit"))  # a stale socket: nobody listens
    s.close()
    r = env.run("a@x", input="b\n")
    assert r.returncode == EX_TEMPFAIL and "Connection refused); message not sent" in r.stderr


def test_socket_not_for_this_user(env):
    fake = env.serve(mode=0o660)  # root:root 0660, as with local_submit_group
    open_path_for_others(env.tmp)
    r = env.run("a@x", input="b\n", user="nobody")
    assert r.returncode == EX_NOPERM
    assert r.stderr == "sendmail: not allowed to submit mail here (local_submit_group); message not sent\n"
    assert fake.connections == 0


def test_login_name_of_an_unprivileged_user(env):
    fake = env.serve()
    open_path_for_others(env.tmp)
    r = env.run("a@x", input="Subject: s\n\nb\n", user="nobody")
    assert r.returncode == 0, r.stderr
    assert envelope(fake)[1] == "MAIL FROM:<nobody>"
    assert fake.messages[0].startswith(f"From: nobody@{HOST}\r\n".encode())


# --- the real gateway behind the socket (needs the daemon's local submission) --------------


@pytest.fixture
def gateway(make_server, smarthost, tmp_path):
    """make(settings=..., aliases=...) -> (server, smarthost, sendmail path): a relaying gateway and a sink."""
    made = {}

    def make(settings=None, aliases=None):
        host = smarthost("plain")
        server = make_server(settings=relay_settings(host.port, **(settings or {})), aliases=aliases)
        open_path_for_others(server.spool)
        links = sendmail_link(tmp_path, server.bin)
        made["server"] = server
        return server, host, links / "sendmail"

    return make


def sendmail(path, server, *args, input=b"", user=None):
    if isinstance(input, str):
        input = input.encode()
    return run([path, "-c", server.conf, *args], input=input, user=user)


def test_root_alias_arrives_at_its_targets(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "root", input="Subject: alias test\n\nhello root\n")
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert sorted(t.rcpt_tos) == ["admin@example.com", "ops@example.com"]
    assert t.mail_from == f"root@{HOST}"
    assert b"hello root" in t.content and t.header("Subject") == "alias test"
    assert t.header("From") == f"root@{HOST}"


def test_echo_to_root(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "root", input="\n")  # `echo | sendmail root`
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert sorted(t.rcpt_tos) == ["admin@example.com", "ops@example.com"]


def test_unaliased_bare_name_is_refused(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "nosuchname", input="Subject: s\n\nb\n")
    assert r.returncode == EX_NOUSER
    assert ("sendmail: RCPT TO:<nosuchname>: 550 5.1.1 <nosuchname>: Recipient address rejected: "
            "local name without an alias") in r.stderr
    assert server.queue_ids() == set()


def test_t_as_root_with_f(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "-t", "-f", "alerts@example.com", "-F", "Alerts",
                 input="To: one@example.org\nCc: two@example.org\nSubject: t\n\nbody\n")
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert t.mail_from == "alerts@example.com"
    assert sorted(t.rcpt_tos) == ["one@example.org", "two@example.org"]
    assert t.header("From") == "Alerts <alerts@example.com>"


def test_t_as_nobody(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "-t", input="To: one@example.org\nSubject: t\n\nbody\n", user="nobody")
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert t.mail_from == f"nobody@{HOST}"
    assert t.header("From") == f"nobody@{HOST}"
    assert t.rcpt_tos == ["one@example.org"]


def test_nobody_may_not_use_another_sender(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "-f", "boss@example.com", "one@example.org", input="b\n", user="nobody")
    assert r.returncode == EX_NOPERM
    assert "sendmail: MAIL FROM:<boss@example.com>: 553 5.7.1 <boss@example.com>: Sender address rejected: " \
           "not allowed for local user nobody (uid 65534); use <nobody@gw.example.test>" in r.stderr
    assert server.queue_ids() == set()


def test_local_sender_line(gateway):
    server, host, sm = gateway(settings={"local_sender": "nobody: robot@example.com"})
    r = sendmail(sm, server, "-f", "robot@example.com", "one@example.org", input="b\n", user="nobody")
    assert r.returncode == 0, r.stderr
    [t] = host.wait_messages(1)
    assert t.mail_from == "robot@example.com"


def test_bcc_stripped_but_delivered(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "-t", input="To: seen@example.org\nBcc: hidden@example.org,\n\tsecret@example.org\n"
                                         "Subject: bcc\n\nbody\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: len([a for t in host.messages for a in t.rcpt_tos]) == 3, what="three deliveries")
    rcpts = sorted(a for t in host.messages for a in t.rcpt_tos)
    assert rcpts == ["hidden@example.org", "secret@example.org", "seen@example.org"]
    for t in host.messages:
        assert t.header("Bcc") is None and b"hidden@" not in t.content and b"secret@" not in t.content


def test_daemon_stopped(gateway):
    server, host, sm = gateway()
    assert server.close() == 0
    r = sendmail(sm, server, "root", input="b\n")
    assert r.returncode == EX_TEMPFAIL
    assert re.search(r"^sendmail: the mail gateway is not running \(\S+/public/submit: .*\); message not sent$",
                     r.stderr, re.M), r.stderr


def test_outside_local_submit_group(gateway):
    server, host, sm = gateway(settings={"local_submit_group": "root"})
    r = sendmail(sm, server, "one@example.org", input="b\n", user="nobody")
    assert r.returncode == EX_NOPERM
    assert "not allowed to submit mail here" in r.stderr
    r = sendmail(sm, server, "one@example.org", input="b\n")  # root is in group root
    assert r.returncode == 0, r.stderr
    host.wait_messages(1)


def test_mailq_through_sendmail_bp(gateway):
    server, host, sm = gateway()
    r = sendmail(sm, server, "-bp")
    assert r.returncode == 0, r.stderr
    assert b"Mail queue is empty" in r.stdout
