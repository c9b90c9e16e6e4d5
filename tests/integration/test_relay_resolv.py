"""The relay's copies of /etc/hosts and /etc/resolv.conf follow the host's files.

The relay resolves the smarthost's name inside its jail, from SPOOL/etc. The
daemon runs here in a private mount namespace whose /etc/hosts and
/etc/resolv.conf are this test's files (bind mounts; the host's are never
touched), with the smarthost given by name: smarthost.test. At first the name
points at 127.0.0.3, where nothing listens: the message is deferred. Then the
test rewrites its hosts file to 127.0.0.1, and without a signal (the reload
process checks every 200 ms in this test build) the queue replaces the copy,
and after a flush the same relay process delivers: musl reads hosts at every
lookup. A second test checks with a check interval of an hour: SIGHUP alone
replaces both copies. A CONFIG_TEST_HOOKS build (SUBGATE_TEST_RESOLV_CHECK_MS).
"""
import os
import signal

import pytest

from conftest import env_skip
from relaykit import relay_pids, relay_settings
from smtpkit import USER, SubgateServer, make_message, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NAME = "smarthost.test"
# Runs "$@" with this test's files over /etc/hosts and /etc/resolv.conf, in a mount namespace of its own.
NAMESPACE = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"']


@pytest.fixture
def hooks_bin():
    path = os.environ.get("SUBGATE_HOOKS_BIN")
    if not path or not os.access(path, os.X_OK):
        env_skip("SUBGATE_HOOKS_BIN (the CONFIG_TEST_HOOKS build, `make hooks`) not set")
    if os.geteuid() != 0:
        env_skip("needs root (mount namespace)")
    return path


def rewrite(path, text):
    """In place (same inode: the bind mount shows the new text), as an editor or a DHCP client might."""
    with open(path, "r+") as f:
        f.truncate(0)
        f.write(text)


def start(tmp_path, hooks_bin, certs, host, pki, check_ms):
    hosts, resolv = tmp_path / "hosts", tmp_path / "resolv.conf"
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.3 {NAME}\n")
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    server = SubgateServer(tmp_path / "server", hooks_bin, certs,
                           settings=relay_settings(host.port, "tls", NAME, smarthost_pin=pki.localhost.pin,
                                                   retry_min="1h", retry_max="2h"))
    server.env_extra["SUBGATE_TEST_RESOLV_CHECK_MS"] = str(check_ms)
    server.wrapper = [*NAMESPACE, str(hosts), str(resolv)]
    server.start()
    return server, hosts, resolv


def copy(server, name):
    path = server.spool / "etc" / name
    return path.read_text() if path.exists() else None


def test_changed_hosts_file_reaches_the_relay_without_a_signal(tmp_path, hooks_bin, certs, smarthost, pki):
    host = smarthost("tls", cert=pki.localhost)
    server, hosts, _ = start(tmp_path, hooks_bin, certs, host, pki, 200)
    try:
        assert copy(server, "hosts") == hosts.read_text()  # the copy made at start
        with server.session() as c:
            qid = c.submit(USER, ["by-name@example.org"], make_message("by name"))
        server.wait_log(rf"{qid}: to=<by-name@example\.org>, relay={NAME}.*status=deferred")
        relays = relay_pids(server)
        rewrite(hosts, f"127.0.0.1 localhost {NAME}\n")
        server.wait_log(r"queue: /etc/hosts changed: the relay's copy is replaced")
        assert copy(server, "hosts") == hosts.read_text()
        st = os.stat(server.spool / "etc" / "hosts")
        assert (st.st_mode & 0o777) == 0o644
        os.kill(server.pid, signal.SIGUSR1)  # flush
        [t] = host.wait_messages(1)
        assert t.rcpt_tos == ["by-name@example.org"]
        server.wait_log(rf"{qid}: to=<by-name@example\.org>, relay={NAME}\[127\.0\.0\.1\]:{host.port}, .*status=sent")
        assert relay_pids(server) == relays  # the same relay process: no restart was needed
        assert "resolv.conf changed" not in server.log_text()  # only what changed is copied
    finally:
        assert server.close() == 0


def test_sighup_replaces_both_copies(tmp_path, hooks_bin, certs, smarthost, pki):
    host = smarthost("tls", cert=pki.localhost)
    server, hosts, resolv = start(tmp_path, hooks_bin, certs, host, pki, 3600 * 1000)
    try:
        rewrite(hosts, f"127.0.0.1 localhost {NAME}\n192.0.2.7 other.test\n")
        rewrite(resolv, "nameserver 127.0.0.53\n")
        start_at = len(server.log_text())
        os.kill(server.pid, signal.SIGHUP)
        for name in ("hosts", "resolv.conf"):
            server.wait_log(rf"queue: /etc/{name} changed: the relay's copy is replaced", start=start_at)
        assert copy(server, "hosts") == hosts.read_text() and copy(server, "resolv.conf") == resolv.read_text()
    finally:
        assert server.close() == 0
