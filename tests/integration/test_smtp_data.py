"""DATA: what ends up in the spool, byte for byte, and what is refused.

Covers: the queue file format (envelope lines, empty line, message), the
Received: header the server adds (ESMTPSA, queue id, TLS version and cipher,
authenticated user), the client's bytes stored exactly (8-bit, long but legal
lines, CRLF) after dot-unstuffing (".", "..", "...", a lone leading dot that a
sloppy client did not double), Message-ID:/Date: inserted at the end of the
header block only when missing (header names compared without regard to
case), messages sent one byte per TLS record, several messages per session;
max_message_size counted on the unstuffed bytes (exactly the limit passes,
one more byte gives 552 5.3.4 and leaves no file in the spool); NUL (554
5.6.0); a 998-character line passes and 999 gives 554 5.6.0; bare CR or LF
anywhere in the data, including the SMTP smuggling sequences followed by
pipelined commands (521 5.5.2, connection closed, nothing queued or left in
tmp/).
"""

import email.utils
import re

import pytest

from smtpkit import HOST, QUEUED_RE, USER, dot_stuff, make_message, wait_for

LIMIT = 64 * 1024
SMTPD_SETTINGS = {"max_message_size": "64k"}
DATA_OK = "354 End data with <CR><LF>.<CR><LF>"
BARE = f"521 5.5.2 {HOST} Error: bare <CR> or <LF> received in message"


def start_data(c, rcpts=("rcpt@example.org",)):
    assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
    for r in rcpts:
        assert c.cmd(f"RCPT TO:<{r}>") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == DATA_OK


def queued(reply):
    m = QUEUED_RE.fullmatch(reply)
    assert m, reply
    return m.group(1)


def assert_nothing_new(smtpd, before):
    """No file appeared anywhere in the spool: tmp/ ends up empty (it is emptied when the session
    ends) and every other directory holds what it held before."""
    keep = [f for f in before if not f.startswith("tmp/")]
    wait_for(lambda: smtpd.spool_files() == keep, timeout=10, what=f"the spool back to {keep}")


def check_received(f, qid, cipher):
    rec = f.received.decode()
    assert rec.endswith("\r\n")
    assert all(line.startswith(("\t", " ")) for line in rec.split("\r\n")[1:-1]), rec
    unfolded = re.sub(r"\r\n[\t ]+", " ", rec[:-2])
    assert "\r" not in unfolded and "\n" not in unfolded
    assert unfolded.startswith("Received: from "), unfolded
    assert re.search(rf"with ESMTPSA id {qid}[; ]", unfolded), unfolded
    assert f"(Authenticated sender: {USER})" in unfolded, unfolded
    assert f"TLSv1.2 with cipher {cipher}" in unfolded, unfolded
    assert f"by {HOST} " in unfolded, unfolded
    assert "[127.0.0.1]" in unfolded, unfolded
    when = email.utils.parsedate_to_datetime(unfolded.rsplit(";", 1)[1].strip())
    assert abs(when.timestamp() - f.arrival) < 60, (when, f.arrival)


def test_spool_file_exact_bytes(smtpd):
    body = ["plain line", "8-bit: caf\u00e9 na\u00efve", "x" * 998, "", "\tindented", "trailing space "]
    message = make_message("exact", body=body)
    message = message.replace("caf\u00e9".encode(), "caf\xe9".encode("latin-1"))  # raw 8-bit, not UTF-8
    with smtpd.session() as c:
        cipher = c.sock.cipher()[0]
        qid = c.submit("alice@example.com", ["rcpt@example.org", "second@example.net"], message)
    f = smtpd.spool_file(qid)
    head = f.data[:f.data.index(b"\n\n") + 2].decode()
    assert head == (f"subgate-spool 1\narrival {f.arrival}\nsender alice@example.com\nuser {USER}\n"
                    f"client 127.0.0.1\nrcpt P rcpt@example.org\nrcpt P second@example.net\n\n")
    check_received(f, qid, cipher)
    assert f.content == message
    assert f.message == f.received + message


def test_queue_id_names_the_file(smtpd):
    with smtpd.session() as c:
        ids = [c.submit("alice@example.com", ["rcpt@example.org"], make_message(f"multi{i}")) for i in range(3)]
    assert len(set(ids)) == 3
    assert set(ids) <= smtpd.queue_ids()
    for i, qid in enumerate(ids):
        assert smtpd.spool_file(qid).content == make_message(f"multi{i}")


def test_implicit_tls_submission(smtpd):
    with smtpd.session(implicit=True) as c:
        cipher = c.sock.cipher()[0]
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("implicit"))
    f = smtpd.spool_file(qid)
    check_received(f, qid, cipher)
    assert f.content == make_message("implicit")


