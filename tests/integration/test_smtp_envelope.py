"""The envelope: MAIL FROM and RCPT TO after authentication.

Covers: MAIL only after AUTH (530 5.7.0); sender ownership from the user
database (an owned @domain, an exact address, the domain compared without
regard to case, other domains, subdomains, the null sender <>: 553 5.7.1
naming the user); SIZE= at and above max_message_size (552 5.3.4); command
order (RCPT before MAIL, DATA before RCPT, nested MAIL, RSET clearing the
transaction); the 50-recipient limit (452 4.5.3 for each extra one, the
first 50 kept in the spool file); aliases for bare local names (root ->
admin@example.com, ops@example.com in the spool file) and bare local names
without an alias (550 5.1.1).
"""

import pytest

from smtpkit import BOB, BOB_PASSWORD, BOB_SENDER, USER, make_message

SMTPD_SETTINGS = {"max_message_size": "64k"}


def not_owned(addr, user):
    return f"553 5.7.1 <{addr}>: Sender address rejected: not owned by user {user}"


def test_mail_needs_auth(smtpd):
    with smtpd.connect() as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        assert c.cmd("MAIL FROM:<alice@example.com>") == "530 5.7.0 Authentication required"
        assert c.cmd("MAIL FROM:<alice@example.com> SIZE=10") == "530 5.7.0 Authentication required"


@pytest.mark.parametrize("user,password,sender", [
    (USER, None, "alice@example.com"),
    (USER, None, "someone.else@example.com"),
    (USER, None, "Alice@EXAMPLE.COM"),
    (BOB, BOB_PASSWORD, BOB_SENDER),
])
def test_owned_sender(smtpd, user, password, sender):
    kw = {"user": user, "password": password} if password else {}
    with smtpd.session(**kw) as c:
        assert c.cmd(f"MAIL FROM:<{sender}>") == "250 2.1.0 Ok"


@pytest.mark.parametrize("user,password,sender", [
    (USER, None, "alice@example.org"),
    (USER, None, "alice@sub.example.com"),
    (USER, None, "alice@notexample.com"),
    (USER, None, "alice@example.com.evil.test"),
    (BOB, BOB_PASSWORD, "alice@example.com"),
    (BOB, BOB_PASSWORD, "other@example.net"),
    (BOB, BOB_PASSWORD, "bob@example.net.evil.test"),
])
def test_sender_not_owned(smtpd, user, password, sender):
    kw = {"user": user, "password": password} if password else {}
    with smtpd.session(**kw) as c:
        assert c.cmd(f"MAIL FROM:<{sender}>") == not_owned(sender, user)
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "503 5.5.1 Error: need MAIL command"


def test_null_sender_refused(smtpd):
    with smtpd.session() as c:
        r = c.cmd("MAIL FROM:<>")
        assert r.startswith("553 5.7.1 "), r
        assert r.endswith(f"Sender address rejected: not owned by user {USER}"), r


def test_size_parameter(smtpd):
    limit = 64 * 1024
    with smtpd.session() as c:
        assert c.cmd(f"MAIL FROM:<alice@example.com> SIZE={limit + 1}") == "552 5.3.4 Message size exceeds fixed limit"
        assert c.cmd("MAIL FROM:<alice@example.com> SIZE=99999999999999") == \
            "552 5.3.4 Message size exceeds fixed limit"
        assert c.cmd(f"MAIL FROM:<alice@example.com> SIZE={limit}") == "250 2.1.0 Ok"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("MAIL FROM:<alice@example.com> BODY=8BITMIME SIZE=100") == "250 2.1.0 Ok"


def test_command_order(smtpd):
    with smtpd.session() as c:
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("DATA").startswith("503 5.5.1 ")
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
        assert c.cmd("MAIL FROM:<alice@example.com>").startswith("503 5.5.1 ")
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "503 5.5.1 Error: need MAIL command"
        # a fresh transaction after RSET, stored with only its own recipient
        qid = c.submit("alice@example.com", ["second@example.org"], make_message("order"))
    assert smtpd.spool_file(qid).rcpts == ["second@example.org"]


def test_recipient_limit(smtpd):
    rcpts = [f"r{i:02d}@example.org" for i in range(50)]
    with smtpd.session() as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        for r in rcpts:
            assert c.cmd(f"RCPT TO:<{r}>") == "250 2.1.5 Ok", r
        for extra in ("r50@example.org", "r51@example.org", "r00@example.org"):
            assert c.cmd(f"RCPT TO:<{extra}>") == "452 4.5.3 Error: too many recipients"
        assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        c.send(make_message("fifty") + b".\r\n")
        reply = c.reply()
        assert reply.startswith("250 2.0.0 Ok: queued as "), reply
        qid = reply.rsplit(" ", 1)[1]
    f = smtpd.spool_file(qid)
    assert f.rcpts == rcpts
    assert f.sender == "alice@example.com"


def test_alias_for_bare_local_name(smtpd):
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["root", "rcpt@example.org"], make_message("alias"))
    f = smtpd.spool_file(qid)
    assert f.rcpts == ["admin@example.com", "ops@example.com", "rcpt@example.org"]


def test_alias_in_angle_brackets_with_size(smtpd):
    with smtpd.session() as c:
        assert c.cmd("MAIL FROM:<alice@example.com> SIZE=500") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<root>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<nobody>") == \
            "550 5.1.1 <nobody>: Recipient address rejected: local name without an alias"
        assert c.cmd("RCPT TO:<postmaster2>") == \
            "550 5.1.1 <postmaster2>: Recipient address rejected: local name without an alias"
        assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
        c.send(make_message("alias2") + b".\r\n")
        qid = c.reply().rsplit(" ", 1)[1]
    assert smtpd.spool_file(qid).rcpts == ["admin@example.com", "ops@example.com"]


def test_rcpt_syntax(smtpd):
    with smtpd.session() as c:
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<a b@example.org>") == "501 5.1.3 Bad recipient address syntax"
        assert c.cmd("RCPT TO:<rcpt@example.org> FOO=1") == "555 5.5.4 Unsupported option"
        assert c.cmd("RCPT TO:<>").startswith("501 5.1.3 ")
        assert c.cmd("RCPT TO:<rcpt@example.org>") == "250 2.1.5 Ok"


def test_spool_envelope_names_user_and_client(smtpd):
    with smtpd.session() as c:
        qid = c.submit("alice@example.com", ["x@example.org"], make_message("env"))
    f = smtpd.spool_file(qid)
    assert (f.sender, f.user, f.client, f.rcpts) == ("alice@example.com", USER, "127.0.0.1", ["x@example.org"])
