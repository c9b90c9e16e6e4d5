"""Protocol hardening of the SMTP server (issue 13 items 5-8 and 17), over the wire with the real binary.

Covers: BDAT answered 502 and the connection closed, so its chunk is never
read as commands (before and after TLS); talking out of turn before AUTH
(Postfix smtpd_forbid_unauth_pipelining): bytes before the greeting on 587
and 465, an EHLO, NOOP or AUTH with more input already waiting, and any
pipelining after HELO or before EHLO, each 554 5.5.0 and a close, while an
authenticated client may pipeline; the junk-command limit (421 4.7.0 after
100 commands that move no mail, before and after TLS; the count starts
again when a message is queued); HTTP request lines closing the connection
at once; an alias whose expansion does not fit rolled back whole; the EHLO
name made safe in Received:; Received: complete with the longest fields;
SIZE= beyond 2^64 (552 5.3.4); AUTH inside a mail transaction (503 5.5.1
as RFC 4954 asks).
"""

import re

import pytest

from smtpkit import (AUTH_OK, GREETING, HOST, PASSWORD, USER, SmtpClient, make_message, plain_response)
from conftest import fresh_source

SYNC = "554 5.5.0 Error: SMTP protocol synchronization"
JUNK = f"421 4.7.0 {HOST} Error: too many junk commands"
LIMIT = 100  # CONFIG_JUNK_COMMAND_LIMIT's default


def replies_until_close(c):
    """Every reply the server sends until it closes the connection."""
    out = []
    while True:
        try:
            out.append(c.reply())
        except AssertionError as e:  # ConnectionClosed
            if "closed by the server" not in str(e):
                raise
            assert c.buf == b"", c.buf
            return out


# --- item 5: BDAT ------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True])
def test_bdat_closes_and_its_chunk_is_not_executed(smtpd, tls):
    start = len(smtpd.log_text())
    c = smtpd.session(source=fresh_source()) if tls else smtpd.connect(source=fresh_source())
    with c:
        if not tls:
            c.ehlo()
        c.send(b"BDAT 14 LAST\r\nRSET\r\nQUIT\r\n")
        assert replies_until_close(c) == ["502 5.5.1 Error: BDAT not supported"]
    m = smtpd.wait_log(r"disconnect from \[127\.[0-9.]+\](.*)", start=start)
    assert "RSET" not in m.group(1) and "QUIT" not in m.group(1), m.group(0)


# --- item 6: talking out of turn -----------------------------------------------------------


@pytest.mark.parametrize("implicit", [False, True])
def test_talking_before_the_greeting(smtpd, implicit):
    """EHLO and NOOP sent before the 220: either the session sees them before it greets
    (554 instead of the greeting) or, if the greeting won the race, the EHLO has input waiting
    behind it (554 instead of its 250). Either way nothing is served."""
    start = len(smtpd.log_text())
    c = SmtpClient(smtpd.tls_port if implicit else smtpd.port, source=fresh_source(), tls=implicit)
    with c:
        c.send(b"EHLO client.example.test\r\nNOOP\r\n")
        got = replies_until_close(c)
    assert got in ([SYNC], [GREETING, SYNC]), got
    smtpd.wait_log(r"sent data before the greeting|improper command pipelining after EHLO", start=start)


@pytest.mark.parametrize("first,rest", [
    ("EHLO client.example.test", "NOOP"),
    ("HELO client.example.test", "NOOP"),
    ("NOOP", "NOOP"),
    ("RSET", "NOOP"),  # before EHLO, PIPELINING is not offered: any command counts
])
def test_pipelining_before_auth_is_refused(smtpd, first, rest):
    with smtpd.connect(source=fresh_source()) as c:
        c.send(f"{first}\r\n{rest}\r\n")
        assert replies_until_close(c) == [SYNC]


