"""SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN and SCRAM-SHA-256 (RFC 5802/7677).

Covers: each mechanism with and without an initial response, on the STARTTLS
and the implicit TLS port; the SCRAM server signature checked by an
independent Python client; the log line "client=[ADDR], sasl_method=M,
sasl_username=NAME"; wrong password, unknown user and a bad SCRAM proof
(535 5.7.8); AUTH after success (503), unknown mechanism (504), "*" aborts
(501 5.7.0) at every prompt, undecodable base64 (501 5.5.2); the failed-login
counter per client address across connections (5 failures, then 421 4.7.0 and
close, even with the right password; other addresses unaffected); that the
lock survives 70 other addresses failing once each (the table never evicts a
lock), that logging in as oneself does not reset the count of one's address,
that each lock is logged with its end and that a reload (SIGHUP) lifts locks;
that past 10 failures for one account each failing address is shut out at
once while the right password still logs in from a clean address; that a
table full of locks answers a new address 454 4.7.0;
that SCRAM answers an unknown user with the salt length and iteration count of
a real one and the same salt at every start and after `subgate user` edits;
and that the log never holds a password, plain or base64.

Tests that fail logins use client source addresses of their own
(conftest.fresh_source) so the counter of one test never blocks another.
"""

import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import fresh_source
from smtpkit import (AUTH_FAILED, AUTH_OK, BOB, BOB_PASSWORD, HOST, PASSWORD, USER, b64, b64d, plain_response,
                     scram_login)

ABORTED = "501 5.7.0 Authentication aborted"
UNDECODABLE = "501 5.5.2 Cannot decode response"


def tls_ready(smtpd, source=None, implicit=False):
    c = smtpd.connect(source=source, implicit=implicit)
    if not implicit:
        c.ehlo()
        c.starttls()
    c.ehlo()
    return c


def check_logged_in(c):
    assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == "503 5.5.1 Error: already authenticated"
    assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"


def auth_log(smtpd, start, method, user=USER, client="127.0.0.1"):
    rx = rf"client=\[{re.escape(client)}\], sasl_method={re.escape(method)}, sasl_username={re.escape(user)}$"
    smtpd.wait_log(f"(?m){rx}", start=start)


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
def test_plain_initial_response(smtpd, implicit):
    start = len(smtpd.log_text())
    with tls_ready(smtpd, implicit=implicit) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK
        check_logged_in(c)
    auth_log(smtpd, start, "PLAIN")


def test_plain_after_prompt(smtpd):
    start = len(smtpd.log_text())
    with tls_ready(smtpd) as c:
        assert c.cmd("AUTH PLAIN") == "334 "
        assert c.cmd(plain_response(BOB, BOB_PASSWORD)) == AUTH_OK
        assert c.cmd("MAIL FROM:<bob@example.net>") == "250 2.1.0 Ok"
    auth_log(smtpd, start, "PLAIN", user=BOB)


def test_plain_mechanism_name_case_insensitive(smtpd):
    with tls_ready(smtpd) as c:
        assert c.cmd("auth plain " + plain_response(USER, PASSWORD)) == AUTH_OK


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
def test_login(smtpd, implicit):
    start = len(smtpd.log_text())
    with tls_ready(smtpd, implicit=implicit) as c:
        assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
        assert c.cmd(b64(USER)) == "334 UGFzc3dvcmQ6"
        assert c.cmd(b64(PASSWORD)) == AUTH_OK
        check_logged_in(c)
    auth_log(smtpd, start, "LOGIN")


@pytest.mark.parametrize("initial", [True, False], ids=["initial-response", "after-prompt"])
@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
def test_scram_sha_256(smtpd, initial, implicit):
    start = len(smtpd.log_text())
    with tls_ready(smtpd, implicit=implicit) as c:
        assert scram_login(c, USER, PASSWORD, initial=initial) == AUTH_OK
        check_logged_in(c)
    auth_log(smtpd, start, "SCRAM-SHA-256")


def test_scram_other_user(smtpd):
    with tls_ready(smtpd) as c:
        assert scram_login(c, BOB, BOB_PASSWORD) == AUTH_OK
        assert c.cmd("MAIL FROM:<bob@example.net>") == "250 2.1.0 Ok"


