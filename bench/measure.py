#!/usr/bin/python3
"""bench/measure.py - measures a running subgate the way DESIGN.md section 9 asks.

Starts subgate (static binary, defconfig) on loopback with a throw-away site in
a temp dir, then reports:
  - binary size;
  - PSS of all subgate processes when idle;
  - PSS with N concurrent authenticated TLS sessions, and per extra session;
  - messages/s for N sessions x M messages each (Python smtplib clients, so
    the client side is part of the cost);
  - bytes written by the queue process per message (/proc/PID/io write_bytes)
    and message size;
  - relay throughput: messages delivered per second to a local aiosmtpd
    smarthost over the relay's one reused connection.
Bounded: fixed counts, loopback only, the server is stopped at the end.
Output: a Markdown table headed by the commit, date and machine, on stdout
and in build/bench/measure.md.
"""
import argparse
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

USER, PASSWORD = "bench@example.com", "bench-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def family(master):
    """The master and all its descendants."""
    pids, todo = [master], [master]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        pids += kids
        todo += kids
    return pids


def write_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def setup(binary, tmp, port, sessions):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", "/CN=bench.test", "-keyout", tmp + "/key.pem",
                    "-out", tmp + "/cert.pem"], check=True, capture_output=True)
    os.chmod(tmp + "/key.pem", 0o600)
    os.chmod(tmp, 0o755)  # the jailed auth process (nobody) reads users.cdb here
    conf = tmp + "/subgate.conf"
    with open(conf, "w") as f:
        f.write("hostname = bench.test\nlisten = 127.0.0.1:%d starttls\ntls_cert = cert.pem\n"
                "tls_key = key.pem\nusers = users.cdb\nspool = spool\nrun_as = nobody\npid_file = subgate.pid\n"
                "max_sessions = %d\nmax_sessions_per_addr = %d\nspool_max_messages = 100000\n"
                "spool_max_size = 1g\nsmarthost = [127.0.0.1]:%d\nsmarthost_tls = none\n"
                % (port, sessions + 2, sessions + 2, port + 1))
    subprocess.run([binary, "user", "add", USER, "--stdin", "-c", conf], input=PASSWORD + "\n",
                   check=True, capture_output=True, text=True)
    return conf


class Sink:
    """A local aiosmtpd smarthost that only counts."""

    def __init__(self, port):
        from aiosmtpd.controller import Controller

        class Handler:
            count = 0
            connections = 0

            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                Handler.connections += 1
                session.host_name = hostname
                return responses

            async def handle_DATA(self, server, session, envelope):
                Handler.count += 1
                return "250 2.0.0 Ok"

        self.handler = Handler
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def start(binary, conf, log):
    """The daemon as users run it: jailed when we are root (else --no-jail, which it logs)."""
    jail = [] if os.geteuid() == 0 else ["--no-jail"]
    proc = subprocess.Popen([binary, "serve", "-f"] + jail + ["-c", conf], stderr=log)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(log.name) as f:
            if "subgate ready" in f.read():
                time.sleep(0.3)
                return proc
        time.sleep(0.05)
    proc.kill()
    sys.exit("subgate did not start")


def client(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.starttls(context=ctx)
    s.login(USER, PASSWORD)
    return s


def label():
    """What the table was measured on: commit, date, CPU, cores, kernel."""
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return ("Measured by `make bench` (bench/measure.py) on commit `%s`, %s UTC; %s, %d cores, Linux %s:"
            % (commit, time.strftime("%Y-%m-%d", time.gmtime()), cpu, os.cpu_count(), os.uname().release))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/subgate")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--messages", type=int, default=20, help="per session")
    ap.add_argument("--size", type=int, default=4096, help="message body bytes")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    body = ("Subject: bench\r\nMessage-ID: <x@bench>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
            + ("x" * 76 + "\r\n") * (args.size // 78))
    rows = [("static binary, stripped", "%d bytes" % os.path.getsize(binary))]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        while True:  # the smarthost sink listens on port + 1
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + 1))
                break
            except OSError:
                port = free_port()
        conf = setup(binary, tmp, port, args.sessions)
        with open(tmp + "/log", "w") as log, Sink(port + 1) as sink:
            proc = start(binary, conf, log)
            try:
                idle = sum(pss_kib(p) for p in family(proc.pid))
                rows.append(("idle daemon, all processes (PSS)", "%d KiB (%d processes)"
                             % (idle, len(family(proc.pid)))))
                conns = [client(port) for _ in range(args.sessions)]
                busy = sum(pss_kib(p) for p in family(proc.pid))
                rows.append(("%d authenticated TLS sessions (PSS)" % args.sessions, "%d KiB" % busy))
                rows.append(("per extra TLS session (PSS)", "%.1f KiB" % ((busy - idle) / args.sessions)))
                queue_pid = [p for p in family(proc.pid) if p != proc.pid][1]
                wb0 = write_bytes(queue_pid)
                errors = []

                def send(s):
                    try:
                        for _ in range(args.messages):
                            s.sendmail(USER, ["rcpt@example.org"], body)
                        s.quit()
                    except Exception as e:  # reported below
                        errors.append(e)

                threads = [threading.Thread(target=send, args=(c,)) for c in conns]
                t0 = time.time()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = time.time() - t0
                n = args.sessions * args.messages
                wb = write_bytes(queue_pid) - wb0
                rows.append(("messages accepted", "%d in %.2f s = %.0f msg/s (%d errors)"
                             % (n - len(errors), elapsed, n / elapsed, len(errors))))
                rows.append(("message size on the wire", "%d bytes" % len(body)))
                rows.append(("bytes written by queue per message (commit)", "%d" % (wb // n)))
                t1 = time.time()
                while sink.handler.count < n and time.time() - t1 < 120:
                    time.sleep(0.05)
                relayed = time.time() - t0
                rows.append(("relayed to the smarthost", "%d of %d; all delivered %.2f s after the first "
                             "submission = %.0f msg/s over %d connection(s)"
                             % (sink.handler.count, n, relayed, sink.handler.count / relayed,
                                sink.handler.connections)))
                rows.append(("bytes written by queue per message (commit + relay marks)",
                             "%d" % ((write_bytes(queue_pid) - wb0) // n)))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
    out = (label() + "\n\n| figure | subgate |\n|---|---|\n"
           + "".join("| %s | %s |\n" % r for r in rows))
    print(out, end="")
    os.makedirs("build/bench", exist_ok=True)
    with open("build/bench/measure.md", "w") as f:
        f.write(out)


if __name__ == "__main__":
    main()
