"""`subgate user add|passwd|del|list` and the users.cdb it writes.

Covers: the CDB file format and the record "scram-sha-256 ITER SALT STOREDKEY
SERVERKEY [SENDER...]" (read back with a small pure-Python CDB reader and
verified with hashlib/hmac against the password that was set), senders
(--sender ADDR|@DOMAIN, the NAME-with-@ default, list output), passwd (new
salt, new password verifies, old one does not, other records untouched), del,
the database path from --db or from `users` of -c FILE (a file that names
only `users` will do, but is read as strictly as by the daemon), the password from
--stdin, and from the controlling terminal (prompts, no echo, mismatching
retype) through a pseudo-terminal; the fake-salt record (key "\\0fake-salt") that
every edit writes and keeps. Every failing command is checked to leave
the database directory byte-for-byte unchanged, without temporary files.
"""

import base64
import hashlib
import hmac
import os
import re
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import EX_CONFIG, EX_DATAERR, EX_NOINPUT, EX_NOUSER, EX_USAGE, SITE_PASSWORD, SITE_USER

# --- a tiny CDB reader ------------------------------------------------------------


def cdb_hash(key):
    h = 5381
    for c in key:
        h = ((h << 5) + h) & 0xFFFFFFFF
        h ^= c
    return h


def read_cdb(path):
    """[(key, value)] in file order; also checks that every key is found through the hash tables."""
    data = path.read_bytes()
    assert len(data) >= 2048, f"{path}: shorter than the CDB header"
    header = struct.unpack_from("<512I", data, 0)
    tables = [(header[2 * i], header[2 * i + 1]) for i in range(256)]
    end = min(pos for pos, _ in tables)
    assert 2048 <= end <= len(data)
    records, pos = [], 2048
    while pos < end:
        klen, vlen = struct.unpack_from("<II", data, pos)
        pos += 8
        key, value = data[pos:pos + klen], data[pos + klen:pos + klen + vlen]
        assert len(key) == klen and len(value) == vlen, "truncated record"
        records.append((key, value))
        pos += klen + vlen
    assert pos == end, "records overrun the hash tables"
    for key, value in records:
        assert cdb_lookup(data, tables, key) == value, f"{key!r} not found through the hash table"
    return records


def cdb_lookup(data, tables, key):
    h = cdb_hash(key)
    tpos, tlen = tables[h & 255]
    if tlen == 0:
        return None
    slot = (h >> 8) % tlen
    for _ in range(tlen):
        hval, rpos = struct.unpack_from("<II", data, tpos + 8 * slot)
        if rpos == 0:
            return None
        if hval == h:
            klen, vlen = struct.unpack_from("<II", data, rpos)
            if data[rpos + 8:rpos + 8 + klen] == key:
                return data[rpos + 8 + klen:rpos + 8 + klen + vlen]
        slot = (slot + 1) % tlen
    return None


FAKE_KEY = b"\0fake-salt"


def fake_record(path):
    """The fake-salt record (ITER, SALT_LEN, secret): present once, well-formed."""
    values = [v for k, v in read_cdb(path) if k == FAKE_KEY]
    assert len(values) == 1, values
    m = re.fullmatch(rb"fake-salt-v1 ([1-9]\d*) ([1-9]\d*) ([A-Za-z0-9+/]{43}=)", values[0])
    assert m, values[0]
    return int(m[1]), int(m[2]), base64.b64decode(m[3])


def db_dict(path):
    """The users' records by name (without the fake-salt record, which must be there)."""
    fake_record(path)
    records = [(k, v) for k, v in read_cdb(path) if k != FAKE_KEY]
    keys = [k for k, _ in records]
    assert len(keys) == len(set(keys)), "duplicate key in the database"
    return {k.decode(): v.decode() for k, v in records}


# --- SCRAM-SHA-256 records -----------------------------------------------------------