def test_scram_two_logins_use_fresh_server_nonces(smtpd):
    seen = []
    for _ in range(2):
        with tls_ready(smtpd) as c:
            nonce = b64(b"fixed-client-nonce")
            r = c.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,n={USER},r={nonce}"))
            assert r.startswith("334 "), r
            seen.append(r)
            assert c.cmd("*") == ABORTED
    assert seen[0] != seen[1]


BAD_CREDENTIALS = ["plain-wrong-password", "plain-unknown-user", "plain-other-users-password",
                   "plain-empty-password", "login-wrong-password", "login-unknown-user", "scram-wrong-password",
                   "scram-bad-proof", "scram-unknown-user"]


def bad_login(smtpd, how):
    """One failed login of kind `how` from an address of its own; returns the replies that matter."""
    with tls_ready(smtpd, source=fresh_source()) as c:
        if how == "plain-wrong-password":
            r = c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD + "x"))
        elif how == "plain-unknown-user":
            r = c.cmd("AUTH PLAIN " + plain_response("mallory@example.com", PASSWORD))
        elif how == "plain-other-users-password":
            r = c.cmd("AUTH PLAIN " + plain_response(USER, BOB_PASSWORD))
        elif how == "plain-empty-password":
            r = c.cmd("AUTH PLAIN " + plain_response(USER, ""))
        elif how.startswith("login"):
            assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
            assert c.cmd(b64("nobody@example.com" if how.endswith("user") else USER)) == "334 UGFzc3dvcmQ6"
            r = c.cmd(b64("wrong password" if how.endswith("password") else PASSWORD))
        elif how == "scram-wrong-password":
            r = scram_login(c, USER, "wrong password")
        elif how == "scram-bad-proof":
            r = scram_login(c, USER, PASSWORD, tamper_proof=True)
        else:
            r = scram_login(c, "mallory@example.com", PASSWORD)
        # not logged in, but the session goes on and a correct login works
        return [r, c.cmd("MAIL FROM:<alice@example.com>"), c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD))]


def test_bad_credentials(smtpd):
    """Every kind of bad login, run side by side (each costs the ~1 s failure delay)."""
    with ThreadPoolExecutor(len(BAD_CREDENTIALS)) as pool:
        got = dict(zip(BAD_CREDENTIALS, pool.map(lambda how: bad_login(smtpd, how), BAD_CREDENTIALS)))
    expected = [AUTH_FAILED, "530 5.7.0 Authentication required", AUTH_OK]
    assert got == {how: expected for how in BAD_CREDENTIALS}
    assert not re.search(r"(?m)sasl_username=(mallory|nobody)@example\.com$", smtpd.log_text())


def test_unknown_mechanism(smtpd):
    with tls_ready(smtpd, source=fresh_source()) as c:
        assert c.cmd("AUTH CRAM-MD5") == "504 5.5.4 Unrecognized authentication type"
        assert c.cmd("AUTH XOAUTH2 dGVzdA==") == "504 5.5.4 Unrecognized authentication type"
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


@pytest.mark.parametrize("where", ["plain-prompt", "login-username", "login-password", "scram-first",
                                   "scram-final"])
def test_abort(smtpd, where):
    with tls_ready(smtpd, source=fresh_source()) as c:
        if where == "plain-prompt":
            assert c.cmd("AUTH PLAIN") == "334 "
        elif where.startswith("login"):
            assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
            if where == "login-password":
                assert c.cmd(b64(USER)) == "334 UGFzc3dvcmQ6"
        elif where == "scram-first":
            assert c.cmd("AUTH SCRAM-SHA-256") == "334 "
        else:
            r = c.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,n={USER},r=abcdefghijklmnop"))
            assert r.startswith("334 "), r
        assert c.cmd("*") == ABORTED
        assert c.cmd("MAIL FROM:<alice@example.com>") == "530 5.7.0 Authentication required"
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


@pytest.mark.parametrize("line", ["AUTH PLAIN AGFsaWN", "AUTH SCRAM-SHA-256 biwsbj1", "AUTH PLAIN !!!!"])
def test_undecodable_initial_response(smtpd, line):
    with tls_ready(smtpd, source=fresh_source()) as c:
        assert c.cmd(line) == UNDECODABLE
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_undecodable_response_after_prompt(smtpd, mech):
    with tls_ready(smtpd, source=fresh_source()) as c:
        assert c.cmd(f"AUTH {mech}").startswith("334 ")
        assert c.cmd("not base64 at all!") == UNDECODABLE
        assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_auth_before_ehlo_after_starttls(smtpd):
    with smtpd.connect(source=fresh_source()) as c:
        c.ehlo()
        c.starttls()
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == "503 5.5.1 Error: send EHLO first"


