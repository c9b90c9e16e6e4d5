"""Session slots under pressure: deadlines before AUTH and in DATA, reclaiming
slots from clients that never log in, counting finished sessions, and the
over-limit refusal on the implicit-TLS port.

Covers: login_timeout is one deadline from connect to AUTH, not per line (a
client that keeps sending EHLO without logging in gets 421 4.4.2); the
minimum DATA rate (a client that sends a byte well within data_timeout each
time, but slower than min_data_rate, gets 421 4.4.2 and nothing is queued);
200 dribbling connections (more than the 16 slots, all to 127.0.6.x, each
waits for its greeting) are reclaimed oldest first with 421 4.4.2 while a
real client then logs in and submits a message; an address with a session
still logging in cannot push others out (its next connection gets 421 4.7.0,
one from another address the oldest slot); with stress_login_timeout
larger than the sessions' age nobody is closed and the newcomer gets 421
4.7.0; 8 parallel clients x 15 sequential connections from one address with
max_sessions_per_addr = 8, each logging in and sending a message, never see
a 421 (a session that said 221 counts no more); the connection over the per-address limit on the implicit-TLS
port completes TLS and reads 421 4.7.0.

The dribblers pace themselves (that is the behaviour under test); every wait
is for an event (a reply, a close) with a bounded timeout, and no timing is
asserted.
"""

import select
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import fresh_source
from smtpkit import (AUTH_OK, GREETING, HOST, PASSWORD, USER, ConnectionClosed, SmtpClient, make_message,
                     plain_response)

TIMEOUT = f"421 4.4.2 {HOST} Error: timeout exceeded"
EVICTED = f"421 4.4.2 {HOST} Error: timeout exceeded (server busy, log in sooner)"
BUSY = "421 4.7.0 Error: too many connections; try again later"


def reply_within(c, seconds):
    """A reply if one starts arriving within `seconds`, else None (the pacing of a dribbler)."""
    if not c.buf and not select.select([c.sock], [], [], seconds)[0]:
        return None
    return c.reply()


def test_login_deadline_counts_from_connect_not_per_line(make_server):
    server = make_server(settings={"login_timeout": "5", "command_timeout": "60"})
    with server.connect(source=fresh_source(), timeout=30) as c:
        for _ in range(120):  # a bound of about 60 s; the deadline is 5 s
            assert c.cmd("EHLO dribbler.example.test").startswith("250-")
            reply = reply_within(c, 0.5)
            if reply is not None:
                break
        else:
            raise AssertionError("still served after a minute without AUTH")
        assert reply == TIMEOUT
        c.expect_closed()
    server.wait_log(r"disconnect from \[127\.0\.\d+\.\d+\].*: login timeout")


def test_min_data_rate(make_server):
    server = make_server(settings={"data_timeout": "3", "min_data_rate": "1000"})
    before = server.queue_ids()
    with server.session(source=fresh_source()) as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        c.send(make_message("slow"))  # and never the end of data
        for _ in range(200):  # one byte per 0.3 s, never idle for data_timeout; a bound of about 60 s
            try:
                c.send(b"x")
            except (BrokenPipeError, ConnectionResetError):
                break
            reply = reply_within(c, 0.3)
            if reply is not None:
                break
        else:
            raise AssertionError("a message dribbled at 3 bytes/s was still being read after a minute")
        assert reply == TIMEOUT
    server.wait_log(r"timeout or error during DATA")
    assert server.queue_ids() == before


DRIBBLERS = 200
SLOTS = 16


