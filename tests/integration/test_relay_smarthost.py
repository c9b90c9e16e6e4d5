"""Relay against smarthost habits: idle time-outs, refused senders, size limits, odd replies, restarts.

Covers: a smarthost that closes an idle connection (after 1 s, as many
providers do well before our 30 s): the next message must still go out at
once over a new connection, not be deferred for retry_min. A sender refused
at MAIL with 5xx: every recipient bounced (one bounce, Status 5.7.1), and
the connection stays usable (RSET) for the next message, which is delivered
over it; with 4xx at MAIL: every recipient deferred. Every recipient refused
at RCPT: no DATA, RSET, the next message still goes over the same
connection. A message larger than the smarthost's advertised SIZE: bounced
at once with Status 5.3.4 without sending it. An 8 MiB message over STARTTLS
arrives byte for byte (same SHA-256 as the spool file's message). A forged
plaintext reply behind the smarthost's 220 to STARTTLS is discarded (the
relay waits for the real EHLO reply under TLS). Multi-line replies (250 and
550) are read whole and reach the log and the bounce. No SIZE= when the
smarthost does not advertise SIZE. A deferred message survives a restart of
subgate and goes out when due. Queue lifetime after a partial delivery: only
the pending recipient is bounced (4.4.7), the delivered one gets one copy.
"""

import hashlib
import re

import pytest

from relaykit import pending_ids, parse_bounce, relay_settings, spool_where, read_envelope
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def wait_empty(server, timeout=15):
    wait_for(lambda: pending_ids(server) == [] and server.spool_files() == [], timeout, what="an empty spool")


def status_re(qid, rcpt, status):
    return rf"{qid}: to=<{re.escape(rcpt)}>, relay=\S+, delay=\d+s, tls=\S+, status={status} \((.*)\)"


