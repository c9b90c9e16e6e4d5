"""Relay TLS: the smarthost's certificate is always verified, and nothing is sent to one that fails.

Covers, each with STARTTLS or implicit TLS to an aiosmtpd smarthost: a
certificate for another host name, an expired one, one not valid yet, one
from a CA we do not trust, and a wrong SPKI pin. Each time: nothing is
delivered, no MAIL and no AUTH reach the smarthost (the credentials never
cross an unverified channel), the message moves to defer/ with its recipient
still pending and its mtime (the next attempt) in the future, no bounce is
made (verification failures are temporary), and the log names the reason
("host name mismatch", "certificate expired or not yet valid", "unknown CA",
"pin mismatch"). A right pin without any CA file delivers, with the
smarthost given by IP address and also for an expired self-signed
certificate of another name (a pin needs no CA, no name and no clock). A
smarthost that does not offer STARTTLS while smarthost_tls = starttls:
deferred with "does not offer STARTTLS", nothing sent in plaintext.
A smarthost given by IP address ([127.0.0.1], [::1]) with a CA-signed
certificate whose subjectAltName holds only that IP address: delivered,
with the login; one whose certificate names another address, or spells the
address as a DNS name (and CN): deferred with "IP address mismatch".
Without TLS (smarthost_tls = none, allowed for "localhost") the address
the name resolves to decides: in a mount namespace whose /etc/hosts maps
localhost to 0.0.0.0 (which Linux would connect to this host, but which is
not a loopback address) nothing is connected to, so neither mail nor the
password travels in plaintext; mapped to 127.0.0.1 the relay logs in and
delivers as before.
"""

import os
import re
import time

import pytest

from relaykit import (SMARTHOST_PASSWORD, SMARTHOST_USER, pending_ids, read_envelope, relay_settings, spool_where,
                      write_secret)
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RCPT = "tls@example.org"

FAILURES = {
    # id: (smarthost mode, served certificate, trust settings maker, reason in the log)
    "wrong-name": ("starttls", "wrong_name", lambda pki: {"smarthost_ca": pki.ca}, "host name mismatch"),
    "expired": ("starttls", "expired", lambda pki: {"smarthost_ca": pki.ca}, "certificate expired or not yet valid"),
    "not-yet-valid": ("tls", "not_yet_valid", lambda pki: {"smarthost_ca": pki.ca},
                      "certificate expired or not yet valid"),
    "unknown-ca": ("starttls", "unknown_ca", lambda pki: {"smarthost_ca": pki.ca}, "unknown CA"),
    "wrong-pin": ("tls", "localhost", lambda pki: {"smarthost_pin": pki.wrong_name.pin}, "pin mismatch"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_verification_failure_defers(make_server, smarthost, pki, tmp_path, case):
    mode, served, trust, reason = FAILURES[case]
    host = smarthost(mode, cert=getattr(pki, served), auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    server = make_server(settings=relay_settings(host.port, mode, "localhost", smarthost_auth=write_secret(tmp_path),
                                                 **trust(pki)))
    before = time.time()
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message(f"tls-{case}"))
    m = server.wait_log(rf"{qid}: to=<{RCPT}>, relay=localhost\[127\.0\.0\.1\]:{host.port}, delay=\d+s, tls=none, "
                        rf"status=deferred \((.*)\)")
    assert m.group(1) == f"TLS handshake with localhost[127.0.0.1]:{host.port} failed: {reason}", m.group(0)
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    env = read_envelope(server, qid)
    assert env.rcpts == [("P", RCPT)]
    assert env.mtime > before  # the next attempt, in the future of the failed one
    assert pending_ids(server) == [qid]  # no bounce
    assert "bounce" not in server.log_text() and "non-delivery" not in server.log_text()
    assert host.transactions == [] and host.mail_seen == []
    for conn in host.connections:
        assert conn.auth == []
        assert b"AUTH" not in bytes(conn.transcript) and b"MAIL" not in bytes(conn.transcript)
    if mode == "starttls":  # the relay got as far as STARTTLS, then stopped
        [conn] = host.sessions
        assert conn.commands()[:2] == ["EHLO gw.example.test", "STARTTLS"]


def test_right_pin_without_ca_delivers(make_server, smarthost, pki):
    host = smarthost("starttls", cert=pki.localhost)
    server = make_server(settings=relay_settings(host.port, "starttls", "127.0.0.1", smarthost_pin=pki.localhost.pin))
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message("pin-ok"))
    [t] = host.wait_messages(1)
    server.wait_log(rf"{qid}: to=<{RCPT}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{host.port}, delay=\d+s, "
                    rf"tls=TLSv1\.2/\S+, status=sent \(250 2\.0\.0 Ok: queued\)")
    server.wait_log(rf"{qid}: removed")
    assert t.rcpt_tos == [RCPT] and t.content.endswith(make_message("pin-ok"))
    assert "smarthost_ca" not in server.conf.read_text()


def test_pin_needs_no_name_and_no_clock(make_server, smarthost, pki):
    """DESIGN 4: a pin needs "no CA and no clock": an expired self-signed certificate of another name, pinned."""
    host = smarthost("tls", cert=pki.self_signed)
    server = make_server(settings=relay_settings(host.port, "tls", "localhost", smarthost_pin=pki.self_signed.pin))
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message("pin-expired"))
    m = server.wait_log(rf"{qid}: to=<{RCPT}>, .*status=(\w+) \((.*)\)")
    assert m.group(1) == "sent", m.group(0)
    [t] = host.wait_messages(1)
    assert t.rcpt_tos == [RCPT]