def test_dot_unstuffing(smtpd):
    head = make_message("dots", body=[])
    wire = head + (b"..\r\n"          # a line with one dot
                   b"...\r\n"         # two dots
                   b"..leading\r\n"   # a stuffed leading dot
                   b".unstuffed\r\n"  # a client that forgot to stuff: the dot is removed (RFC 5321 4.5.2)
                   b"mid.dle .\r\n"
                   b" .\r\n"
                   b".\r\n")
    expected = head + b".\r\n..\r\n.leading\r\nunstuffed\r\nmid.dle .\r\n .\r\n"
    with smtpd.session() as c:
        start_data(c)
        c.send(wire)
        qid = queued(c.reply())
    assert smtpd.spool_file(qid).content == expected


def test_dot_stuffed_message_roundtrip(smtpd):
    message = make_message("stuffed", body=[".", "..", ".x", "..y", "a.b", "", "."])
    assert dot_stuff(message).count(b"\r\n..") == 5
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], message)
    assert smtpd.spool_file(qid).content == message


def test_one_byte_per_record(smtpd):
    message = make_message("bytewise", body=[".dot", "line", ""])
    with smtpd.session() as c:
        start_data(c)
        for b in dot_stuff(message):
            c.send(bytes([b]))
        qid = queued(c.reply())
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert smtpd.spool_file(qid).content == message


HEADER_CASES = {
    "both-present": (True, True),
    "no-message-id": (False, True),
    "no-date": (True, False),
    "neither": (False, False),
}


@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_message_id_and_date_inserted_when_missing(smtpd, case):
    has_mid, has_date = HEADER_CASES[case]
    message = make_message(case, message_id=has_mid, date=has_date, body=["Body: not a header", "x"])
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], message)
    content = smtpd.spool_file(qid).content
    sent_head, sent_body = message.split(b"\r\n\r\n", 1)
    assert content.startswith(sent_head + b"\r\n"), content
    assert content.endswith(b"\r\n\r\n" + sent_body), content
    added = content[len(sent_head) + 2:len(content) - len(sent_body) - 4]
    added_lines = [line.decode() for line in added.split(b"\r\n")] if added else []
    assert len(added_lines) == (not has_mid) + (not has_date), added_lines
    for line in added_lines:
        if line.startswith("Message-ID: "):
            assert not has_mid
            assert line == f"Message-ID: <{qid}@{HOST}>"
        else:
            assert not has_date
            assert re.fullmatch(r"Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
                                r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                                r"\d\d:\d\d:\d\d [+-]\d{4}", line), line
            assert email.utils.parsedate_to_datetime(line[6:]) is not None


def test_header_names_are_case_insensitive(smtpd):
    message = (b"From: <alice@example.com>\r\nmessage-id: <lower@client.example.test>\r\n"
               b"DATE: Mon, 01 Jan 2024 12:00:00 +0000\r\nSubject: case\r\n\r\nbody\r\n")
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], message)
    assert smtpd.spool_file(qid).content == message


def test_headers_in_the_body_do_not_count(smtpd):
    message = (b"From: <alice@example.com>\r\nSubject: body headers\r\n\r\n"
               b"Message-ID: <in-body@x>\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\n")
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], message)
    content = smtpd.spool_file(qid).content
    head, body = content.split(b"\r\n\r\n", 1)
    assert body == b"Message-ID: <in-body@x>\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\n"
    assert head.startswith(b"From: <alice@example.com>\r\nSubject: body headers\r\n")
    assert f"\r\nMessage-ID: <{qid}@{HOST}>".encode() in head
    assert b"\r\nDate: " in head


def sized_message(size, dots=False):
    """A message with Message-ID and Date of exactly `size` bytes (optionally many '.' lines)."""
    base = make_message("sized", body=[])
    filler = (b"." * 77 if dots else b"y" * 77) + b"\r\n"
    n, rest = divmod(size - len(base), len(filler))
    assert rest >= 2 or rest == 0
    tail = (b"z" * (rest - 2) + b"\r\n") if rest else b""
    msg = base + filler * n + tail
    assert len(msg) == size
    return msg


def test_message_of_exactly_the_limit(smtpd):
    """RFC 1870: the size is the client's message octets; the server's own Received: is not counted."""
    message = sized_message(LIMIT)
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], message, size=LIMIT)
    assert smtpd.spool_file(qid).content == message


def test_size_counts_unstuffed_bytes(smtpd):
    """Doubled dots are not counted: more than LIMIT bytes on the wire, fewer after unstuffing."""
    message = sized_message(LIMIT - 512, dots=True)
    assert len(dot_stuff(message)) > LIMIT
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["rcpt@example.org"], message)
    assert smtpd.spool_file(qid).content == message


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT + 17, 40 * LIMIT])
def test_message_over_the_limit(smtpd, size):
    before = smtpd.spool_files()
    with smtpd.session() as c:
        start_data(c)
        c.send(dot_stuff(sized_message(size)))
        assert c.reply() == "552 5.3.4 Message size exceeds fixed limit"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "503 5.5.1 Error: need MAIL command"
        assert_nothing_new(smtpd, before)
        # the session is still good for a message within the limit
        qid = c.submit("alice@example.com", ["rcpt@example.org"], make_message("after-552"))
    assert smtpd.spool_file(qid).content == make_message("after-552")