def test_smarthost_closes_idle_connection(make_server, smarthost):
    host = smarthost("plain", idle_timeout=1)
    server = make_server(settings=relay_settings(host.port, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        first = c.submit(USER, ["idle1@example.org"], make_message("idle1"))
    host.wait_messages(1)
    server.wait_log(rf"{first}: removed")
    wait_for(lambda: host.sessions[0].closed, 10, what="the smarthost to close the idle connection")
    with server.session() as c:
        second = c.submit(USER, ["idle2@example.org"], make_message("idle2"))
    m = server.wait_log(rf"{second}: to=<idle2@example\.org>, .*status=(\w+) \((.*)\)")
    assert m.group(1) == "sent", f"the next message after the smarthost's idle close was not sent: {m.group(0)}"
    [_, t] = host.wait_messages(2)
    assert t.rcpt_tos == ["idle2@example.org"]
    assert len(host.sessions) == 2
    wait_empty(server)


def test_sender_refused_with_5xx(make_server, smarthost):
    host = smarthost("plain")
    refusal = "553 5.7.1 <bob@example.net>: Sender address rejected: not owned by user"
    host.mail_replies["bob@example.net"] = refusal
    server = make_server(settings=relay_settings(host.port))
    with server.session(user="bob", password="bob-Pa55word-x") as c:
        qid = c.submit("bob@example.net", ["x@example.org", "y@example.org"], make_message("refused"))
    for r in ("x@example.org", "y@example.org"):
        assert server.wait_log(status_re(qid, r, "bounced")).group(1) == refusal
    server.wait_log(rf"{qid}: removed")
    [bounce] = host.wait_messages(1)
    wait_empty(server)
    assert (bounce.mail_from, bounce.rcpt_tos) == ("", ["bob@example.net"])
    _, _, rcpts = parse_bounce(bounce.content)
    assert [(r["Final-Recipient"], r["Status"]) for r in rcpts] == [("rfc822; x@example.org", "5.7.1"),
                                                                    ("rfc822; y@example.org", "5.7.1")]
    assert len(host.sessions) == 1  # the bounce went over the same connection after RSET
    assert "RSET" in host.sessions[0].commands()


def test_sender_refused_with_4xx(make_server, smarthost):
    host = smarthost("plain")
    host.mail_replies[USER] = "451 4.3.2 Please try again later"
    server = make_server(settings=relay_settings(host.port, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        qid = c.submit(USER, ["x@example.org", "y@example.org"], make_message("later"))
    for r in ("x@example.org", "y@example.org"):
        assert server.wait_log(status_re(qid, r, "deferred")).group(1) == "451 4.3.2 Please try again later"
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert read_envelope(server, qid).rcpts == [("P", "x@example.org"), ("P", "y@example.org")]
    assert host.transactions == []


def test_all_recipients_refused_then_next_message(make_server, smarthost):
    host = smarthost("plain")
    host.rcpt_replies["nobody@example.org"] = "550 5.1.1 no such user"
    server = make_server(settings=relay_settings(host.port))
    host.hold()
    with server.session() as c:
        first = c.submit(USER, ["nobody@example.org"], make_message("nobody"))
        second = c.submit(USER, ["somebody@example.org"], make_message("somebody"))
    host.release()
    server.wait_log(rf"{first}: removed")
    server.wait_log(rf"{second}: removed")
    msgs = host.wait_messages(2)  # the second message and the bounce of the first
    wait_empty(server)
    assert sorted((t.mail_from, t.rcpt_tos[0]) for t in msgs) == [("", USER), (USER, "somebody@example.org")]
    assert len(host.sessions) == 1
    commands = host.sessions[0].commands()
    mails = [i for i, c in enumerate(commands) if c.startswith("MAIL FROM:")]
    assert commands[mails[0]].startswith(f"MAIL FROM:<{USER}>") and "RSET" in commands, commands
    assert mails[0] < commands.index("RSET") < mails[1], commands  # the refused transaction is reset first


def test_message_over_the_smarthost_size_limit(make_server, smarthost):
    host = smarthost("plain", size_limit=20000)
    server = make_server(settings=relay_settings(host.port))
    big = make_message("big", body=["z" * 900] * 40)  # about 36 kB
    with server.session() as c:
        qid = c.submit(USER, ["large@example.org"], big)
    m = server.wait_log(status_re(qid, "large@example.org", "bounced"))
    assert re.fullmatch(r"message size \d+ exceeds the smarthost's limit of 20000 bytes", m.group(1)), m.group(0)
    server.wait_log(rf"{qid}: removed")
    [bounce] = host.wait_messages(1)
    wait_empty(server)
    assert (bounce.mail_from, bounce.rcpt_tos) == ("", [USER])
    _, _, rcpts = parse_bounce(bounce.content)
    assert [(r["Final-Recipient"], r["Status"]) for r in rcpts] == [("rfc822; large@example.org", "5.3.4")]
    assert not any(a == USER for _, a in host.mail_seen)  # never offered


def test_large_message_over_starttls(make_server, smarthost, pki):
    host = smarthost("starttls", cert=pki.localhost)
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca))
    line = b"0123456789abcdef" * 62 + b"\r\n"
    message = make_message("large", body=[]) + line * (8 * 1024 * 1024 // len(line)) + b".starts with a dot\r\n"
    host.hold()
    with server.session() as c:
        qid = c.submit(USER, ["large@example.org"], message)
    wait_for(lambda: host.mail_seen, what="MAIL at the smarthost")
    spooled = server.spool_file(qid).message
    host.release()
    [t] = host.wait_messages(1, timeout=60)
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert len(t.content) == len(spooled)
    assert hashlib.sha256(t.content).hexdigest() == hashlib.sha256(spooled).hexdigest()
    assert t.mail_options == [f"SIZE={len(spooled)}"]


def test_forged_reply_behind_starttls_is_discarded(make_server, pki):
    """A plaintext line sent right behind the 220 to STARTTLS is never read as a reply under TLS (RFC 3207 4.2)."""
    from relaykit import StarttlsInjector

    injector = StarttlsInjector(pki.localhost)
    try:
        server = make_server(settings=relay_settings(injector.port, "starttls", "localhost", smarthost_ca=pki.ca))
        with server.session() as c:
            qid = c.submit(USER, ["forged@example.org"], make_message("forged"))
        m = server.wait_log(rf"{qid}: to=<forged@example\.org>, .*status=(\w+) \((.*)\)")
        assert injector.early == b"", f"the relay went on before our EHLO reply: {injector.early!r}"
        assert m.group(1) == "sent", m.group(0)
        assert len(injector.messages) == 1 and injector.messages[0].endswith(make_message("forged"))
        assert injector.commands[:3] == ["EHLO gw.example.test", "STARTTLS", "EHLO gw.example.test"]
    finally:
        injector.close()


def test_multiline_replies(make_server, smarthost):
    host = smarthost("plain")
    host.data_reply = lambda mail_from, rcpts, content: (
        None if mail_from == "" else "250-2.0.0 Ok: queued as ABC\r\n250 2.0.0 have a nice day")
    host.rcpt_replies["multi@example.org"] = "550-5.1.1 first line of the refusal\r\n550 5.1.1 second line"
    server = make_server(settings=relay_settings(host.port))
    with server.session() as c:
        qid = c.submit(USER, ["multi@example.org", "fine@example.org"], make_message("multi"))
    sent = server.wait_log(status_re(qid, "fine@example.org", "sent")).group(1)
    bounced = server.wait_log(status_re(qid, "multi@example.org", "bounced")).group(1)
    assert "queued as ABC" in sent and "have a nice day" in sent, sent
    assert "first line of the refusal" in bounced and "second line" in bounced, bounced
    server.wait_log(rf"{qid}: removed")
    msgs = host.wait_messages(2)
    wait_empty(server)
    [bounce] = [t for t in msgs if t.mail_from == ""]
    _, _, [rcpt] = parse_bounce(bounce.content)
    assert rcpt["Status"] == "5.1.1"
    assert "first line of the refusal" in rcpt["Diagnostic-Code"] and "second line" in rcpt["Diagnostic-Code"]
    assert len(host.sessions) == 1


def test_no_size_parameter_when_not_advertised(make_server, smarthost):
    host = smarthost("plain", size_limit=None)
    server = make_server(settings=relay_settings(host.port))
    with server.session() as c:
        qid = c.submit(USER, ["nosize@example.org"], make_message("nosize"))
    [t] = host.wait_messages(1)
    server.wait_log(rf"{qid}: removed")
    assert t.mail_options == []
    assert f"MAIL FROM:<{USER}>" in host.sessions[0].commands()


def test_deferred_mail_survives_a_restart(make_server, smarthost):
    host = smarthost("plain", start=False)
    server = make_server(settings=relay_settings(host.port, retry_min="1s", retry_max="2s"))
    with server.session() as c:
        qid = c.submit(USER, ["restart@example.org"], make_message("restart"))
    server.wait_log(rf"{qid}: to=<restart@example\.org>, .*status=deferred")
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert server.stop() == 0
    host.up()
    start = len(server.log_text())
    server.start()
    assert re.search(r"spool \S+: 1 messages, \d+ bytes queued", server.log_text()[start:]), server.log_text()[start:]
    [t] = host.wait_messages(1, timeout=10)  # when due, without SIGUSR1
    server.wait_log(rf"{qid}: removed", start=start)
    wait_empty(server)
    assert t.rcpt_tos == ["restart@example.org"]


def test_lifetime_bounces_only_the_pending_recipients(make_server, smarthost):
    host = smarthost("plain")
    host.rcpt_replies["busy@example.org"] = "450 4.2.1 mailbox busy"
    server = make_server(settings=relay_settings(host.port, queue_lifetime="3s", retry_min="1s", retry_max="2s"))
    with server.session() as c:
        qid = c.submit(USER, ["done@example.org", "busy@example.org"], make_message("partial"))
    server.wait_log(status_re(qid, "done@example.org", "sent"))
    server.wait_log(rf"{qid}: queue lifetime of 3s exceeded \(age \d+s\): bouncing 1 pending recipient\(s\)",
                    timeout=15)
    server.wait_log(rf"{qid}: removed")
    msgs = host.wait_messages(2)
    wait_empty(server)
    delivered = [t for t in msgs if t.mail_from == USER]
    [bounce] = [t for t in msgs if t.mail_from == ""]
    assert [t.rcpt_tos for t in delivered] == [["done@example.org"]]  # once, never again
    _, _, rcpts = parse_bounce(bounce.content)
    assert [(r["Final-Recipient"], r["Status"]) for r in rcpts] == [("rfc822; busy@example.org", "4.4.7")]
    assert [r for _, r, _ in host.rcpt_seen].count("done@example.org") == 1