def test_smarthost_without_starttls_defers(make_server, smarthost, pki, tmp_path):
    host = smarthost("plain", auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path)))
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message("no-starttls"))
    m = server.wait_log(rf"{qid}: to=<{RCPT}>, relay=localhost\[127\.0\.0\.1\]:{host.port}, delay=\d+s, tls=none, "
                        rf"status=deferred \((.*)\)")
    assert m.group(1) == f"localhost[127.0.0.1]:{host.port} does not offer STARTTLS", m.group(0)
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert read_envelope(server, qid).rcpts == [("P", RCPT)]
    [conn] = host.sessions
    assert conn.commands()[0] == "EHLO gw.example.test"
    assert not any(re.match(r"(AUTH|MAIL|RCPT|DATA)\b", c) for c in conn.commands())
    assert host.transactions == [] and conn.auth == []


@pytest.mark.parametrize("addr,mode", [("127.0.0.1", "starttls"), ("::1", "tls")], ids=["ipv4", "ipv6"])
def test_ip_literal_smarthost_with_ip_san_delivers(make_server, smarthost, pki, tmp_path, addr, mode):
    host = smarthost(mode, cert=pki.ip4 if addr == "127.0.0.1" else pki.ip6, host=addr,
                     auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    settings = relay_settings(host.port, mode, addr, smarthost_ca=pki.ca, smarthost_auth=write_secret(tmp_path))
    settings["smarthost"] = f"[{addr}]:{host.port}"
    server = make_server(settings=settings)
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message(f"ip-san-{addr}"))
    m = server.wait_log(rf"{qid}: to=<{RCPT}>, relay={re.escape(addr)}\[{re.escape(addr)}\]:{host.port}, delay=\d+s, "
                        rf"tls=(\S+), status=(\w+) \((.*)\)")
    assert m.group(2) == "sent" and m.group(1).startswith("TLSv1.2/"), m.group(0)
    [t] = host.wait_messages(1)
    assert t.rcpt_tos == [RCPT]
    [conn] = host.sessions
    assert conn.tls and [a[3] for a in conn.auth] == [True]


@pytest.mark.parametrize("served", ["ip4_other", "ip_as_dns"])
def test_ip_literal_smarthost_without_its_ip_san_defers(make_server, smarthost, pki, tmp_path, served):
    host = smarthost("tls", cert=getattr(pki, served), auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    settings = relay_settings(host.port, "tls", "127.0.0.1", smarthost_ca=pki.ca,
                              smarthost_auth=write_secret(tmp_path))
    settings["smarthost"] = f"[127.0.0.1]:{host.port}"
    server = make_server(settings=settings)
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message(f"ip-san-{served}"))
    m = server.wait_log(rf"{qid}: to=<{RCPT}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{host.port}, delay=\d+s, tls=none, "
                        rf"status=deferred \((.*)\)")
    assert m.group(1) == (f"TLS handshake with 127.0.0.1[127.0.0.1]:{host.port} failed: IP address mismatch "
                          f"(no subjectAltName IP address 127.0.0.1 in the certificate)"), m.group(0)
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert read_envelope(server, qid).rcpts == [("P", RCPT)]
    assert host.transactions == [] and host.mail_seen == []
    for conn in host.connections:
        assert conn.auth == [] and b"AUTH" not in bytes(conn.transcript)


# Runs "$@" with this test's file over /etc/hosts, in a mount namespace of its own (the host's is never touched).
HOSTS_NAMESPACE = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$0" /etc/hosts && exec "$@"']


@pytest.mark.parametrize("mapped", ["127.0.0.1", "0.0.0.0"])
def test_plaintext_smarthost_is_reached_only_on_loopback(make_server, smarthost, tmp_path, mapped):
    if os.geteuid() != 0:
        pytest.skip("needs root (mount namespace for /etc/hosts)")
    host = smarthost("plain", auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    hosts = tmp_path / "hosts"
    hosts.write_text(f"{mapped} localhost\n")
    server = make_server(start=False, settings=relay_settings(host.port, "none", "localhost",
                                                              smarthost_auth=write_secret(tmp_path)))
    server.wrapper = [*HOSTS_NAMESPACE, str(hosts)]
    server.start()
    assert (server.spool / "etc" / "hosts").read_text() == hosts.read_text()  # what the jailed relay resolves with
    with server.session() as c:
        qid = c.submit(USER, [RCPT], make_message(f"plain-{mapped}"))
    m = server.wait_log(rf"{qid}: to=<{RCPT}>, relay=(\S+), delay=\d+s, tls=none, status=(\w+) \((.*)\)")
    if mapped == "127.0.0.1":
        assert (m.group(1), m.group(2)) == (f"localhost[127.0.0.1]:{host.port}", "sent"), m.group(0)
        [conn] = host.sessions
        assert [(a[1], a[3]) for a in conn.auth] == [(SMARTHOST_USER, True)]
        return
    assert m.group(2) == "deferred", m.group(0)
    assert m.group(3) == ("smarthost_tls = none, but localhost is 0.0.0.0, not a loopback address: "
                          "no plaintext connection"), m.group(0)
    wait_for(lambda: spool_where(server, qid) == "defer", what="the message in defer/")
    assert host.sessions == [] and host.transactions == []
    assert all(conn.auth == [] and not conn.transcript for conn in host.connections)
