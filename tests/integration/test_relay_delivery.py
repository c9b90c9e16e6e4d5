"""Relay end to end: messages submitted to subgate arrive at a real (aiosmtpd) smarthost.

Covers: submission on 587 relayed over STARTTLS with AUTH PLAIN, the smarthost
certificate verified against a CA file and the name in `[localhost]:PORT`
(EC and RSA server keys); submission on 465 relayed over implicit TLS to a
smarthost trusted by its SPKI pin only (given by IP address). In both, the
message arrives byte for byte as the spool file held it after its envelope
(the client's bytes plus our Received:, Message-ID: and Date:), dot-stuffed
on the wire (lines ".", "..", ".x"), with the envelope sender, every
recipient in order and SIZE= exact; the command sequence (EHLO, STARTTLS,
EHLO, AUTH, MAIL, RCPT..., DATA) and the credentials are exact; the log has
one "status=sent" line per recipient and "ID: removed"; the spool is empty.
Also: AUTH LOGIN when the smarthost offers no PLAIN, helo_name in EHLO, a
smarthost without PIPELINING, and connection reuse: 20 messages over one
connection with one login (messages per second printed).
"""

import re
import time

import pytest

from relaykit import SMARTHOST_PASSWORD, SMARTHOST_USER, pending_ids, relay_settings, write_secret
from smtpkit import HOST, USER, dot_stuff, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOTTY_BODY = ["first line", ".", "..", ".x", "..y", "a.b", "", " .", "last line"]


def sent_re(qid, rcpt, port, host="localhost", tls=r"TLSv1\.2/\S+"):
    return (rf"{qid}: to=<{re.escape(rcpt)}>, relay={re.escape(host)}\[127\.0\.0\.1\]:{port}, delay=\d+s, "
            rf"tls={tls}, status=sent \(250 2\.0\.0 Ok: queued\)")


def expected_content(client_message, qid):
    """The client's message with the Message-ID: and Date: the server appends to the header block."""
    head, body = client_message.split(b"\r\n\r\n", 1)
    return head + b"\r\n" + f"Message-ID: <{qid}@{HOST}>\r\n".encode() + b"Date: DATE\r\n\r\n" + body


def assert_same_except_date(delivered_content, client_message, qid):
    m = re.search(rb"\r\nDate: ([^\r\n]+)\r\n", delivered_content)
    assert m, delivered_content[:600]
    assert delivered_content.replace(m.group(0), b"\r\nDate: DATE\r\n", 1) == expected_content(client_message, qid)


def spool_is_empty(server):
    return server.spool_files() == [] and pending_ids(server) == []


def relay_one(server, host, rcpts, implicit=False, marker="e2e"):
    """Submits one message while the smarthost holds MAIL; returns (qid, client message, spool file)."""
    message = make_message(marker, message_id=False, date=False, body=DOTTY_BODY)
    host.hold()
    with server.session(implicit=implicit) as c:
        qid = c.submit(USER, rcpts, message)
    wait_for(lambda: host.mail_seen, 10, what="the relay's MAIL at the smarthost")
    spooled = server.spool_file(qid)  # still in queue/: the transaction is in flight
    host.release()
    return qid, message, spooled


@pytest.mark.parametrize("leaf", ["localhost", "rsa"], ids=["ec-key", "rsa-key"])
def test_587_to_starttls_smarthost_with_auth_and_ca(make_server, smarthost, pki, tmp_path, leaf):
    host = smarthost("starttls", cert=getattr(pki, leaf), auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path)))
    rcpts = ["one@example.org", "two@example.net"]
    qid, message, spooled = relay_one(server, host, rcpts)
    [t] = host.wait_messages(1)
    for r in rcpts:
        server.wait_log(sent_re(qid, r, host.port))
    server.wait_log(rf"{qid}: removed")
    wait_for(lambda: spool_is_empty(server), what="an empty spool")

    assert t.content == spooled.message  # byte for byte what the spool file held after its envelope
    assert t.content.startswith(spooled.received) and spooled.received.startswith(b"Received: ")
    assert_same_except_date(spooled.content, message, qid)
    assert (t.mail_from, t.rcpt_tos, t.mail_options) == (USER, rcpts, [f"SIZE={len(spooled.message)}"])
    [conn] = host.sessions
    assert conn.tls and conn.ehlo == [HOST, HOST]
    assert conn.auth == [("PLAIN", SMARTHOST_USER, SMARTHOST_PASSWORD, True)]
    assert conn.commands()[:4] == ["EHLO " + HOST, "STARTTLS", "EHLO " + HOST, conn.commands()[3]]
    assert conn.commands()[3].startswith("AUTH PLAIN ")
    assert conn.commands()[4:8] == [f"MAIL FROM:<{USER}> SIZE={len(spooled.message)}", "RCPT TO:<one@example.org>",
                                    "RCPT TO:<two@example.net>", "DATA"]
    # dot-stuffed on the wire, exactly once
    assert bytes(conn.transcript).count(dot_stuff(spooled.message)) == 1
    assert len(host.transactions) == 1


