"""`subgate queue status [--json]`, the paused line of `mailq`, SPOOL/status and the queue's alerts.

Against the real daemon and relaykit smarthosts:
- A message deferred by a 450 (retry in an hour): status says running, names the
  smarthost as configured, its last reply, 1 message queued with its bytes, the
  oldest message's age and the next attempt (text and JSON); SPOOL/status says "ok";
  a non-root caller may not ask.
- A smarthost that refuses our credentials (535), tried several times (retry_max 1s
  so the hold ends and the login is refused again): status says paused and why,
  `mailq` prints "Queue paused: ..." before the listing, SPOOL/status says "paused:",
  and the log has exactly one "mail waits" warning over all the refusals; once the
  credentials are accepted and the mail is delivered, an info line says so and
  SPOOL/status says "ok" again.
- alert_after = 1s and a smarthost that defers: one "mail is late" warning,
  SPOOL/status "late: oldest message Ns old"; the smarthost accepts, the queue
  empties: the clear line, and "ok".
"""

import json
import re

import pytest

from localkit import open_path_for_others, run
from relaykit import SMARTHOST_PASSWORD, SMARTHOST_USER, relay_settings, spool_where, write_secret
from smtpkit import USER, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def queue(server, *args, user=None):
    r = run([server.bin, "queue", *args, "-c", server.conf], user=user)
    r.text = r.stdout.decode(errors="replace")
    return r


def status_file(server):
    try:
        return (server.spool / "status").read_text()
    except FileNotFoundError:
        return None


def wait_status(server, prefix, timeout=15):
    try:
        wait_for(lambda: (status_file(server) or "").startswith(prefix), timeout, what=f"SPOOL/status {prefix!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}; it says {status_file(server)!r}; {queue(server, 'status').text}") from None
    return status_file(server)


def test_status_with_a_deferred_message(make_server, smarthost):
    host = smarthost("plain")
    host.rcpt_replies["later@example.org"] = "450 4.2.0 <later@example.org>: mailbox busy"
    server = make_server(settings=relay_settings(host.port, retry_min="1h", retry_max="2h"))
    with server.session() as c:
        qid = c.submit(USER, ["later@example.org"], make_message("status-marker"))
    wait_for(lambda: spool_where(server, qid) == "defer", 15, what="the message to be deferred")
    size = (server.defer_dir / qid).stat().st_size

    r = queue(server, "status")
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(": ", 1) for line in r.text.splitlines())
    assert lines["state"] == "running (idle)", r.text
    assert lines["smarthost"] == f"127.0.0.1:{host.port}"
    assert lines["last reply"].endswith("450 4.2.0 <later@example.org>: mailbox busy"), r.text
    assert lines["queued"] == f"1 message, {size} bytes"
    assert lines["held"] == "0 messages, 0 bytes"
    assert re.fullmatch(r"\d+s old \(arrived .*\)", lines["oldest"]), r.text
    assert "problem" not in lines
    assert lines["next attempt"] not in ("none", "now"), r.text

    r = queue(server, "status", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.text)
    assert doc["state"] == "running" and doc["delivering"] is False and "paused" not in doc
    assert doc["queued"] == {"count": 1, "bytes": size} and doc["held"] == {"count": 0, "bytes": 0}
    [sh] = doc["smarthosts"]
    assert sh["address"] == f"127.0.0.1:{host.port}" and "mailbox busy" in sh["last_reply"]
    assert doc["next_attempt"] == int((server.defer_dir / qid).stat().st_mtime)
    assert doc["oldest_arrival"] <= doc["now"] and doc["late"] is False and doc["summary"] == "ok"
    assert wait_status(server, "ok") == "ok\n"

    open_path_for_others(server.dir)
    r = queue(server, "status", user="nobody")
    assert (r.returncode, r.text) == (77, ""), r.text
    assert r.stderr == "subgate: only root may control the queue; others may list\n"


def test_refused_credentials_pause_the_queue_and_warn_once(make_server, smarthost, pki, tmp_path):
    host = smarthost("starttls", cert=pki.localhost, auth=(SMARTHOST_USER, SMARTHOST_PASSWORD))
    host.accept_auth = False
    server = make_server(settings=relay_settings(host.port, "starttls", "localhost", smarthost_ca=pki.ca,
                                                 smarthost_auth=write_secret(tmp_path), retry_min="1s",
                                                 retry_max="1s"))
    with server.session() as c:
        qid = c.submit(USER, ["held@example.org"], make_message("paused"))
    line = wait_status(server, "paused: ")
    assert line.startswith("paused: the smarthost refused our credentials (since "), line
    # several refusals (the hold lasts retry_max = 1s), one warning
    wait_for(lambda: len(host.sessions) >= 3, 20, what="three refused logins")
    server.wait_log(r"queue: mail waits: the smarthost refused our credentials")
    assert len(re.findall(r"queue: mail waits:", server.log_text())) == 1

    r = queue(server, "list")
    assert r.returncode == 0, r.stderr
    assert r.text.splitlines()[0] == "Queue paused: the smarthost refused our credentials", r.text
    assert qid in r.text
    r = queue(server, "list", "--json")
    assert "paused" not in json.loads(r.text)
    r = queue(server, "status", "--json")
    doc = json.loads(r.text)
    assert doc["paused"]["reason"] == "the smarthost refused our credentials", doc
    assert doc["paused"]["since"] is not None and doc["summary"].startswith("paused: ")
    assert "535" in doc["smarthosts"][0]["last_reply"]

    host.accept_auth = True
    server.flush()
    host.wait_messages(1, timeout=15)
    server.wait_log(r"queue: the smarthost accepts our credentials again")
    assert wait_status(server, "ok") == "ok\n"
    assert len(re.findall(r"queue: mail waits:", server.log_text())) == 1
    r = queue(server, "list")
    assert not r.text.startswith("Queue paused"), r.text


def test_late_mail_warns_once_and_clears(make_server, smarthost):
    host = smarthost("plain")
    host.rcpt_replies["late@example.org"] = "451 4.3.0 <late@example.org>: try later"
    server = make_server(settings=relay_settings(host.port, retry_min="1s", retry_max="1s", alert_after="1s"))
    with server.session() as c:
        c.submit(USER, ["late@example.org"], make_message("late"))
    line = wait_status(server, "late: ")
    assert re.fullmatch(r"late: oldest message \d+s old\n", line), line
    server.wait_log(r"queue: mail is late: the oldest message is \d+s old \(alert_after 1s\); 1 message queued")
    wait_for(lambda: server.log_text().count("status=deferred (451") >= 3, 20, what="three attempts")
    assert len(re.findall(r"queue: mail is late:", server.log_text())) == 1

    del host.rcpt_replies["late@example.org"]
    host.wait_messages(1, timeout=15)
    server.wait_log(r"queue: no message is older than alert_after any more")
    assert wait_status(server, "ok") == "ok\n"
    assert len(re.findall(r"queue: mail is late:", server.log_text())) == 1
