"""Relay permanent failures: RFC 3464 bounces, the null sender, and the queue lifetime.

Covers: 550 for two of three recipients: the third is delivered once, and
exactly one bounce reaches the smarthost from <> to the original sender,
From MAILER-DAEMON@hostname, a multipart/report (report-type=delivery-status)
with the human text, a message/delivery-status part with one block per failed
recipient (Final-Recipient, Action: failed, Status: 5.1.1, the smarthost's
reply as Diagnostic-Code) and the original headers as text/rfc822-headers;
both spool files are removed. The bounce of a message with 8-bit headers and
a 990-octet header line is 7-bit, CRLF only, no line over 998 octets. A
352-octet reply (within RFC 5321's 512) reaches the log and the bounce whole,
or visibly cut. A message from the null sender (a spool file written by hand,
since clients cannot use MAIL FROM:<>) whose recipient gets 550: no bounce,
the file is removed, "no bounce (null sender)" logged. A bounce that itself
gets 550 is dropped and logged, never bounced again. The queue lifetime (3 s,
smarthost down): the message is bounced with Status 4.4.7 at its first
attempt after the lifetime, never delivered itself, and the bounce, deferred
while the smarthost is down, arrives once it is up. A bounce that does not fit
the spool quota leaves the original queued, and goes out once there is room.
"""

import os
import re
import signal

import pytest

from relaykit import pending_ids, relay_settings, parse_bounce, write_spool_file
from smtpkit import HOST, USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rejected(addr):
    return f"550 5.1.1 <{addr}>: Recipient address rejected: User unknown"


def wait_empty(server, timeout=15):
    wait_for(lambda: pending_ids(server) == [] and server.spool_files() == [], timeout, what="an empty spool")


def test_5xx_bounce(make_server, smarthost):
    host = smarthost("plain")
    for addr in ("bad1@example.org", "bad2@example.org"):
        host.rcpt_replies[addr] = rejected(addr)
    server = make_server(settings=relay_settings(host.port))
    with server.session() as c:
        qid = c.submit(USER, ["bad1@example.org", "good@example.org", "bad2@example.org"], make_message("bounce"))
    for addr in ("bad1@example.org", "bad2@example.org"):
        m = server.wait_log(rf"{qid}: to=<{addr}>, relay=\S+, delay=\d+s, tls=none, status=bounced \((.*)\)")
        assert m.group(1) == rejected(addr)
    bid = server.wait_log(rf"([0-9a-f]{{16}}): sender non-delivery notification to <{USER}>").group(1)
    server.wait_log(rf"{qid}: removed")
    server.wait_log(rf"{bid}: removed")
    wait_empty(server)

    assert len(host.messages) == 2, [(t.mail_from, t.rcpt_tos) for t in host.transactions]
    original, bounce = sorted(host.messages, key=lambda t: t.mail_from != USER)
    assert (original.mail_from, original.rcpt_tos) == (USER, ["good@example.org"])
    assert (bounce.mail_from, bounce.rcpt_tos) == ("", [USER])
    assert len(re.findall(r"sender non-delivery notification", server.log_text())) == 1

    msg, parts, rcpts = parse_bounce(bounce.content)
    assert msg["From"] == f"MAILER-DAEMON@{HOST} (Mail Delivery System)"
    assert USER in msg["To"]
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert list(parts) == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert [(r["Final-Recipient"], r["Action"], r["Status"]) for r in rcpts] == [
        ("rfc822; bad1@example.org", "failed", "5.1.1"), ("rfc822; bad2@example.org", "failed", "5.1.1")]
    assert [r["Diagnostic-Code"] for r in rcpts] == [f"smtp; {rejected('bad1@example.org')}",
                                                    f"smtp; {rejected('bad2@example.org')}"]
    headers = parts["text/rfc822-headers"].get_payload()
    assert "Subject: test bounce" in headers and "Message-ID: <bounce@client.example.test>" in headers
    assert "good@example.org" not in parts["message/delivery-status"].as_string()