def test_failed_logins_block_the_address(smtpd):
    source, other = "127.0.0.57", "127.0.0.58"
    # 3 failures on one connection, 2 on another: the count is per address, not per session
    with tls_ready(smtpd, source=source) as c:
        for _ in range(3):
            assert c.cmd("AUTH PLAIN " + plain_response(USER, "guess")) == AUTH_FAILED
    with tls_ready(smtpd, source=source) as c:
        assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
        assert c.cmd(b64(USER)) == "334 UGFzc3dvcmQ6"
        assert c.cmd(b64("guess")) == AUTH_FAILED
        assert scram_login(c, USER, "guess") == AUTH_FAILED
    # the sixth attempt, even with the right password, is refused and the connection closed
    with tls_ready(smtpd, source=source) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == \
            f"421 4.7.0 {HOST} Error: too many failed logins; try again later"
        c.expect_closed()
    with tls_ready(smtpd, source=source) as c:
        assert scram_login(c, USER, PASSWORD) == \
            f"421 4.7.0 {HOST} Error: too many failed logins; try again later"
        c.expect_closed()
    # another client address is not affected
    with tls_ready(smtpd, source=other) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


def test_log_never_holds_passwords(smtpd):
    """Runs last in this module: the log then holds good and bad PLAIN and LOGIN attempts."""
    secrets = {PASSWORD, BOB_PASSWORD, "guess", "wrong password", PASSWORD + "x"}
    with tls_ready(smtpd, source=fresh_source()) as c:
        assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
        assert c.cmd(b64(USER)) == "334 UGFzc3dvcmQ6"
        assert c.cmd(b64(PASSWORD)) == AUTH_OK
    log = smtpd.log_text()
    assert "sasl_username=" in log
    forms = set()
    for s in secrets:
        forms |= {s, b64(s), b64(s).rstrip("=")}
        for user in (USER, BOB, "mallory@example.com", "nobody@example.com"):
            forms.add(plain_response(user, s))
            forms.add(plain_response(user, s).rstrip("="))
    for form in sorted(forms):
        assert form not in log, f"the log contains {form!r}"


def test_authzid(smtpd):
    """PLAIN's authorization identity: the user's own name is fine; another user's name never logs in as that
    user (nor as the authenticating one)."""
    with tls_ready(smtpd, source=fresh_source()) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD, authzid=USER)) == AUTH_OK
        assert c.cmd("MAIL FROM:<bob@example.net>") == "553 5.7.1 <bob@example.net>: Sender address rejected: " \
                                                       f"not owned by user {USER}"
    with tls_ready(smtpd, source=fresh_source()) as c:
        r = c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD, authzid=BOB))
        assert r == AUTH_FAILED
        assert c.cmd("MAIL FROM:<bob@example.net>") == "530 5.7.0 Authentication required"


def test_auth_without_mechanism(smtpd):
    with tls_ready(smtpd, source=fresh_source()) as c:
        assert c.cmd("AUTH").startswith("501 5.5.4 ")
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


def test_failed_login_log_names_the_mechanism(smtpd):
    """The log line of a failed login names the mechanism that was used."""
    sources = {"PLAIN": fresh_source(), "LOGIN": fresh_source(), "SCRAM-SHA-256": fresh_source()}

    def fail(method):
        with tls_ready(smtpd, source=sources[method]) as c:
            if method == "PLAIN":
                return c.cmd("AUTH PLAIN " + plain_response(USER, "bad"))
            if method == "LOGIN":
                assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
                assert c.cmd(b64(USER)) == "334 UGFzc3dvcmQ6"
                return c.cmd(b64("bad"))
            return scram_login(c, USER, "bad")

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(fail, sources)) == [AUTH_FAILED] * 3
    log = smtpd.log_text()
    logged = {}
    for method, source in sources.items():
        m = re.search(rf"(?m)client=\[{re.escape(source)}\], sasl_method=(\S+), sasl_username={re.escape(USER)}: "
                      r"authentication failed", log)
        assert m, f"no failure line for {source}"
        logged[method] = m.group(1)
    assert logged == {method: method for method in sources}


