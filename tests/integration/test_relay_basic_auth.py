"""The relay against a smarthost that has switched off password logins (Microsoft 365, Outlook.com).

Covers: Microsoft's replies to AUTH PLAIN and AUTH LOGIN once basic
authentication is disabled (535 5.7.139, 535 5.7.3 "... basic authentication
is disabled", 550 5.7.30 "Basic authentication is not supported for Client
Submission") pause the queue like a refused password (the 550 did not pause
it before: every retry logged in again), and the relay's log line says what
happened and how to switch to OAuth2. Mail is kept (deferred, never
bounced) and a new message waits for the hold instead of logging in again.
A plain wrong-password 535 5.7.3 holds the queue without that line.
"""

import re

import pytest

from relaykit import SMARTHOST_PASSWORD, SMARTHOST_USER, pending_ids, relay_settings, spool_where, write_secret
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HINT = ("the smarthost has disabled basic authentication (password logins); holding the queue: the account needs "
        "an OAuth2 login, not a password (see smarthost_auth in subgate.conf(5))")
HELD = r"queue: the smarthost refused our credentials: holding the queue for 60s"

MICROSOFT = [
    "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN0PR04CA0001.namprd04.prod.outlook.com]",
    "535 5.7.3 Authentication unsuccessful, basic authentication is disabled",
    "550 5.7.30 Basic authentication is not supported for Client Submission.",
]


def gateway(make_server, host, tmp_path):
    return make_server(settings=relay_settings(host.port, smarthost_auth=write_secret(tmp_path), retry_min="1s",
                                               retry_max="60s"))


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("reply", MICROSOFT, ids=["535-5.7.139", "535-5.7.3", "550-5.7.30"])
def test_basic_auth_disabled_holds_the_queue_and_says_why(make_server, smarthost, tmp_path, reply, mechanism):
    host = smarthost("plain", auth=(SMARTHOST_USER, SMARTHOST_PASSWORD), mechanisms=(mechanism,))
    host.accept_auth = False
    host.auth_reply = reply
    server = gateway(make_server, host, tmp_path)
    with server.session() as c:
        first = c.submit(USER, ["held@example.org"], make_message("basic1"))
    m = server.wait_log(r"relay: AUTH (\w+) refused: (.*): " + re.escape(HINT))
    assert m.group(1) == mechanism
    assert m.group(2) == reply, m.group(0)
    server.wait_log(HELD)
    wait_for(lambda: spool_where(server, first) == "defer", what="the message in defer/")
    assert [a[0] for s in host.sessions for a in s.auth] == [mechanism]  # one login, not one per retry

    start = len(server.log_text())
    with server.session() as c:
        second = c.submit(USER, ["held@example.org"], make_message("basic2"))
    server.wait_log(r"queue: holding for another \d+s: new mail waits", start=start)
    assert len(host.sessions) == 1
    assert pending_ids(server) == sorted([first, second])  # kept, no bounce
    assert host.mail_seen == []


def test_wrong_password_is_not_basic_auth_disabled(make_server, smarthost, tmp_path):
    host = smarthost("plain", auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    host.accept_auth = False
    host.auth_reply = "535 5.7.3 Authentication unsuccessful [BN0PR04CA0001.namprd04.prod.outlook.com]"
    server = gateway(make_server, host, tmp_path)
    with server.session() as c:
        c.submit(USER, ["held@example.org"], make_message("wrong"))
    server.wait_log(r"relay: AUTH PLAIN refused: 535 5.7.3 Authentication unsuccessful")
    server.wait_log(HELD)
    assert "basic authentication" not in server.log_text()
