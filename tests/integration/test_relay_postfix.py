"""The relay against a real Postfix on loopback, configured as a provider's
submission server: STARTTLS required, SASL PLAIN/LOGIN against a Cyrus sasldb,
relaying only for authenticated clients. A private instance (`postfix -c DIR`)
in its own directories, on a free port; the system's mail configuration is
never touched (Debian's postfix is installed with "No configuration"). Postfix
discards what it accepts after logging it, which is what the test reads.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from relaykit import write_secret
from smtpkit import USER, make_message, wait_for

SASL_USER, SASL_REALM, SASL_PASSWORD = "relayuser", "smarthost.test", "postfix-relay-pw"

MASTER_CF = """{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postfix:
    def __init__(self):
        if shutil.which("postfix") is None or shutil.which("saslpasswd2") is None:
            pytest.fail("postfix and sasl2-bin are missing: scripts/apt-need.sh postfix sasl2-bin libsasl2-modules")
        self.dir = Path(tempfile.mkdtemp(prefix="subgate-postfix-"))
        self.dir.chmod(0o755)  # Postfix's unprivileged processes read below it
        self.etc, self.port, self.log = self.dir / "etc", free_port(), self.dir / "maillog"
        for d in ("etc/sasl", "spool", "data"):
            (self.dir / d).mkdir(parents=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", str(self.dir / "key.pem"), "-out", str(self.dir / "cert.pem")],
                       check=True, capture_output=True, timeout=60)
        (self.etc / "main.cf").write_text("\n".join([
            "compatibility_level = 3.6", f"queue_directory = {self.dir}/spool", f"data_directory = {self.dir}/data",
            "mail_owner = postfix", "setgid_group = postdrop", "inet_interfaces = 127.0.0.1", "inet_protocols = ipv4",
            f"myhostname = {SASL_REALM}", "mydestination =", f"smtpd_tls_cert_file = {self.dir}/cert.pem",
            f"smtpd_tls_key_file = {self.dir}/key.pem", "smtpd_tls_security_level = encrypt",
            "smtpd_tls_auth_only = yes", "smtpd_sasl_auth_enable = yes", "smtpd_sasl_type = cyrus",
            "smtpd_sasl_path = smtpd", f"smtpd_sasl_local_domain = {SASL_REALM}",
            "smtpd_relay_restrictions = permit_sasl_authenticated, reject",
            "smtpd_recipient_restrictions = permit_sasl_authenticated, reject",
            "default_transport = discard", "relay_transport = discard", f"maillog_file = {self.log}",
            f"maillog_file_prefixes = {self.dir}", "",
        ]))
        (self.etc / "master.cf").write_text(MASTER_CF.format(port=f"127.0.0.1:{self.port}"))
        # Debian's Postfix reads $config_directory/sasl/smtpd.conf
        (self.etc / "sasl" / "smtpd.conf").write_text(
            f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: {self.dir}/sasldb2\n")
        subprocess.run(["saslpasswd2", "-f", str(self.dir / "sasldb2"), "-p", "-c", "-u", SASL_REALM, SASL_USER],
                       input=SASL_PASSWORD, text=True, check=True, timeout=30)
        shutil.chown(self.dir / "sasldb2", user="postfix")
        shutil.chown(self.dir / "data", user="postfix")
        r = subprocess.run(["postfix", "-c", str(self.etc), "start"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"postfix start: {r.stdout}{r.stderr}"
        wait_for(self.listening, 15, what="postfix to listen")

    def listening(self):
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def processes(self):
        """Pids of the processes working in this instance's directories (Postfix's daemons chdir to its queue)."""
        root = str(self.dir)
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:  # gone, or a zombie
                continue
            if cwd == root or cwd.startswith(root + "/"):
                out.append(int(pid))
        return out

    def stop(self):
        subprocess.run(["postfix", "-c", str(self.etc), "stop"], capture_output=True, timeout=60)
        wait_for(lambda: not self.listening(), 15, what="postfix to stop")
        wait_for(lambda: not self.processes(), 15, what=f"postfix's processes {self.processes()} to exit")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postfix():
    instance = Postfix()
    yield instance
    instance.stop()


def test_relay_to_real_postfix_with_starttls_and_sasl(make_server, tmp_path, postfix):
    assert postfix.processes(), "Postfix's daemons are not found by their working directory"
    write_secret(tmp_path, SASL_USER, SASL_PASSWORD)
    shutil.copy(postfix.dir / "cert.pem", tmp_path / "postfix-ca.pem")  # its own certificate, trusted as a CA
    server = make_server(settings={"smarthost": f"[localhost]:{postfix.port}", "smarthost_tls": "starttls",
                                   "smarthost_ca": str(tmp_path / "postfix-ca.pem"),
                                   "smarthost_auth": str(tmp_path / "smarthost.secret"), "retry_min": "1s",
                                   "retry_max": "2s", "relay_timeout": "20"})
    ids = []
    with server.session() as c:
        for i in range(3):
            ids.append(c.submit(USER, ["rcpt@example.org"], make_message(f"postfix-{i}")))
    for qid in ids:
        m = wait_sent(server, postfix, qid)
        pf_id = m.group(1)
        wait_for(lambda: f"{pf_id}: client=localhost[127.0.0.1], sasl_method=PLAIN, "
                         f"sasl_username={SASL_USER}@{SASL_REALM}" in postfix.log_text(), 15,
                 what="postfix to log the authenticated client")
        server.wait_log(rf"{qid}: removed")
    assert server.log_text().count("relay: connected to") == 1  # one connection, one login, three messages
    assert len(re.findall(r"message-id=<[^>]+>", postfix.log_text())) >= 3


def wait_sent(server, postfix, qid):
    try:
        return server.wait_log(rf"{qid}: to=<rcpt@example\.org>, relay=localhost\[127\.0\.0\.1\]:{postfix.port}, "
                            rf"delay=\d+s, tls=TLSv1\.2/\S+, status=sent \(250 2\.0\.0 Ok: queued as (\w+)\)",
                            timeout=30)
    except AssertionError:
        pytest.fail(f"not delivered to Postfix; subgate log:\n{server.log_text()[-2500:]}\n"
                    f"postfix log:\n{postfix.log_text()[-2500:]}")