def test_log_injection_through_the_username(smtpd):
    """A user name is client data: CR, LF or escape sequences in it must not forge or corrupt log lines."""
    names = ["evil\nsubgate: FORGED-PLAIN-LF", "evil\rsubgate: FORGED-PLAIN-CR", "esc\x1b[31mFORGED-ESC",
             "login\nsubgate: FORGED-LOGIN"]

    def attempt(name):
        with tls_ready(smtpd, source=fresh_source()) as c:
            if "LOGIN" in name:
                assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
                assert c.cmd(b64(name)) == "334 UGFzc3dvcmQ6"
                return c.cmd(b64("pw"))
            return c.cmd("AUTH PLAIN " + plain_response(name, "pw"))

    with ThreadPoolExecutor(len(names)) as pool:
        assert list(pool.map(attempt, names)) == [AUTH_FAILED] * len(names)
    raw = smtpd.log.read_bytes()
    forged = re.findall(rb"(?m)^subgate: FORGED.*$", raw)
    assert forged == [], f"forged log lines: {forged!r}"
    bad = [line for line in raw.split(b"\n")[:-1]
           if not line.startswith(b"subgate: ") or re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line)]
    assert bad == [], f"corrupted log lines: {bad!r}"


MALFORMED = "501 5.5.2 Error: malformed authentication message"


@pytest.mark.parametrize("where", ["client-first", "client-final"])
def test_scram_nul_is_malformed_not_temporary(smtpd, where):
    """A NUL in a SCRAM message (RFC 5802 allows none) is the client's error: 501, not 454 (temporary), which
    a client would retry for ever."""
    with tls_ready(smtpd, source=fresh_source()) as c:
        if where == "client-first":
            assert c.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,n={USER}\0x,r=abcdefghijklmnop")) == MALFORMED
        else:
            r = c.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,n={USER},r=abcdefghijklmnop"))
            assert r.startswith("334 "), r
            assert c.cmd(b64(b"c=biws,r=abcdefghijklmnop\0,p=AAAA")) == MALFORMED
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


THROTTLED = f"421 4.7.0 {HOST} Error: too many failed logins; try again later"


def lock_out(server, source, user=USER):
    """Fails logins for `user` from `source` until the address is shut out (5 failures by default)."""
    with tls_ready(server, source=source) as c:
        for _ in range(5):
            assert c.cmd("AUTH PLAIN " + plain_response(user, "guess")) == AUTH_FAILED
    with tls_ready(server, source=source) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == THROTTLED
        c.expect_closed()


def test_lock_survives_many_other_addresses(make_server):
    """The old table (64 addresses, the oldest evicted) forgot a lock after 70 other addresses failed once each."""
    server = make_server()
    locked = "127.0.1.1"
    lock_out(server, locked)

    def fail_once(i):
        with tls_ready(server, source=f"127.0.2.{i}") as c:
            return c.cmd("AUTH PLAIN " + plain_response(f"nobody{i}@example.com", "guess"))

    with ThreadPoolExecutor(14) as pool:
        assert list(pool.map(fail_once, range(1, 71))) == [AUTH_FAILED] * 70
    with tls_ready(server, source=locked) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == THROTTLED
        c.expect_closed()
    server.wait_log(rf"auth: login lock: address {re.escape(locked)} after 5 failed logins, until \w+, ")
    # the operator lifts locks with a reload; each one lifted is logged
    start = len(server.log_text())
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(rf"auth: login lock of address {re.escape(locked)} cleared", start=start)
    with tls_ready(server, source=locked) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


def test_own_login_does_not_reset_the_address(smtpd):
    """A user with an account could guess another user's password for ever: each successful login of
    their own cleared the count of their address."""
    source, other = fresh_source(), fresh_source()
    with tls_ready(smtpd, source=source) as c:
        for _ in range(4):
            assert c.cmd("AUTH PLAIN " + plain_response(BOB, "guess")) == AUTH_FAILED
    with tls_ready(smtpd, source=source) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK
    with tls_ready(smtpd, source=source) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(BOB, "guess")) == AUTH_FAILED
    with tls_ready(smtpd, source=source) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == THROTTLED
        c.expect_closed()
    # the victim, from another address, still logs in
    with tls_ready(smtpd, source=other) as c:
        assert c.cmd("AUTH PLAIN " + plain_response(BOB, BOB_PASSWORD)) == AUTH_OK