def test_bounce_is_7bit_with_short_lines(make_server, smarthost):
    """8-bit original headers, a 990-octet header line and a long smarthost reply: the bounce is 7-bit ASCII,
    CRLF only, no line over 998 octets, and the reply is the Diagnostic-Code (on one line)."""
    host = smarthost("plain")
    reply = "550 5.7.1 " + "policy-" * 20 + "end"
    host.rcpt_replies["picky@example.org"] = reply
    server = make_server(settings=relay_settings(host.port))
    head = ("From: <alice@example.com>\r\nTo: <picky@example.org>\r\n").encode() + \
        "Subject: Grüße aus Köln\r\n".encode("utf-8") + b"X-Long: " + b"a" * 982 + b"\r\n" + \
        b"Message-ID: <eightbit@client.example.test>\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\n\r\n"
    message = head + "body with 8-bit: ä\r\n".encode("utf-8")
    with server.session() as c:
        qid = c.submit(USER, ["picky@example.org"], message)
    server.wait_log(rf"{qid}: removed")
    [bounce] = host.wait_messages(1)
    wait_empty(server)
    raw = bounce.content
    assert all(b < 0x80 for b in raw), [bytes([b]) for b in raw if b >= 0x80][:5]
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    msg, parts, rcpts = parse_bounce(raw)
    assert [(r["Final-Recipient"], r["Status"], r["Diagnostic-Code"]) for r in rcpts] == \
        [("rfc822; picky@example.org", "5.7.1", "smtp; " + reply)]
    headers = parts["text/rfc822-headers"].get_payload()
    assert "Message-ID: <eightbit@client.example.test>" in headers
    assert re.search(r"Subject: Gr\?+e aus K\?+ln", headers), headers[:400]


def test_bounce_keeps_the_smarthost_reply(make_server, smarthost):
    """A real-world one-line reply of about 350 octets (well within RFC 5321's 512) reaches the sender whole: the
    log line and the bounce's Diagnostic-Code carry it, or at least mark where it was cut."""
    host = smarthost("plain")
    reply = ("550 5.7.1 [192.0.2.25] Our system has detected that this message is likely unsolicited mail. To reduce "
             "the amount of spam sent to Example Mail, this message has been blocked. Please visit "
             "https://support.example.com/mail/?p=UnsolicitedMessageError to review our Bulk Email Senders "
             "Guidelines. d2-20020a05600c4b8200b004101ba2a2cesi1234567wmq.123 - esmtp")
    assert 300 < len(reply) < 510
    host.rcpt_replies["spamtrap@example.org"] = reply
    server = make_server(settings=relay_settings(host.port))
    with server.session() as c:
        qid = c.submit(USER, ["spamtrap@example.org"], make_message("longreply"))
    logged = server.wait_log(rf"{qid}: to=<spamtrap@example\.org>, .*status=bounced \((.*)\)").group(1)
    [bounce] = host.wait_messages(1)
    _, _, [rcpt] = parse_bounce(bounce.content)
    diagnostic = rcpt["Diagnostic-Code"]
    assert diagnostic == "smtp; " + reply or diagnostic.endswith("..."), \
        f"the smarthost's reply ({len(reply)} octets) was cut to {len(diagnostic) - 6} without a mark: {diagnostic!r}"
    assert logged == reply or logged.endswith("..."), f"logged reply cut to {len(logged)} octets: {logged!r}"


def test_no_bounce_for_null_sender(make_server, smarthost):
    host = smarthost("plain")
    host.rcpt_replies["gone@example.org"] = rejected("gone@example.org")
    server = make_server(settings=relay_settings(host.port))
    qid = os.urandom(8).hex()
    write_spool_file(server.spool, qid, "", ["gone@example.org"],
                     make_message("null", sender="MAILER-DAEMON@elsewhere.example"))
    server.flush()
    m = server.wait_log(rf"{qid}: to=<gone@example.org>, relay=\S+, delay=\d+s, tls=none, status=bounced \((.*)\)")
    assert m.group(1) == rejected("gone@example.org")
    server.wait_log(rf"{qid}: 1 recipient\(s\) failed; no bounce \(null sender\)")
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert [a for _, a in host.mail_seen] == [""]  # MAIL FROM:<> went out as such
    assert host.transactions == []
    assert "non-delivery notification" not in server.log_text()


def test_failed_bounce_is_dropped(make_server, smarthost):
    """The sender itself is refused: its bounce gets 550 and is dropped, not bounced again."""
    host = smarthost("plain")
    host.rcpt_replies["bad@example.org"] = rejected("bad@example.org")
    host.rcpt_replies[USER] = rejected(USER)
    server = make_server(settings=relay_settings(host.port))
    with server.session() as c:
        qid = c.submit(USER, ["bad@example.org"], make_message("double"))
    bid = server.wait_log(rf"([0-9a-f]{{16}}): sender non-delivery notification to <{USER}>").group(1)
    server.wait_log(rf"{bid}: to=<{re.escape(USER)}>, relay=\S+, delay=\d+s, tls=none, status=bounced")
    server.wait_log(rf"{bid}: 1 recipient\(s\) failed; no bounce \(null sender\)")
    server.wait_log(rf"{bid}: removed")
    server.wait_log(rf"{qid}: removed")
    wait_empty(server)
    assert [a for _, a in host.mail_seen] == [USER, ""]
    assert host.transactions == []
    assert len(re.findall(r"sender non-delivery notification", server.log_text())) == 1