class Record:
    def __init__(self, text):
        fields = text.split(" ")
        assert len(fields) >= 5, text
        assert fields[0] == "scram-sha-256", text
        assert re.fullmatch(r"[1-9]\d*", fields[1]), text
        self.iterations = int(fields[1])
        self.salt = base64.b64decode(fields[2], validate=True)
        self.stored_key = base64.b64decode(fields[3], validate=True)
        self.server_key = base64.b64decode(fields[4], validate=True)
        for f in fields[2:5]:  # canonical padded base64
            assert base64.b64encode(base64.b64decode(f)).decode() == f, text
        assert len(self.stored_key) == 32 and len(self.server_key) == 32, text
        self.senders = fields[5:]

    def verifies(self, password):
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        server = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        ok_stored = hmac.compare_digest(stored, self.stored_key)
        ok_server = hmac.compare_digest(server, self.server_key)
        assert ok_stored == ok_server, "StoredKey and ServerKey disagree"
        return ok_stored


def record_of(db, name):
    entries = db_dict(db)
    assert name in entries, f"{name} not in {sorted(entries)}"
    return Record(entries[name])


# --- helpers -----------------------------------------------------------------------------


def snapshot(directory):
    """{file name: sha256} of everything in the directory (temp files included)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def build(subgate):
    r = subgate("version")
    settings = dict(re.findall(r"^  ([A-Z0-9_]+)=(.*)$", r.stdout, re.M))
    return {k: v.strip('"') for k, v in settings.items()}


@pytest.fixture
def db(tmp_path, subgate):
    """users.cdb with alice@example.com (@example.com) and bob (bob@example.org, @example.net)."""
    d = tmp_path / "db"
    d.mkdir()
    path = d / "users.cdb"
    r = subgate("user", "add", "alice@example.com", "--sender", "@example.com", "--stdin", "--db", path,
                input="alice-pw\n")
    assert r.returncode == 0, r.stderr
    r = subgate("user", "add", "bob", "--sender", "bob@example.org", "--sender", "@example.net", "--stdin",
                "--db", path, input="bob-pw\n")
    assert r.returncode == 0, r.stderr
    return path


def add(subgate, path, name, password, *extra):
    return subgate("user", "add", name, *extra, "--stdin", "--db", path, input=password + "\n")


# --- add / list ----------------------------------------------------------------------------


def test_add_writes_a_verifiable_scram_record(subgate, tmp_path, build):
    path = tmp_path / "users.cdb"
    r = add(subgate, path, "carol", "Pa55 word!", "--sender", "carol@example.com")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert snapshot(tmp_path).keys() == {"users.cdb"}, "temporary file left behind"
    assert path.stat().st_mode & 0o007 == 0, "the user database must not be readable by others"
    rec = record_of(path, "carol")
    assert rec.iterations == int(build["AUTH_PBKDF2_ITERATIONS"]) == 4096
    assert len(rec.salt) == int(build["AUTH_SALT_LEN"])
    assert rec.senders == ["carol@example.com"]
    assert rec.verifies("Pa55 word!")
    assert not rec.verifies("Pa55 word")
    assert not rec.verifies("pa55 word!")


def test_each_add_uses_a_fresh_salt(subgate, tmp_path):
    path = tmp_path / "users.cdb"
    for name in ("u1", "u2"):
        assert add(subgate, path, name, "same password").returncode == 0
    r1, r2 = record_of(path, "u1"), record_of(path, "u2")
    assert r1.salt != r2.salt
    assert r1.stored_key != r2.stored_key
    assert r1.verifies("same password") and r2.verifies("same password")


def test_db_fixture_records(db):
    entries = db_dict(db)
    assert sorted(entries) == ["alice@example.com", "bob"]
    assert Record(entries["alice@example.com"]).senders == ["@example.com"]
    assert Record(entries["bob"]).senders == ["bob@example.org", "@example.net"]
    assert Record(entries["alice@example.com"]).verifies("alice-pw")
    assert Record(entries["bob"]).verifies("bob-pw")
    assert not Record(entries["bob"]).verifies("alice-pw")


def test_fake_salt_record_kept_across_edits(subgate, db):
    """The secret behind unknown users' SCRAM salts is made once and survives every edit; its iteration count
    and salt length are those of the real records."""
    iterations, salt_len, secret = fake_record(db)
    real = Record(db_dict(db)["bob"])
    assert (iterations, salt_len) == (real.iterations, len(real.salt))
    assert add(subgate, db, "carol", "pw").returncode == 0
    assert subgate("user", "del", "bob", "--db", db).returncode == 0
    assert fake_record(db) == (iterations, salt_len, secret)


def test_list(subgate, db):
    assert add(subgate, db, "nosender", "pw").returncode == 0
    r = subgate("user", "list", "--db", db)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted([
        "alice@example.com\t@example.com",
        "bob\tbob@example.org @example.net",
        "nosender\t(no allowed sender)",
    ])


def test_name_with_at_may_send_as_itself(subgate, tmp_path):
    path = tmp_path / "users.cdb"
    r = add(subgate, path, "dave@example.org", "pw")
    assert r.returncode == 0, r.stderr
    assert "may send as dave@example.org" in r.stderr
    assert record_of(path, "dave@example.org").senders == ["dave@example.org"]
    r = subgate("user", "list", "--db", path)
    assert r.stdout == "dave@example.org\tdave@example.org\n"


def test_name_without_at_and_no_sender_warns(subgate, tmp_path):
    path = tmp_path / "users.cdb"
    r = add(subgate, path, "erin", "pw")
    assert r.returncode == 0, r.stderr
    assert "erin has no allowed sender" in r.stderr
    assert record_of(path, "erin").senders == []
    assert subgate("user", "list", "--db", path).stdout == "erin\t(no allowed sender)\n"


def test_explicit_sender_overrides_name(subgate, tmp_path):
    path = tmp_path / "users.cdb"
    assert add(subgate, path, "frank@example.org", "pw", "--sender", "f@example.com").returncode == 0
    assert record_of(path, "frank@example.org").senders == ["f@example.com"]


@pytest.mark.parametrize("name", ["a", "A.b_c+d-e@f.example", "9lives", "x" * 64])
def test_valid_names(subgate, tmp_path, name):
    path = tmp_path / "users.cdb"
    r = add(subgate, path, name, "pw", "--sender", "@example.com")
    assert r.returncode == 0, r.stderr
    assert record_of(path, name).verifies("pw")


@pytest.mark.parametrize("stdin,password", [
    ("with spaces  \n", "with spaces  "),
    ("crlf\r\n", "crlf"),
    ("no newline", "no newline"),
    ("first\nsecond\n", "first"),
    ("p" * 256 + "\n", "p" * 256),
    ("ünïcödé\n", "ünïcödé"),
])
def test_password_from_stdin(subgate, tmp_path, stdin, password):
    path = tmp_path / "users.cdb"
    r = subgate("user", "add", "gina", "--stdin", "--db", path, input=stdin)
    assert r.returncode == 0, r.stderr
    assert record_of(path, "gina").verifies(password)


def test_db_path_from_config(subgate, site, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subgate("user", "add", "henry", "--sender", "henry@example.com", "--stdin", "-c", site.conf,
                input="henry-pw\n", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert list(elsewhere.iterdir()) == []
    assert record_of(site.users, "henry").verifies("henry-pw")
    assert record_of(site.users, SITE_USER).verifies(SITE_PASSWORD)
    r = subgate("user", "list", "-c", site.conf, cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == [f"{SITE_USER}\t@example.com", "henry\thenry@example.com"]


def test_user_with_missing_config(subgate, tmp_path):
    r = subgate("user", "list", "-c", tmp_path / "nope.conf")
    assert r.returncode == EX_NOINPUT
    assert f"{tmp_path / 'nope.conf'}: cannot open: No such file or directory" in r.stderr


def test_config_naming_only_users_is_enough(subgate, tmp_path):
    """`subgate user` needs the user database path, not a configuration the gateway could run with."""
    conf = tmp_path / "users-only.conf"
    conf.write_text("users = users.cdb\n")
    r = subgate("user", "add", "ivy", "--sender", "ivy@example.com", "--stdin", "-c", conf, input="ivy-pw\n")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert record_of(tmp_path / "users.cdb", "ivy").verifies("ivy-pw")
    r = subgate("user", "list", "-c", conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ivy\tivy@example.com\n"


@pytest.mark.parametrize("line,message", [
    ("bogus = 1", "unknown key 'bogus'"),
    ("users users.cdb", "expected 'key = value'"),
    ("command_timeout = 2h", "command_timeout: 2h is out of range 1s..3600s"),
    ("smarthost = mail.example.org:587", "smarthost: MX lookups are not supported"),
])
def test_partial_config_is_still_read_strictly(subgate, tmp_path, line, message):
    conf = tmp_path / "users-only.conf"
    conf.write_text(f"users = users.cdb\n{line}\n")
    before = snapshot(tmp_path)
    r = subgate("user", "add", "ivy", "--stdin", "-c", conf, input="ivy-pw\n")
    assert r.returncode == EX_CONFIG
    assert r.stderr.startswith(f"subgate: {conf}:2: {message}"), r.stderr
    assert snapshot(tmp_path) == before


def test_list_missing_db(subgate, tmp_path):
    r = subgate("user", "list", "--db", tmp_path / "nope.cdb")
    assert r.returncode == EX_NOINPUT
    assert "No such file or directory" in r.stderr
    assert list(tmp_path.iterdir()) == []


# --- passwd / del --------------------------------------------------------------------------


def test_passwd_changes_salt_and_password(subgate, db):
    before = db_dict(db)
    old = Record(before["bob"])
    r = subgate("user", "passwd", "bob", "--stdin", "--db", db, input="new-bob-pw\n")
    assert r.returncode == 0, r.stderr
    assert snapshot(db.parent).keys() == {"users.cdb"}
    after = db_dict(db)
    new = Record(after["bob"])
    assert new.salt != old.salt
    assert new.verifies("new-bob-pw")
    assert not new.verifies("bob-pw")
    assert new.senders == old.senders
    assert after["alice@example.com"] == before["alice@example.com"]


def test_del(subgate, db):
    before = db_dict(db)
    r = subgate("user", "del", "bob", "--db", db)
    assert r.returncode == 0, r.stderr
    assert snapshot(db.parent).keys() == {"users.cdb"}
    assert db_dict(db) == {"alice@example.com": before["alice@example.com"]}
    assert subgate("user", "list", "--db", db).stdout == "alice@example.com\t@example.com\n"


def test_del_last_user_leaves_an_empty_database(subgate, tmp_path):
    path = tmp_path / "users.cdb"
    assert add(subgate, path, "only", "pw").returncode == 0
    secret = fake_record(path)[2]
    assert subgate("user", "del", "only", "--db", path).returncode == 0
    assert [k for k, _ in read_cdb(path)] == [FAKE_KEY]
    assert fake_record(path)[2] == secret  # kept, so unknown users keep their fake salts
    r = subgate("user", "list", "--db", path)
    assert r.returncode == 0 and r.stdout == ""


def test_del_then_add_again(subgate, db):
    assert subgate("user", "del", "bob", "--db", db).returncode == 0
    assert add(subgate, db, "bob", "second-life").returncode == 0
    assert record_of(db, "bob").verifies("second-life")


# --- failures leave the database untouched -------------------------------------------

FAILURES = [
    # (id, args before --db, stdin, exit code, message)
    ("name-colon", ["add", "a:b", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-newline", ["add", "a\nb", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-empty", ["add", "", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-space", ["add", "a b", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-leading-dot", ["add", ".ab", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-leading-at", ["add", "@example.com", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-slash", ["add", "a/b", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-65", ["add", "x" * 65, "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("name-nonascii", ["add", "jürgen", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("passwd-bad-name", ["passwd", "a:b", "--stdin"], "pw\n", EX_DATAERR, "invalid user name"),
    ("del-bad-name", ["del", "a:b"], None, EX_DATAERR, "invalid user name"),
    ("empty-password", ["add", "carol", "--stdin"], "\n", EX_DATAERR, "empty password; nothing changed"),
    ("no-password", ["add", "carol", "--stdin"], "", EX_DATAERR, "empty password; nothing changed"),
    ("passwd-empty", ["passwd", "bob", "--stdin"], "\n", EX_DATAERR, "empty password; nothing changed"),
    ("control-char", ["add", "carol", "--stdin"], "pass\tword\n", EX_DATAERR, "control character"),
    ("too-long", ["add", "carol", "--stdin"], "p" * 257 + "\n", EX_DATAERR, "password longer than"),
    ("much-too-long", ["add", "carol", "--stdin"], "p" * 1000 + "\n", EX_DATAERR, "password longer than 256 bytes"),
    ("duplicate", ["add", "bob", "--stdin"], "pw\n", EX_DATAERR, "user 'bob' already exists"),
    ("duplicate-at", ["add", "alice@example.com", "--stdin"], "pw\n", EX_DATAERR,
     "user 'alice@example.com' already exists"),
    ("del-missing", ["del", "zoe"], None, EX_NOUSER, "no such user 'zoe'"),
    ("passwd-missing", ["passwd", "zoe", "--stdin"], "pw\n", EX_NOUSER, "no such user 'zoe'"),
    ("sender-bare", ["add", "carol", "--sender", "carol", "--stdin"], "pw\n", EX_DATAERR, "invalid sender 'carol'"),
    ("sender-at", ["add", "carol", "--sender", "@", "--stdin"], "pw\n", EX_DATAERR, "invalid sender '@'"),
    ("sender-no-domain", ["add", "carol", "--sender", "carol@", "--stdin"], "pw\n", EX_DATAERR,
     "invalid sender 'carol@'"),
    ("sender-two-at", ["add", "carol", "--sender", "a@b@example.com", "--stdin"], "pw\n", EX_DATAERR,
     "invalid sender 'a@b@example.com'"),
    ("sender-second-bad", ["add", "carol", "--sender", "c@example.com", "--sender", "bad", "--stdin"], "pw\n",
     EX_DATAERR, "invalid sender 'bad'"),
    ("sender-missing-value", ["add", "carol", "--stdin", "--sender"], "pw\n", EX_USAGE, "usage: subgate user add"),
    ("sender-on-passwd", ["passwd", "bob", "--sender", "b@example.com", "--stdin"], "pw\n", EX_USAGE,
     "usage: subgate user"),
    ("too-many-senders", ["add", "carol", "--stdin"] + [x for i in range(17) for x in ("--sender", f"s{i}@example.com")],
     "pw\n", EX_USAGE, "more than 16 --sender options"),
    ("no-verb", [], None, EX_USAGE, "usage: subgate user add"),
    ("bad-verb", ["rename", "bob"], None, EX_USAGE, "usage: subgate user"),
    ("add-no-name", ["add", "--stdin"], "pw\n", EX_USAGE, "usage: subgate user add"),
    ("extra-arg", ["del", "bob", "alice@example.com"], None, EX_USAGE, "usage: subgate user"),
    ("add-no-tty", ["add", "carol"], None, EX_USAGE, "no terminal to read the password from; use --stdin"),
    ("passwd-no-tty", ["passwd", "bob"], None, EX_USAGE, "no terminal to read the password from; use --stdin"),
]


@pytest.mark.parametrize("args,stdin,code,message", [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_failure_leaves_db_unchanged(subgate, db, args, stdin, code, message):
    before = snapshot(db.parent)
    r = subgate("user", *args, "--db", db, input=stdin)
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert r.stdout == ""
    assert snapshot(db.parent) == before, "database changed or temporary file left behind"


def test_db_option_needs_a_value(subgate, db):
    before = snapshot(db.parent)
    r = subgate("user", "list", "--db")
    assert r.returncode == EX_USAGE
    assert "--db needs a file name" in r.stderr
    assert snapshot(db.parent) == before


@pytest.mark.parametrize("verb", ["del", "passwd"])
def test_change_on_missing_db_creates_nothing(subgate, tmp_path, verb):
    path = tmp_path / "users.cdb"
    r = subgate("user", verb, "zoe", "--stdin", "--db", path, input="pw\n")
    assert r.returncode in (EX_NOUSER, EX_NOINPUT), r.stderr
    assert "zoe" in r.stderr or "No such file" in r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not a cdb\n", b"\x00" * 100])
@pytest.mark.parametrize("verb", ["add", "passwd", "del"])
def test_corrupt_db_is_not_replaced(subgate, tmp_path, verb, content):
    path = tmp_path / "users.cdb"
    path.write_bytes(content)
    before = snapshot(tmp_path)
    r = subgate("user", verb, "bob", "--stdin", "--db", path, input="pw\n")
    assert r.returncode != 0
    assert "not a valid user database" in r.stderr, r.stderr
    assert snapshot(tmp_path) == before
    r = subgate("user", "list", "--db", path)
    assert r.returncode != 0
    assert "not a valid user database" in r.stderr


# --- the terminal ------------------------------------------------------------------------


class Tty:
    """Runs a command with a fresh pseudo-terminal as its controlling terminal.

    stdin is /dev/null and stdout/stderr are pipes, so the prompts and the
    (absent) echo can only come through /dev/tty.
    """

    def __init__(self, argv, env=None):
        self.master, self.slave = os.openpty()
        slave_name = os.ttyname(self.slave)

        def make_controlling_tty():
            os.setsid()
            fd = os.open(slave_name, os.O_RDWR)  # a session leader's first tty becomes its terminal
            os.close(fd)

        self.transcript = bytearray()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=make_controlling_tty, env=env)

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:
            return False
        self.transcript += chunk
        return bool(chunk)

    def expect(self, text, start=0, timeout=10.0):
        """Waits until `text` shows on the terminal after offset `start`; returns the offset after it."""
        deadline = time.monotonic() + timeout
        token = text.encode()
        while (at := self.transcript.find(token, start)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and self.proc.poll() is not None):
                raise AssertionError(f"{text!r} not seen on the terminal; got {bytes(self.transcript)!r}; "
                                     f"stderr {self.proc.stderr.read() if self.proc.poll() is not None else ''!r}")
        return at + len(token)

    def wait_echo_off(self, timeout=3.0):
        """True once the terminal's ECHO flag is cleared (the program reads quietly)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not termios.tcgetattr(self.slave)[3] & termios.ECHO:
                return True
            time.sleep(0.002)
        return False

    def type(self, line):
        os.write(self.master, line.encode() + b"\r")  # Enter; ICRNL makes it a newline

    def finish(self, timeout=10.0):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"timed out; terminal: {bytes(self.transcript)!r}")
        while self._read(0.05):
            pass
        return self.proc.returncode, out.decode(), err.decode()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def tty_run(subgate_bin):
    sessions = []

    def start(*args):
        t = Tty([str(subgate_bin), *[str(a) for a in args]], env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
        sessions.append(t)
        return t

    yield start
    for t in sessions:
        t.close()


def converse(t, first, second):
    """Answers both prompts; returns [echo off at prompt 1, echo off at prompt 2]."""
    quiet = []
    at = t.expect("New password: ")
    quiet.append(t.wait_echo_off())
    t.type(first)
    t.expect("Retype new password: ", start=at)
    quiet.append(t.wait_echo_off())
    t.type(second)
    return quiet


def test_tty_add_prompts_without_echo(tty_run, tmp_path):
    path = tmp_path / "users.cdb"
    password = "Tty-Secret-42"
    t = tty_run("user", "add", "ttyuser", "--sender", "tty@example.com", "--db", path)
    quiet = converse(t, password, password)
    code, out, err = t.finish()
    screen = t.transcript.decode(errors="replace")
    assert code == 0, err
    assert out == ""
    assert screen.index("New password: ") < screen.index("Retype new password: ")
    assert password not in screen, f"password echoed: {screen!r}"
    assert "Secret" not in screen
    assert quiet == [True, True], "ECHO was not turned off while reading the password"
    assert termios.tcgetattr(t.slave)[3] & termios.ECHO, "ECHO not restored afterwards"
    rec = record_of(path, "ttyuser")
    assert rec.verifies(password)
    assert rec.senders == ["tty@example.com"]
    assert snapshot(tmp_path).keys() == {"users.cdb"}


def test_tty_passwd(tty_run, db):
    t = tty_run("user", "passwd", "bob", "--db", db)
    converse(t, "bob-from-tty", "bob-from-tty")
    code, _, err = t.finish()
    assert code == 0, err
    assert "bob-from-tty" not in t.transcript.decode(errors="replace")
    rec = record_of(db, "bob")
    assert rec.verifies("bob-from-tty")
    assert not rec.verifies("bob-pw")


def test_tty_mismatching_retype(tty_run, db):
    before = snapshot(db.parent)
    t = tty_run("user", "add", "carol", "--db", db)
    converse(t, "first-try", "second-try")
    code, out, err = t.finish()
    assert code == EX_DATAERR
    assert "the two passwords differ; nothing changed" in err
    assert out == ""
    assert snapshot(db.parent) == before


def test_tty_empty_password(tty_run, db):
    before = snapshot(db.parent)
    t = tty_run("user", "passwd", "bob", "--db", db)
    converse(t, "", "")
    code, _, err = t.finish()
    assert code == EX_DATAERR
    assert "empty password; nothing changed" in err
    assert snapshot(db.parent) == before
