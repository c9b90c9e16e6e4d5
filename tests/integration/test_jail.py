"""The jail (issue #5): every process unprivileged, chrooted and filtered; the TLS key only in auth.

- /proc/PID/status of every subgate process (master, auth, queue, relay keeper, relay worker and a
  live session): no uid or gid 0, no supplementary groups, NoNewPrivs 1, Seccomp 2; /proc/PID/root
  is the role's jail (spool/empty, the users.cdb directory, the spool); the account is run_as
  (nobody), or with CONFIG_SANDBOX_SEPARATE_UIDS run_as-session for the master and its sessions and
  run_as-relay for the relay keeper and its worker (`make test-separate-uids` makes those accounts).
- No process holds what is not its own: only the queue has the spool's directories open, and a
  session holds none of the master's channels. SIGTERM takes every process down within seconds.
- With CONFIG_SANDBOX_SEPARATE_UIDS, the credentials of the session, master, relay keeper and relay
  processes cannot open a committed message even from inside the spool (those of the queue can).
- The private key's bytes are not in a session's memory (read through /proc/PID/mem while the
  session is logged in); the same search finds them in `auth`, so the search itself works.
- With the test build (CONFIG_TEST_HOOKS, $SUBGATE_HOOKS_BIN): a session that attempts execve,
  socket, connect, open or ptrace dies of SIGSYS, its client sees the connection drop, the master
  logs it and the next client is served; `auth` cannot write anywhere (SIGSYS takes the daemon
  down, exit 70); `queue` cannot open a socket; the relay cannot see users.cdb (and, with
  CONFIG_SANDBOX_SEPARATE_UIDS, cannot open a spool file inside its jail).
"""
import os
import pwd
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from smtpkit import USER, ConnectionClosed, SubgateServer, built_with, children_of, make_message, pid_alive, wait_for

RUN_AS = "nobody"  # smtpkit.SubgateServer's run_as

SIGSYS = int(signal.SIGSYS)