def test_465_to_implicit_tls_smarthost_with_pin(make_server, smarthost, pki):
    host = smarthost("tls", cert=pki.localhost)
    server = make_server(settings=relay_settings(host.port, "tls", "127.0.0.1", smarthost_pin=pki.localhost.pin))
    rcpts = ["pinned@example.org"]
    qid, message, spooled = relay_one(server, host, rcpts, implicit=True, marker="e2e-465")
    [t] = host.wait_messages(1)
    server.wait_log(sent_re(qid, rcpts[0], host.port, host="127.0.0.1"))
    server.wait_log(rf"{qid}: removed")
    wait_for(lambda: spool_is_empty(server), what="an empty spool")

    assert t.content == spooled.message
    assert_same_except_date(spooled.content, message, qid)
    assert (t.mail_from, t.rcpt_tos, t.mail_options) == (USER, rcpts, [f"SIZE={len(spooled.message)}"])
    [conn] = host.sessions
    assert conn.tls and conn.ehlo == [HOST] and conn.auth == []
    assert conn.commands()[:4] == ["EHLO " + HOST, f"MAIL FROM:<{USER}> SIZE={len(spooled.message)}",
                                   "RCPT TO:<pinned@example.org>", "DATA"]
    assert bytes(conn.transcript).count(dot_stuff(spooled.message)) == 1


def test_auth_login_when_plain_is_not_offered(make_server, smarthost, pki, tmp_path):
    host = smarthost("starttls", cert=pki.localhost, auth=(SMARTHOST_USER, SMARTHOST_PASSWORD), mechanisms=["LOGIN"])
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path), helo_name="helo.example.test"))
    with server.session() as c:
        qid = c.submit(USER, ["login@example.org"], make_message("login"))
    [t] = host.wait_messages(1)
    server.wait_log(rf"{qid}: removed")
    [conn] = host.sessions
    assert conn.auth == [("LOGIN", SMARTHOST_USER, SMARTHOST_PASSWORD, True)]
    assert conn.ehlo == ["helo.example.test", "helo.example.test"]
    assert t.content.endswith(make_message("login"))


def test_smarthost_without_pipelining(make_server, smarthost):
    """One command per reply; the message and both recipients arrive all the same."""
    host = smarthost("plain", pipelining=False)
    server = make_server(settings=relay_settings(host.port))
    with server.session() as c:
        qid = c.submit(USER, ["a@example.org", "b@example.org"], make_message("nopipe"))
    [t] = host.wait_messages(1)
    server.wait_log(rf"{qid}: removed")
    assert t.rcpt_tos == ["a@example.org", "b@example.org"]
    assert host.sessions[0].commands()[1:5] == [f"MAIL FROM:<{USER}> SIZE={len(t.content)}", "RCPT TO:<a@example.org>",
                                                "RCPT TO:<b@example.org>", "DATA"]


def test_connection_reuse(make_server, smarthost, pki, tmp_path):
    """20 messages queued while the smarthost holds the first one go out over one connection and one login."""
    n = 20
    host = smarthost("starttls", cert=pki.localhost, auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path)))
    host.hold()
    ids = []
    with server.session() as c:
        for i in range(n):
            ids.append(c.submit(USER, [f"reuse{i}@example.org"], make_message(f"reuse{i}")))
    wait_for(lambda: host.mail_seen, 10, what="the first MAIL at the smarthost")
    start = time.monotonic()
    host.release()
    done = host.wait_messages(n, timeout=30)
    elapsed = max(t.time for t in done) - start
    wait_for(lambda: spool_is_empty(server), what="an empty spool")
    print(f"\nrelay: {n} messages over one STARTTLS connection in {elapsed:.3f} s = {n / elapsed:.1f} messages/s")

    assert len(host.sessions) == 1, [c.commands()[:3] for c in host.sessions]
    conn = host.sessions[0]
    assert [a[0] for a in conn.auth] == ["PLAIN"]
    assert [c for c in conn.commands() if c.startswith(("EHLO", "STARTTLS", "AUTH"))] == \
        ["EHLO " + HOST, "STARTTLS", "EHLO " + HOST, conn.commands()[3]]
    assert sorted(t.rcpt_tos[0] for t in done) == sorted(f"reuse{i}@example.org" for i in range(n))
    assert len(host.transactions) == n
    for qid in ids:
        assert re.search(rf"{qid}: removed", server.log_text())
