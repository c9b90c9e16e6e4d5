"""Helpers of the local-client tests (test_sendmail.py, test_queue_ctl.py).

- `FakeSubmit`: a scripted stand-in for the gateway's SPOOL/public/submit
  (plain ESMTP on a Unix socket, in a thread) that records every command
  and the raw DATA bytes (still dot-stuffed), so that the sendmail client's
  side of the protocol is tested without the daemon: replies per sender
  (`mail_replies`), per recipient (`rcpt_replies`), to the end of data
  (`data_reply`). A DATA that ends without the final dot is recorded as
  aborted.
- `FakeControl`: a stand-in for SPOOL/private/control that records the
  request line and answers with scripted bytes, then closes.
- `client_config()`: a minimal configuration whose `spool` is the given directory.
- `sendmail_link()`: a directory with `sendmail` and `mailq` links to the binary
  (the multi-call binary dispatches on its name).
- `run_as_nobody()`: the argv prefix that runs a command as nobody:nogroup without
  supplementary groups (setpriv), and `open_path_for_others()`, which makes the
  directories above a path traversable for it.

Everything stays in pytest's temporary directories.
"""

import os
import select
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

HOST = "gw.example.test"
QUEUED = "250 2.0.0 Ok: queued as 0123456789abcdef"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def client_config(directory, spool, extra=()):
    """A configuration the clients can load; only `spool` matters to them."""
    conf = Path(directory) / "client.conf"
    lines = [f"hostname = {HOST}", "listen = 127.0.0.1:5587 starttls", "tls_cert = cert.pem", "tls_key = key.pem",
             "users = users.cdb", f"spool = {spool}", "run_as = nobody", "smarthost = [127.0.0.1]:2525", *extra]
    conf.write_text("".join(line + "\n" for line in lines))
    return conf


def sendmail_link(directory, subgate_bin):
    d = Path(directory) / "bin"
    d.mkdir(exist_ok=True)
    for name in ("sendmail", "mailq"):
        link = d / name
        if not link.exists():
            link.symlink_to(subgate_bin)
    return d


def open_path_for_others(path):
    """Adds o+x (search, not read) to every directory from `path` up to (not including) /tmp, so that
    nobody can reach a file below it by name (pytest's temporary directories are 0700)."""
    p = Path(path).resolve()
    for d in [p, *p.parents]:
        if str(d) in ("/", "/tmp"):
            break
        d.chmod(stat.S_IMODE(d.stat().st_mode) | stat.S_IXOTH)


def run(argv, input=b"", user=None, timeout=30, env=None):
    """Runs argv (as nobody with user="nobody"); returns CompletedProcess with bytes stdout, text stderr."""
    if user == "nobody":
        argv = NOBODY + [str(a) for a in argv]
    r = subprocess.run([str(a) for a in argv], input=input, capture_output=True, timeout=timeout,
                       env={"LANG": "C", "LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                            **(env or {})}, start_new_session=True)
    r.stderr = r.stderr.decode(errors="replace")
    return r


class _UnixServer:
    def __init__(self, path, mode=0o666):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, mode)
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.stopped = False
        self.connections = 0
        self.busy = False        # serving a connection (set under `lock` together with the accept)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _pending(self):
        return bool(select.select([self.sock], [], [], 0)[0])

    def _accept(self):
        with self.lock:
            if not self._pending():
                return None
            conn, _ = self.sock.accept()
            self.busy = True
            self.connections += 1
            return conn

    def _loop(self):
        while not self.stopped:
            try:
                conn = self._accept()
            except OSError:
                return
            if conn is None:
                select.select([self.sock], [], [], 0.2)
                continue
            conn.setblocking(True)
            conn.settimeout(10)
            try:
                self.serve(conn)
            except OSError:
                pass
            finally:
                conn.close()
                self.busy = False

    def settle(self, timeout=10):
        """Waits until every connection a client made has been served to its end (EOF included)."""
        def idle():
            with self.lock:
                return not self.busy and not self._pending()
        deadline = time.monotonic() + timeout
        while not idle():
            assert time.monotonic() < deadline, f"{self.path}: a connection still being served after {timeout} s"
            time.sleep(0.01)

    def close(self):
        self.stopped = True
        self.thread.join(5)
        self.sock.close()


class FakeSubmit(_UnixServer):
    """SPOOL/public/submit, scripted (see the module docstring)."""

    def __init__(self, spool, mode=0o666, greeting=f"220 {HOST} ESMTP subgate"):
        self.greeting = greeting
        self.commands = []
        self.messages = []       # raw DATA bytes up to (not including) the final ".\r\n"
        self.aborted = []        # raw DATA bytes of transactions that ended without the dot
        self.mail_replies = {}   # sender -> reply
        self.rcpt_replies = {}   # address -> reply
        self.data_reply = QUEUED
        self.raw = bytearray()   # every byte the client sent
        super().__init__(Path(spool) / "public" / "submit", mode)

    def serve(self, conn):
        f = conn.makefile("rb")

        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        say(self.greeting)
        while True:
            line = f.readline()
            if not line:
                return
            self.raw += line
            cmd = line.rstrip(b"\r\n").decode(errors="replace")
            self.commands.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say(f"250-{HOST}\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME")
            elif verb == "MAIL":
                sender = cmd[len("MAIL FROM:<"):-1]
                shown = sender if ("@" in sender or not sender) else f"{sender}@{HOST}"
                say(self.mail_replies.get(sender, f"250 2.1.0 <{shown}>: Sender ok"))
            elif verb == "RCPT":
                say(self.rcpt_replies.get(cmd[len("RCPT TO:<"):-1], "250 2.1.5 Ok"))
            elif verb == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while True:
                    chunk = f.readline()
                    self.raw += chunk
                    if not chunk:
                        self.aborted.append(bytes(data))
                        return
                    if chunk == b".\r\n":
                        break
                    data += chunk
                self.messages.append(bytes(data))
                say(self.data_reply)
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                say("250 2.0.0 Ok")
            else:
                say("502 5.5.2 Error: command not recognized")


class FakeControl(_UnixServer):
    """SPOOL/private/control: records the request, answers `answer` (bytes) and closes."""

    def __init__(self, spool, answer=b"ok\n", mode=0o600, path="private/control"):
        self.answer = answer
        self.requests = []
        super().__init__(Path(spool) / path, mode)

    def serve(self, conn):
        data = b""
        while not data.endswith(b"\n") and len(data) < 4096:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        self.requests.append(data.decode(errors="replace"))
        conn.sendall(self.answer)