def status_fields(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.split()
    return out


def all_processes(server):
    """{role: [pids]} of a running server: master, its children, the relay keeper's worker."""
    roles = {"master": [server.pid], "auth": [server.auth_pid], "queue": [server.queue_pid],
             "relay keeper": [server.keeper_pid], "reload": [server.reload_pid]}
    roles["relay"] = children_of(server.keeper_pid)
    roles["session"] = server.session_pids()
    return roles


def separate_uids(binary):
    return built_with(binary, "SANDBOX_SEPARATE_UIDS")


def role_accounts(binary):
    """{role: (uid, gid)}: run_as for every role, or with CONFIG_SANDBOX_SEPARATE_UIDS run_as-session for
    the master and its sessions and run_as-relay for the relay keeper and its worker."""
    main = session = relay = pwd.getpwnam(RUN_AS)
    if separate_uids(binary):
        session, relay = pwd.getpwnam(f"{RUN_AS}-session"), pwd.getpwnam(f"{RUN_AS}-relay")
        assert len({main.pw_uid, session.pw_uid, relay.pw_uid}) == 3, "the three accounts must differ"
    accounts = {"master": session, "session": session, "auth": main, "queue": main, "reload": main,
                "relay keeper": relay, "relay": relay}
    return {role: (pw.pw_uid, pw.pw_gid) for role, pw in accounts.items()}


def test_every_process_is_unprivileged_chrooted_and_filtered(make_server, subgate_bin):
    server = make_server()
    accounts = role_accounts(subgate_bin)
    with server.session() as c:
        roles = all_processes(server)
        assert len(roles["session"]) == 1 and len(roles["relay"]) == 1, roles
        spool = os.path.realpath(server.spool)
        want_root = {"master": f"{spool}/empty", "session": f"{spool}/empty", "auth": str(server.dir.resolve()),
                     "queue": spool, "relay keeper": spool, "relay": spool, "reload": "/"}
        for role, pids in roles.items():
            for pid in pids:
                st = status_fields(pid)
                assert all(int(u) != 0 for u in st["Uid"]), (role, st["Uid"])
                assert all(int(g) != 0 for g in st["Gid"]), (role, st["Gid"])
                uid, gid = accounts[role]
                assert [int(u) for u in st["Uid"]] == [uid] * 4, (role, st["Uid"], uid)  # real, effective, saved, fs
                assert [int(g) for g in st["Gid"]] == [gid] * 4, (role, st["Gid"], gid)
                assert st.get("Groups", []) == [], (role, st["Groups"])
                assert st["NoNewPrivs"] == ["1"], (role, st["NoNewPrivs"])
                assert st["Seccomp"] == ["2"], (role, st["Seccomp"])
                assert os.readlink(f"/proc/{pid}/root") == want_root[role], role
                # only the reload process keeps a power of root: reading files (CAP_DAC_READ_SEARCH, 1 << 2)
                caps = 1 << 2 if role == "reload" else 0
                for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
                    assert int(st[field][0], 16) in (0, caps) and (field != "CapEff" or int(st[field][0], 16) == caps), \
                        (role, field, st[field])
                if role == "reload":
                    assert int(st["CapBnd"][0], 16) == caps, st["CapBnd"]
        assert c.cmd("NOOP").startswith("250")
    assert sorted(os.listdir(server.spool / "empty")) == []
    assert (server.spool / "empty").stat().st_uid == 0


def open_files(pid):
    """{fd: what /proc/PID/fd/FD names} of a live process."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass  # closed meanwhile
    return out


def test_only_the_queue_holds_the_spool_and_a_session_no_channel_of_the_master(make_server):
    """Regressions: auth, the relay and the reload process kept the master's spool directories open (with
    them, openat(2) reaches every message past the chroot), and sessions its channel to the reload process."""
    server = make_server()
    with server.session() as c:
        spool = os.path.realpath(server.spool)
        files = {(role, pid): open_files(pid) for role, pids in all_processes(server).items() for pid in pids}
        for (role, pid), fds in files.items():
            in_spool = sorted(p for p in fds.values() if p == spool or p.startswith(spool + "/"))
            if role == "queue":
                assert f"{spool}/queue" in in_spool, in_spool
            else:
                assert in_spool == [], (role, in_spool)
        master = {p for p in files[("master", server.pid)].values() if p.startswith("socket:")}
        for (role, pid), fds in files.items():
            if role == "session":
                held = {p for p in fds.values() if p.startswith("socket:")}
                assert held and not held & master, (held, master)
        assert c.cmd("NOOP").startswith("250")


def test_sigterm_stops_every_process_at_once(make_server):
    """Regression (CONFIG_SANDBOX_SEPARATE_UIDS): the master's kill(2), and the kernel's parent-death signal,
    cannot reach children of another uid; they must still go when the master does."""
    server = make_server()
    with server.session() as c:
        assert c.cmd("NOOP").startswith("250")
        pids = [pid for pids in all_processes(server).values() for pid in pids]
    started = time.monotonic()
    assert server.stop() == 0  # it also waits up to 10 s for the master's children
    wait_for(lambda: not any(pid_alive(p) for p in pids), 10, what=f"every process of {pids} to exit")
    assert time.monotonic() - started < 4, f"stopping took {time.monotonic() - started:.1f} s"


def _open_in_spool(spool, name, uid, gid):
    """In a child chrooted to the spool (as the relay and the queue are) with exactly these credentials
    (no supplementary groups): open(name) for reading. Returns 0 or the errno."""
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            os.chroot(spool)
            os.chdir("/")
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.close(os.open(name, os.O_RDONLY))
            code = 0
        except OSError as e:
            code = e.errno or 255
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_separate_uids_keep_sessions_and_the_relay_out_of_the_spool(make_server, subgate_bin):
    """CONFIG_SANDBOX_SEPARATE_UIDS: were the chroot and the filter gone, the credentials of a session (and of
    the master that forks them) and of the relay still could not read a message; the queue's can."""
    if not separate_uids(subgate_bin):
        pytest.skip("built without CONFIG_SANDBOX_SEPARATE_UIDS")
    server = make_server()
    with server.session() as c:
        qid = c.submit(USER, ["uids@example.org"], make_message("out of the session's reach"))
        roles = all_processes(server)
        name = f"/{server.spool_file(qid).path.relative_to(server.spool)}"
        for role in ("session", "master", "relay keeper", "relay", "queue"):
            st = status_fields(roles[role][0])
            uid, gid = int(st["Uid"][1]), int(st["Gid"][1])
            want = 0 if role == "queue" else 13  # EACCES
            assert _open_in_spool(server.spool, name, uid, gid) == want, (role, uid, gid, name)