def test_bounce_that_cannot_be_queued_keeps_the_original(make_server, smarthost):
    """The bounce does not fit the spool quota: the original stays queued (never removed with its bounce
    lost), and once there is room the recipient is tried again and the bounce goes out."""
    host = smarthost("plain")
    host.rcpt_replies["bad@example.org"] = rejected("bad@example.org")
    server = make_server(settings=relay_settings(host.port, spool_max_size="64k"))
    # 34 KiB of header fields: the bounce quotes them, so original and bounce cannot both fit 64 KiB
    pad = [f"X-Pad-{i}: {'p' * 90}" for i in range(340)]
    message = make_message("quota").replace(b"\r\n\r\n", ("\r\n" + "\r\n".join(pad) + "\r\n\r\n").encode(), 1)
    with server.session() as c:
        qid = c.submit(USER, ["bad@example.org"], message)
    server.wait_log(rf"{qid}: cannot queue a bounce to <{re.escape(USER)}>: (Disk q|Q)uota exceeded")
    fate = server.wait_log(rf"{qid}: (kept in the queue until its bounce can be queued \(1 recipient\(s\)\)|removed)")
    assert fate.group(1) != "removed", "the original was removed although its bounce was lost"
    assert qid in server.queue_ids()
    assert f"{qid}: removed" not in server.log_text()
    assert host.transactions == []

    server.settings["spool_max_size"] = "1m"
    server.write_conf()
    offset = len(server.log_text())
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(r"queue: settings reloaded", start=offset)
    server.flush()
    bid = server.wait_log(rf"([0-9a-f]{{16}}): sender non-delivery notification to <{USER}>").group(1)
    server.wait_log(rf"{qid}: removed")
    [bounce] = host.wait_messages(1, timeout=10)
    server.wait_log(rf"{bid}: removed")
    wait_empty(server)
    assert (bounce.mail_from, bounce.rcpt_tos) == ("", [USER])
    msg, parts, rcpts = parse_bounce(bounce.content)
    assert [(r["Final-Recipient"], r["Status"]) for r in rcpts] == [("rfc822; bad@example.org", "5.1.1")]
    assert len(re.findall(r"sender non-delivery notification", server.log_text())) == 1


def test_queue_lifetime_bounce(make_server, smarthost):
    host = smarthost("plain", start=False)  # down
    server = make_server(settings=relay_settings(host.port, queue_lifetime="3s", retry_min="1s", retry_max="2s"))
    with server.session() as c:
        qid = c.submit(USER, ["late@example.org"], make_message("lifetime"))
    server.wait_log(rf"{qid}: to=<late@example.org>, .*status=deferred \(connect to 127\.0\.0\.1 port {host.port}: "
                    rf"Connection refused\)")
    server.wait_log(rf"{qid}: queue lifetime of 3s exceeded \(age \d+s\): bouncing 1 pending recipient\(s\)",
                    timeout=15)
    bid = server.wait_log(rf"([0-9a-f]{{16}}): sender non-delivery notification to <{USER}>").group(1)
    server.wait_log(rf"{qid}: removed")
    host.up()
    server.flush()
    [bounce] = host.wait_messages(1, timeout=10)
    server.wait_log(rf"{bid}: removed")
    wait_empty(server)
    assert host.transactions == [bounce]  # the expired message itself never went out
    assert (bounce.mail_from, bounce.rcpt_tos) == ("", [USER])
    msg, parts, rcpts = parse_bounce(bounce.content)
    assert msg["From"] == f"MAILER-DAEMON@{HOST} (Mail Delivery System)"
    assert [(r["Final-Recipient"], r["Action"], r["Status"]) for r in rcpts] == \
        [("rfc822; late@example.org", "failed", "4.4.7")]
    assert "queue lifetime" in parts["text/plain"].get_payload()
    assert "Subject: test lifetime" in parts["text/rfc822-headers"].get_payload()