def test_dribblers_are_reclaimed_for_a_real_client(make_server):
    server = make_server(settings={"max_sessions": str(SLOTS), "stress_login_timeout": "0",
                                   "login_timeout": "300", "command_timeout": "300"})
    dribblers = []
    try:
        for i in range(DRIBBLERS):
            c = SmtpClient(server.port, source=f"127.0.6.{1 + i}", timeout=30)
            assert c.reply() == GREETING, f"dribbler {i} was not served"
            c.send(b"NO")  # and never the rest of the line
            dribblers.append(c)
        # each connection beyond the slots closed the oldest session that had not logged in
        for i, c in enumerate(dribblers[:DRIBBLERS - SLOTS]):
            assert c.reply() == EVICTED, f"dribbler {i}"
            c.expect_closed()
        # a real client gets a slot at once, logs in and sends a message
        with server.session(source=fresh_source()) as real:
            qid = real.submit("alice@example.com", ["rcpt@example.org"], make_message("through the crowd"))
            assert real.cmd("QUIT") == "221 2.0.0 Bye"
        assert qid in server.queue_ids()
        # its slot came from the oldest dribbler still there
        oldest = dribblers[DRIBBLERS - SLOTS]
        assert oldest.reply() == EVICTED
        oldest.expect_closed()
        for c in dribblers[DRIBBLERS - SLOTS + 1:]:
            c.send(b"OP\r\n")
            assert c.reply() == "250 2.0.0 Ok"
    finally:
        for c in dribblers:
            c.close()
    server.wait_log(r"not logged in after \d+ s, and every session slot is taken")


def test_young_sessions_are_not_reclaimed(make_server):
    server = make_server(settings={"max_sessions": "2", "stress_login_timeout": "3600"})
    first = server.connect(source="127.0.6.201")
    second = server.connect(source="127.0.6.202")
    try:
        with SmtpClient(server.port, source="127.0.6.203") as c:
            assert c.reply() == BUSY
            c.expect_closed()
        assert first.cmd("NOOP") == "250 2.0.0 Ok"
        assert second.cmd("NOOP") == "250 2.0.0 Ok"
    finally:
        first.close()
        second.close()


def test_an_address_still_logging_in_cannot_push_others_out(make_server):
    server = make_server(settings={"max_sessions": "4", "stress_login_timeout": "0"})
    crowd = [server.connect(source=f"127.0.6.{231 + i // 2}") for i in range(4)]  # 2 from .231, 2 from .232
    try:
        # a third connection from .231 would evict someone: it is refused instead
        with SmtpClient(server.port, source="127.0.6.231") as c:
            assert c.reply() == BUSY
            c.expect_closed()
        for c in crowd:
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
        # a client from another address gets the oldest slot
        with server.connect(source="127.0.6.233") as newcomer:
            assert crowd[0].reply() == EVICTED
            assert newcomer.cmd("NOOP") == "250 2.0.0 Ok"
    finally:
        for c in crowd:
            c.close()


PARALLEL = 8
SEQUENTIAL = 15


def test_finished_sessions_do_not_count_against_the_address(make_server):
    """8 clients, one address, limit 8: each logs in, sends a message, ends with QUIT/221 and opens the
    next connection at once."""
    server = make_server(settings={"max_sessions_per_addr": str(PARALLEL)})
    source = "127.0.6.210"

    def client(n):
        replies = []
        for _ in range(SEQUENTIAL):
            with SmtpClient(server.port, source=source, timeout=30) as c:
                greeting = c.reply()
                replies.append(greeting)
                if greeting != GREETING:
                    continue
                c.ehlo()
                c.starttls()
                c.ehlo()
                assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK
                c.submit(USER, [f"p{n}@example.org"], make_message(f"parallel {n}"))
                assert c.cmd("QUIT") == "221 2.0.0 Bye"
        return replies

    with ThreadPoolExecutor(PARALLEL) as pool:
        replies = [r for rs in pool.map(client, range(PARALLEL)) for r in rs]
    refused = [r for r in replies if r != GREETING]
    assert len(replies) == PARALLEL * SEQUENTIAL
    assert refused == [], f"{len(refused)} of {len(replies)} connections refused: {refused[:3]}"


def test_over_limit_on_the_tls_port_reads_421(make_server):
    server = make_server(settings={"max_sessions_per_addr": "2"})
    source = "127.0.6.220"
    first = server.connect(source=source)
    second = server.connect(source=source, implicit=True)
    try:
        with SmtpClient(server.tls_port, source=source, tls=True, timeout=30) as c:
            assert c.reply() == BUSY
            try:
                c.expect_closed()
            except ConnectionClosed:
                pass
        server.wait_log(r"too many connections from this address \(421 after the TLS handshake\)")
        assert first.cmd("NOOP") == "250 2.0.0 Ok"
        assert second.cmd("NOOP") == "250 2.0.0 Ok"
    finally:
        first.close()
        second.close()