@pytest.mark.parametrize("where", ["header", "body", "last-byte"])
def test_nul_in_message(smtpd, where):
    message = make_message("nul", body=["before", "after"])
    if where == "header":
        message = message.replace(b"Subject: test", b"Subject: te\0st")
    elif where == "body":
        message = message.replace(b"before", b"bef\0ore")
    else:
        message = message[:-2] + b"\0\r\n"
    before = smtpd.spool_files()
    with smtpd.session() as c:
        start_data(c)
        c.send(dot_stuff(message))
        assert c.reply() == "554 5.6.0 Message contains NUL characters"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert_nothing_new(smtpd, before)


@pytest.mark.parametrize("length,ok", [(998, True), (999, False), (5000, False)])
def test_text_line_length(smtpd, length, ok):
    message = make_message("long", body=["short", "L" * length, "short"])
    before = smtpd.spool_files()
    with smtpd.session() as c:
        start_data(c)
        c.send(dot_stuff(message))
        reply = c.reply()
        if ok:
            assert smtpd.spool_file(queued(reply)).content == message
        else:
            assert reply == "554 5.6.0 Message contains a line longer than 998 characters"
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
    if not ok:
        assert_nothing_new(smtpd, before)


def test_long_header_line(smtpd):
    message = b"Subject: " + b"h" * 990 + b"\r\n" + make_message("longhdr")
    with smtpd.session() as c:
        start_data(c)
        c.send(dot_stuff(message))
        assert c.reply() == "554 5.6.0 Message contains a line longer than 998 characters"


SMUGGLE = b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<smuggled@example.org>\r\nDATA\r\nsmuggled\r\n.\r\n"
BARE_CASES = {
    "lf-in-body": b"hello\nworld\r\n.\r\n",
    "cr-in-body": b"hello\rworld\r\n.\r\n",
    "lf-in-header": None,  # built below
    "cr-before-crlf": b"hello\r\r\n.\r\n",
    "lf-dot-lf": b"hello\n.\n" + SMUGGLE,
    "cr-dot-cr": b"hello\r.\r" + SMUGGLE,
    "crlf-dot-lf": b"hello\r\n.\n" + SMUGGLE,
    "lf-dot-crlf": b"hello\n.\r\n" + SMUGGLE,
    "crlf-dot-cr": b"hello\r\n.\r" + SMUGGLE,
    "cr-dot-crlf": b"hello\r.\r\n" + SMUGGLE,
    "lf-at-start": b"\n.\r\n" + SMUGGLE,
    "lflf": b"hello\r\n\n\r\n.\r\n",
}


@pytest.mark.parametrize("case", list(BARE_CASES))
def test_bare_cr_lf_in_data(smtpd, case):
    head = make_message("bare", body=[])
    data = BARE_CASES[case]
    if data is None:
        head = head.replace(b"Subject: test bare\r\n", b"Subject: test\nbare\r\n")
        data = b"body\r\n.\r\n"
    before = smtpd.spool_files()
    with smtpd.session() as c:
        start_data(c)
        c.send(head + data + b".\r\nQUIT\r\n")
        assert c.reply() == BARE
        c.expect_closed()
    assert_nothing_new(smtpd, before)
    assert "smuggled@example.org" not in smtpd.log_text()


def test_commands_pipelined_after_the_end_of_data(smtpd):
    """PIPELINING (RFC 2920): the next transaction may follow the final dot in the same write."""
    first, second = make_message("pipe1"), make_message("pipe2")
    with smtpd.session() as c:
        start_data(c)
        c.send(dot_stuff(first) + b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<second@example.org>\r\nDATA\r\n")
        q1 = queued(c.reply())
        assert [c.reply(), c.reply(), c.reply()] == ["250 2.1.0 Ok", "250 2.1.5 Ok", DATA_OK]
        c.send(dot_stuff(second) + b"QUIT\r\n")
        q2 = queued(c.reply())
        assert c.reply() == "221 2.0.0 Bye"
        c.expect_closed()
    assert smtpd.spool_file(q1).content == first
    f2 = smtpd.spool_file(q2)
    assert (f2.content, f2.rcpts) == (second, ["second@example.org"])


def test_empty_message(smtpd):
    """An empty message still gets the Message-ID: and Date: a message must have (RFC 6409 section 8)."""
    with smtpd.session() as c:
        start_data(c)
        c.send(b".\r\n")
        qid = queued(c.reply())
    lines = smtpd.spool_file(qid).content.split(b"\r\n")
    assert lines[-1] == b""
    assert sorted(line.split(b":")[0] for line in lines[:-1]) == [b"Date", b"Message-ID"], lines
    assert f"Message-ID: <{qid}@{HOST}>".encode() in lines


def test_ehlo_resets_the_transaction(smtpd):
    with smtpd.session() as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<dropped@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("EHLO client.example.test").startswith(f"250-{HOST}\n")
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("DATA").startswith("503 5.5.1 ")
        # still authenticated
        qid = c.submit("alice@example.com", ["kept@example.org"], make_message("after-ehlo"))
    assert smtpd.spool_file(qid).rcpts == ["kept@example.org"]