def test_pipelining_after_helo_is_refused(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        assert c.cmd("HELO client.example.test") == f"250 {HOST}"
        c.send(b"RSET\r\nNOOP\r\n")
        assert replies_until_close(c) == [SYNC]


def test_pipelined_auth_is_refused(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        c.send(("AUTH PLAIN " + plain_response(USER, PASSWORD) + "\r\nMAIL FROM:<alice@example.com>\r\n").encode())
        assert replies_until_close(c) == [SYNC]


def test_pipelined_ehlo_under_tls_is_refused(smtpd):
    with smtpd.connect(source=fresh_source(), implicit=True) as c:
        c.send(b"EHLO client.example.test\r\nAUTH LOGIN\r\n")
        assert replies_until_close(c) == [SYNC]


def test_rset_and_mail_may_be_pipelined_after_ehlo(smtpd):
    """Postfix's rule: after EHLO only the commands a client must wait for count (EHLO, AUTH, NOOP, DATA...)."""
    with smtpd.connect(source=fresh_source()) as c:
        c.ehlo()
        c.send(b"RSET\r\nMAIL FROM:<alice@example.com>\r\nNOOP\r\n")
        assert [c.reply() for _ in range(3)] == ["250 2.0.0 Ok", "530 5.7.0 Must issue a STARTTLS command first",
                                                 "250 2.0.0 Ok"]


def test_lockstep_session_and_authenticated_pipelining_work(smtpd):
    with smtpd.session(source=fresh_source()) as c:
        msg = make_message("pipelined")
        c.send(b"NOOP\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\n")
        assert [c.reply() for _ in range(4)] == ["250 2.0.0 Ok", "250 2.1.0 Ok", "250 2.1.5 Ok",
                                                 "354 End data with <CR><LF>.<CR><LF>"]
        c.send(msg + b".\r\nQUIT\r\n")
        assert c.reply().startswith("250 2.0.0 Ok: queued as ")
        assert c.reply() == "221 2.0.0 Bye"


# --- item 7: junk commands and HTTP --------------------------------------------------------


def test_junk_commands_before_tls(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        c.ehlo()
        for i in range(LIMIT - 1):
            assert c.cmd(("NOOP", "RSET", "HELO x.example")[i % 3]).startswith("250 "), i
        assert c.cmd("NOOP") == JUNK
        c.expect_closed()


def test_junk_commands_after_tls_and_auth(smtpd):
    with smtpd.session(source=fresh_source()) as c:
        # EHLO twice so far; pipelined junk after AUTH is cut off at the limit too
        c.send(b"NOOP\r\n" * (LIMIT + 50))
        got = replies_until_close(c)
    assert got == ["250 2.0.0 Ok"] * (LIMIT - 2) + [JUNK], (len(got), got[-3:])


def test_a_queued_message_resets_the_junk_count(smtpd):
    with smtpd.session(source=fresh_source()) as c:
        for n in range(3):
            for _ in range(LIMIT - 10):
                assert c.cmd("RSET") == "250 2.0.0 Ok"
            c.submit("alice@example.com", ["rcpt@example.org"], make_message(f"junk{n}"))
        assert c.cmd("QUIT") == "221 2.0.0 Bye"


@pytest.mark.parametrize("line", ["GET / HTTP/1.1", "POST /submit HTTP/1.0", "CONNECT mx.example.com:25 HTTP/1.1",
                                  "Host: gw.example.test", "User-Agent: Mozilla/5.0"])
@pytest.mark.parametrize("tls", [False, True])
def test_http_lines_close_the_connection(smtpd, line, tls):
    c = smtpd.session(source=fresh_source()) if tls else smtpd.connect(source=fresh_source())
    with c:
        assert c.cmd(line) == f"521 5.5.1 {HOST} Error: non-SMTP command"
        c.expect_closed()


# --- item 8: aliases -----------------------------------------------------------------------


def test_alias_that_does_not_fit_is_rolled_back(smtpd):
    rcpts = [f"r{i:02d}@example.org" for i in range(49)]
    with smtpd.session(source=fresh_source()) as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        for r in rcpts:
            assert c.cmd(f"RCPT TO:<{r}>") == "250 2.1.5 Ok", r
        # root has two targets; only one fits: neither is kept
        assert c.cmd("RCPT TO:<root>") == "452 4.5.3 Error: too many recipients"
        assert c.cmd("RCPT TO:<root>") == "452 4.5.3 Error: too many recipients"
        assert c.cmd("RCPT TO:<last@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        c.send(make_message("alias-cap") + b".\r\n")
        qid = c.reply().rsplit(" ", 1)[1]
    assert smtpd.spool_file(qid).rcpts == rcpts + ["last@example.org"]


# --- item 17: Received:, SIZE, AUTH in a transaction ------------------------------------------


def test_ehlo_name_is_made_safe_in_received(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        c.ehlo()
        c.starttls()
        c.ehlo("evil (forged by trusted.example.com); x")
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("helo"))
    received = smtpd.spool_file(qid).received.decode()
    assert received.startswith("Received: from evil??forged?by?trusted.example.com???x ([127."), received
    assert "(forged" not in received


def test_received_with_the_longest_fields_is_complete(make_server):
    host = ".".join(["h" * 62] * 4)[:253]  # 253 characters, labels of 62
    user = "u" * 64
    server = make_server(settings={"hostname": host}, users=[(user, PASSWORD, ["@example.com"])])
    helo = ".".join(["e" * 63] * 4)[:255]
    rcpt = "r" * 64 + "@" + ".".join(["d" * 61] * 4)[:189]
    assert len(rcpt) == 254
    with SmtpClient(server.port, source=fresh_source()) as c:
        assert c.reply() == f"220 {host} ESMTP subgate"
        c.ehlo()
        c.starttls()
        c.ehlo(helo)
        assert c.cmd("AUTH PLAIN " + plain_response(user, PASSWORD)) == AUTH_OK
        qid = c.submit("alice@example.com", [rcpt], make_message("long"))
    f = server.spool_file(qid)
    received = f.received.decode()
    # a complete header: each line ends with CRLF, the date last; the client's own headers follow intact
    assert re.search(r";\r\n\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n\Z", received), received
    assert f.message[len(f.received):].startswith(b"From: <alice@example.com>\r\nTo: "), f.message[:1200]
    assert f"by {host} (subgate) with ESMTPSA id {qid}\r\n\tfor <{rcpt}>;" in received, received
    assert f"from {helo} ([" in received and f"(Authenticated sender: {user})" in received, received


@pytest.mark.parametrize("size", ["18446744073709551616", "99999999999999999999999999"])
def test_size_beyond_64_bits_is_too_large(smtpd, size):
    with smtpd.session(source=fresh_source()) as c:
        assert c.cmd(f"MAIL FROM:<alice@example.com> SIZE={size}") == "552 5.3.4 Message size exceeds fixed limit"


def test_auth_inside_a_transaction(smtpd):
    with smtpd.session(source=fresh_source()) as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == \
            "503 5.5.1 Error: MAIL transaction in progress"
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("AUTH LOGIN") == "503 5.5.1 Error: MAIL transaction in progress"
        assert c.cmd("MAIL FROM:<alice@example.com>") == "503 5.5.1 Error: nested MAIL command"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("AUTH LOGIN") == "503 5.5.1 Error: already authenticated"