def scram_salt(server, user):
    """The (salt, iterations) of the server-first message for `user`; the exchange is then aborted."""
    with tls_ready(server, source=fresh_source()) as c:
        r = c.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,n={user},r=abcdefghijklmnop"))
        assert r.startswith("334 "), r
        attrs = dict(part.split("=", 1) for part in b64d(r[4:]).decode().split(","))
        assert c.cmd("*") == ABORTED
        return b64d(attrs["s"]), int(attrs["i"])


def test_scram_unknown_user_looks_the_same_across_restarts(make_server):
    """The fake salt of an unknown user came from a key drawn at each start: comparing the salt before and
    after a restart told which users exist."""
    server = make_server()
    ghost, real = scram_salt(server, "ghost@example.com"), scram_salt(server, USER)
    assert ghost[1] == real[1] and len(ghost[0]) == len(real[0])
    assert scram_salt(server, "ghost@example.com") == ghost
    assert scram_salt(server, "ghost2@example.com")[0] != ghost[0]
    server.stop()
    server.start()
    assert scram_salt(server, "ghost@example.com") == ghost
    assert scram_salt(server, USER) == real
    # `subgate user` rebuilds users.cdb: the secret behind the fake salts is kept
    server.add_user("carol@example.com", "carol's password 1", ["carol@example.com"])
    assert scram_salt(server, "carol@example.com")[1] == real[1]
    assert scram_salt(server, "ghost@example.com") == ghost


def fail_for(server, source, user, times):
    """`times` failed logins for `user` from `source` on one connection; returns the reply after them."""
    with tls_ready(server, source=source) as c:
        for _ in range(times):
            assert c.cmd("AUTH PLAIN " + plain_response(user, "guess")) == AUTH_FAILED
        return c.cmd("AUTH PLAIN " + plain_response(user, "guess"))


def test_guarded_account_shuts_out_each_failing_address(make_server):
    """Guessing one account from many addresses: past 10 failures, an address is shut out at its first failure,
    while the account's correct password still logs in from an address that did not fail."""
    server = make_server()
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda a: fail_for(server, a, USER, 5), ["127.0.3.1", "127.0.3.2"])) == [THROTTLED] * 2
    assert fail_for(server, "127.0.3.3", USER, 1) == THROTTLED
    server.wait_log(rf"auth: login lock: account {re.escape(USER)} after 10 failed logins from all addresses")
    server.wait_log(r"auth: login lock: address 127\.0\.3\.3 after 5 failed logins, one for the guarded account ")
    with tls_ready(server, source="127.0.3.4") as c:
        assert c.cmd("AUTH PLAIN " + plain_response(USER, PASSWORD)) == AUTH_OK


def test_table_full_of_locks_tempfails_new_addresses(make_server):
    """64 shut-out addresses fill the table: a new address gets 454 (try later) rather than a lock being
    forgotten to make room for it."""
    server = make_server()
    ghost = "ghost@example.com"
    with ThreadPoolExecutor(2) as pool:  # 10 failures: the name is guarded, each later failure locks its address
        assert list(pool.map(lambda a: fail_for(server, a, ghost, 5), ["127.0.4.1", "127.0.4.2"])) == [THROTTLED] * 2
    with ThreadPoolExecutor(14) as pool:
        assert list(pool.map(lambda i: fail_for(server, f"127.0.4.{i}", ghost, 1), range(3, 65))) == [THROTTLED] * 62
    with tls_ready(server, source="127.0.4.65") as c:
        assert c.cmd("AUTH PLAIN " + plain_response(BOB, BOB_PASSWORD)) == "454 4.7.0 Temporary authentication failure"
    server.wait_log(r"client=\[127\.0\.4\.65\]: every tracked address is shut out")
    with tls_ready(server, source="127.0.4.1") as c:
        assert c.cmd("AUTH PLAIN " + plain_response(BOB, BOB_PASSWORD)) == THROTTLED
