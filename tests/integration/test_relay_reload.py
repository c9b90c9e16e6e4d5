"""SIGHUP and the relay: its worker restarts only when its own settings changed.

A new smarthost secret (same path, new contents) takes effect on SIGHUP: mail
deferred because the smarthost refused the old password goes out after the
reload and a flush, from a new relay process. A reload that changes nothing
the relay uses (max_message_size) leaves the relay process and its open
smarthost connection alone: the next message goes over the same connection.
Changing relay_timeout restarts it.
"""
import os
import re
import signal

import pytest

from relaykit import SMARTHOST_PASSWORD, SMARTHOST_USER, relay_pids, relay_settings, write_secret
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

def auth_attempts(host):
    return [a for s in host.sessions for a in s.auth]


UNCHANGED = r"relay: reload: the relay's settings are unchanged; the relay process keeps running"


def reload(server, start):
    os.kill(server.pid, signal.SIGHUP)
    return server.wait_log(r"reloaded \S+subgate\.conf", start=start)


def test_new_secret_takes_effect(make_server, smarthost, pki, tmp_path):
    host = smarthost("starttls", cert=pki.localhost, auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    secret = write_secret(tmp_path, password="an-old-password")
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=secret, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        qid = c.submit(USER, ["rcpt@example.org"], make_message("secret"))
    server.wait_log(rf"{qid}: to=<rcpt@example\.org>, .*status=deferred \(.*535")
    assert [ok for _, _, _, ok in auth_attempts(host)] == [False]
    before = relay_pids(server)
    write_secret(tmp_path)  # the right password, same file
    start = len(server.log_text())
    reload(server, start)
    wait_for(lambda: len(relay_pids(server)) == len(before) + 1, 10, what="a new relay process")
    assert not re.search(UNCHANGED, server.log_text()[start:])
    os.kill(server.pid, signal.SIGUSR1)  # flush: the deferred message is due at once
    [t] = host.wait_messages(1)
    assert t.rcpt_tos == ["rcpt@example.org"]
    server.wait_log(rf"{qid}: to=<rcpt@example\.org>, .*status=sent")
    assert auth_attempts(host)[-1] == ("PLAIN", SMARTHOST_USER, SMARTHOST_PASSWORD, True)


def test_unrelated_change_keeps_the_relay_and_its_connection(make_server, smarthost):
    host = smarthost("plain")
    server = make_server(settings=relay_settings(host.port, relay_timeout="30"))
    with server.session() as c:
        c.submit(USER, ["one@example.org"], make_message("one"))
    host.wait_messages(1)
    pids = relay_pids(server)
    start = len(server.log_text())
    server.conf.write_text(server.conf.read_text().replace("max_message_size = 10m", "max_message_size = 2m"))
    reload(server, start)
    server.wait_log(UNCHANGED, start=start)
    server.settings["max_message_size"] = "2m"  # what EHLO now advertises
    assert relay_pids(server) == pids
    with server.session() as c:
        c.submit(USER, ["two@example.org"], make_message("two"))
    host.wait_messages(2)
    assert len(host.sessions) == 1  # the same smarthost connection

    start = len(server.log_text())
    server.conf.write_text(server.conf.read_text().replace("relay_timeout = 30", "relay_timeout = 20"))
    reload(server, start)
    wait_for(lambda: len(relay_pids(server)) == len(pids) + 1, 10, what="a new relay process")
    assert not re.search(UNCHANGED, server.log_text()[start:])
    with server.session() as c:
        c.submit(USER, ["three@example.org"], make_message("three"))
    host.wait_messages(3)
    assert len(host.sessions) == 2