def test_check_names_the_separate_accounts(make_server, subgate_bin):
    """CONFIG_SANDBOX_SEPARATE_UIDS: `subgate check` wants run_as-session and run_as-relay, with file and line."""
    if not separate_uids(subgate_bin):
        pytest.skip("built without CONFIG_SANDBOX_SEPARATE_UIDS")
    server = make_server(start=False)
    ok = subprocess.run([subgate_bin, "check", "-c", server.conf], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr  # nobody-session and nobody-relay exist (make test-separate-uids)
    server.conf.write_text(server.conf.read_text().replace("run_as = nobody", "run_as = daemon"))
    r = subprocess.run([subgate_bin, "check", "-c", server.conf], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    line = next(i for i, text in enumerate(server.conf.read_text().splitlines(), 1) if text.startswith("run_as"))
    for account, role in (("daemon-session", "session"), ("daemon-relay", "relay")):
        assert (f"{server.conf}:{line}: run_as: no such account '{account}' (this build runs {role} processes "
                "as it)") in r.stderr, r.stderr


def _key_secrets(key_path):
    """The private scalar (EC) or primes (RSA) as bytes: what must never be in a session."""
    key = load_pem_private_key(Path(key_path).read_bytes(), password=None)
    numbers = key.private_numbers()
    if hasattr(numbers, "private_value"):
        n = numbers.private_value
        return [n.to_bytes((key.curve.key_size + 7) // 8, "big")]
    size = (numbers.p.bit_length() + 7) // 8
    return [numbers.p.to_bytes(size, "big"), numbers.q.to_bytes(size, "big")]


def _memory_contains(pid, needles):
    """Searches every readable mapping of a live process for any of the byte strings."""
    found = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            start, end = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            found += [n for n in needles if n in chunk]
    return found


@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_private_key_is_not_in_session_memory(make_server, key):
    server = make_server(key=key)
    secrets = _key_secrets(server.dir / "key.pem")
    pem_body = (server.dir / "key.pem").read_text().splitlines()[1].encode()
    with server.session() as c:  # TLS handshake signed by auth, then AUTH PLAIN
        assert c.cmd("NOOP").startswith("250")
        session = server.session_pids()
        assert len(session) == 1
        assert _memory_contains(session[0], secrets + [pem_body]) == []
        assert _memory_contains(server.pid, secrets + [pem_body]) == []
        # the search works: auth holds the key
        assert _memory_contains(server.auth_pid, secrets) != []


# --- with the test build (CONFIG_TEST_HOOKS; hooks_server in conftest.py) ------------------------


def test_hook_itself_answers_when_the_action_is_harmless(hooks_server):
    server = hooks_server().start()
    with server.session() as c:
        assert c.cmd("XHOOK no-such-action") == "250 test hook: no-such-action: Invalid argument"


@pytest.mark.parametrize("action", ["execve", "socket", "connect:{port}", "open-read:/etc/passwd",
                                    "open-write:/x", "ptrace"])
def test_forbidden_syscall_kills_the_session_and_the_next_client_is_served(hooks_server, action):
    server = hooks_server().start()
    start = len(server.log_text())
    c = server.session()
    try:
        pid = server.session_pids()[0]
        c.send("XHOOK " + action.format(port=server.port) + "\r\n")
        with pytest.raises((ConnectionClosed, ConnectionResetError, BrokenPipeError)):
            c.reply()
    finally:
        c.close()
    server.wait_log(rf"session process {pid} for \[127\.0\.0\.1\] killed by signal {SIGSYS} "
                    r"\(a forbidden system call: seccomp\)", start=start)
    assert server.proc.poll() is None
    with server.session() as c:
        qid = c.submit(USER, ["next@example.org"], make_message("after the kill"))
    assert qid in server.queue_ids()


def start_and_expect_exit(server, code=70):
    """Starts a server whose hook kills a long-lived child: the master must stop with `code`."""
    try:
        server.start()
    except AssertionError as e:  # it may die before or after "subgate ready"
        assert f"exited with {code}" in str(e), e
    assert server.proc.wait(timeout=15) == code, server.log_text()
    server.proc = None
    server.log_fh.close()


def test_auth_cannot_write_anything(hooks_server):
    server = hooks_server(hook="auth:open-write:/users.cdb")
    start_and_expect_exit(server)
    assert re.search(rf"auth process \(pid \d+\) died \(signal {SIGSYS}, a forbidden system call: seccomp\)",
                     server.log_text())


@pytest.mark.parametrize("hook", ["reload:open-write:/tmp/subgate-reload-probe", "reload:socket", "reload:execve"])
def test_reload_process_only_reads(hooks_server, hook):
    server = hooks_server(hook=hook)
    start_and_expect_exit(server)
    assert re.search(rf"reload process \(pid \d+\) died \(signal {SIGSYS}, a forbidden system call: seccomp\)",
                     server.log_text())
    assert not os.path.exists("/tmp/subgate-reload-probe")


def test_reload_process_reads_root_only_files(hooks_server):
    server = hooks_server(hook="reload:open-read:/etc/shadow")  # root's 0640 file: CAP_DAC_READ_SEARCH reads it
    server.start()
    server.wait_log(r"reload test hook: open-read:/etc/shadow: succeeded")
    assert server.proc.poll() is None


def test_queue_cannot_reach_the_network(hooks_server):
    server = hooks_server(hook="queue:socket")
    start_and_expect_exit(server)
    assert re.search(rf"queue process \(pid \d+\) died \(signal {SIGSYS}", server.log_text())


def test_relay_cannot_see_the_user_database(hooks_server, hooks_bin):
    probe = "relay:open-read:{users}"
    server = hooks_server()
    users = str((server.dir / "users.cdb").resolve())
    assert os.path.exists(users)
    server.env_extra["SUBGATE_TEST_HOOK"] = probe.format(users=users)
    server.start()
    # the path leads into the spool's tmp/ (the relay's root is the spool): the queue's account may
    # enter it, the relay's own account (CONFIG_SANDBOX_SEPARATE_UIDS) may not
    why = "Permission denied" if separate_uids(hooks_bin) and users.startswith("/tmp/") else "No such file or directory"
    server.wait_log(rf"relay test hook: open-read:{re.escape(users)}: {why}")
    assert not os.path.exists(f"/proc/{server.relay_pid}/root{users}")
    assert server.proc.poll() is None


def test_relay_cannot_open_a_spool_file_with_separate_uids(hooks_server, hooks_bin):
    """CONFIG_SANDBOX_SEPARATE_UIDS: the relay's filter lets it open files read-only, and its root is the
    spool; its own account is what keeps it out of the messages."""
    if not separate_uids(hooks_bin):
        pytest.skip("built without CONFIG_SANDBOX_SEPARATE_UIDS")
    server = hooks_server(hook="relay:open-read:/hold/0000000000000001")
    held = server.spool / "hold" / "0000000000000001"
    held.parent.mkdir(parents=True)
    held.write_bytes(b"subgate-spool 1\n")
    held.chmod(0o600)  # the jail gives it (and hold/, 0700) to the queue's account
    server.start()
    server.wait_log(r"relay test hook: open-read:/hold/0000000000000001: Permission denied")
    assert held.stat().st_uid == pwd.getpwnam(RUN_AS).pw_uid
    assert server.proc.poll() is None


def test_auth_sees_only_its_directory(make_server):
    server = make_server()
    root = Path(f"/proc/{server.auth_pid}/root")
    assert (root / "users.cdb").exists()
    assert not (root / "etc" / "passwd").exists()


def test_a_spool_file_the_queue_cannot_open_goes_to_corrupt(make_server):
    """Regression: a root-owned file dropped into queue/ made the scheduler spin forever."""
    server = make_server()
    qid = "0000000000000001"
    bad = server.spool / "queue" / qid
    bad.write_bytes(b"subgate-spool 1\n")
    bad.chmod(0o600)  # root's: the jailed queue (nobody) cannot open it
    server.flush()
    server.wait_log(rf"{qid}: cannot open the spool file \(Permission denied\); moved to corrupt/")
    assert (server.spool / "corrupt" / qid).exists() and not bad.exists()
    with server.session() as c:  # the queue still answers
        assert c.submit(USER, ["after@example.org"], make_message("after the bad file")) in server.queue_ids()


def test_daemon_logs_to_syslog_from_inside_the_jail(hooks_server, tmp_path):
    """Without -f the daemon detaches and logs through its own /dev/log client (test builds may name
    the socket): every role's lines arrive, none of them trips a seccomp filter."""
    import socket
    import subprocess
    import time
    from smtpkit import _env

    sock_path = str(tmp_path / "log.sock")
    logs = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    logs.bind(sock_path)
    logs.settimeout(0.2)
    server = hooks_server()
    env = {**_env(), "SUBGATE_LOG_SOCKET": sock_path}
    assert subprocess.run([server.bin, "serve", "-c", str(server.conf)], env=env, timeout=15).returncode == 0
    pid_file = server.dir / "subgate.pid"
    lines = []

    def collect(pattern):
        deadline = time.time() + 10
        while time.time() < deadline:
            if any(re.search(pattern, line) for line in lines):
                return True
            try:
                lines.append(logs.recv(2048).decode())
            except socket.timeout:
                pass
        raise AssertionError(f"no syslog line /{pattern}/ in {lines}")

    try:
        collect(r"^<22>subgate\[\d+\]: subgate ready: .*jailed$")  # mail.info
        collect(r"auth: user database .* loaded")
        with server.session() as c:
            c.submit(USER, ["syslog@example.org"], make_message("via syslog"))
        collect(r"connect from \[127\.0\.0\.1\]")
        collect(r"from=<alice@example\.com>, size=\d+, nrcpt=1")
        assert not any("signal" in line for line in lines), lines
    finally:
        master = int(pid_file.read_text() or 0) if pid_file.exists() else 0
        if master > 1:
            os.kill(master, signal.SIGTERM)
            wait_for(lambda: not os.path.exists(f"/proc/{master}"), 10, what="the daemon to stop")
        logs.close()
