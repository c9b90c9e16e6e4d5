"""Sender masquerading: `masquerade = @router.lan: alerts@provider.example` rewrites a
local-only sender in the envelope (MAIL FROM) and in the From: header (display name kept,
folded From: lines too) when the relay hands the message to the smarthost; other
headers, other senders and the spool file stay as they were.
"""
from relaykit import relay_settings
from smtpkit import PASSWORD, USER

ROUTER_USER = "router-user"


def router_server(make_server, host, **extra):
    settings = relay_settings(host.port, masquerade="@router.lan: alerts@provider.example", **extra)
    return make_server(settings=settings, users=[(USER, PASSWORD, ["@example.com", "@router.lan"])])


def message(sender_header, extra=b""):
    return (b"From: " + sender_header + b"\r\n" + extra + b"To: rcpt@example.org\r\nSubject: masq\r\n"
            b"Message-ID: <masq@router.lan>\r\nDate: Mon, 23 Nov 2026 23:00:00 +0000\r\n\r\n"
            b"root@router.lan stays as it is in the body.\r\n")


def test_envelope_and_from_are_rewritten(make_server, smarthost):
    host = smarthost("plain")
    server = router_server(make_server, host)
    with server.session() as c:
        qid = c.submit("root@router.lan", ["rcpt@example.org"], message(b"Router <root@router.lan>"))
    [t] = host.wait_messages(1)
    assert t.mail_from == "alerts@provider.example"
    assert b"\r\nFrom: Router <alerts@provider.example>\r\n" in b"\r\n" + t.content
    assert b"root@router.lan stays as it is in the body.\r\n" in t.content
    assert b"Message-ID: <masq@router.lan>\r\n" in t.content  # only From: is touched
    server.wait_log(rf"{qid}: removed")


def test_folded_from_and_case(make_server, smarthost):
    host = smarthost("plain")
    server = router_server(make_server, host)
    with server.session() as c:
        c.submit("Backup@Router.LAN", ["rcpt@example.org"], message(b"\"Nightly backup\"\r\n <Backup@Router.LAN>"))
    [t] = host.wait_messages(1)
    assert t.mail_from == "alerts@provider.example"
    assert b"From: \"Nightly backup\"\r\n <alerts@provider.example>\r\n" in t.content


def test_other_senders_are_left_alone(make_server, smarthost):
    host = smarthost("plain")
    server = router_server(make_server, host)
    with server.session() as c:
        c.submit("alice@example.com", ["rcpt@example.org"], message(b"Alice <alice@example.com>"))
    [t] = host.wait_messages(1)
    assert t.mail_from == "alice@example.com"
    assert b"From: Alice <alice@example.com>\r\n" in t.content


def test_masquerade_config_errors(subgate, site):
    for value in ("router.lan: a@b.example", "@router.lan a@b.example", "@router.lan: not-an-address"):
        n = site.set("masquerade", value)
        r = subgate("config", "-c", site.conf)
        assert r.returncode == 78, value
        assert f"{site.conf}:{n}: masquerade: expected ADDRESS|@DOMAIN: ADDRESS" in r.stderr
