#!/usr/bin/python3
"""bench/compare.py - subgate next to Postfix: same machine, same client, same sink (issue #6).

Owns one run of the comparison: a temp dir under --out (or, with --fresh-fs, on a new ext4
loop-mounted there) holding both sites; a tmpfs dir for the two servers' logs, so that logging
is not counted as spool writes (copied to --out/compare-*.log at the end); the processes it
starts (smtp-sink, jailed subgate, a private Postfix instance, build/loadgen, strace); one
cgroup v2 dir per system when /sys/fs/cgroup is writable; and the outputs --out/compare.md,
compare.json and compare.png. Loopback only; every process it started is stopped at the end,
also on error, Ctrl-C, SIGTERM or the --time-limit.

Both systems relay to one smtp-sink over plain SMTP and are driven alternately, for --rounds
rounds, by the same build/loadgen profiles (STARTTLS + AUTH PLAIN), the servers on one CPU and
the client on the other; each round waits until the sink counted every message and the
system's queue is empty. Figures: msg/s and end-of-data latency (loadgen), CPU seconds per 1000
messages (cgroup cpu.stat, else utime+stime+cutime+cstime of the master's family), bytes
written per message (/proc/PID/io write_bytes of the family: the kernel adds a reaped child's
counts to its parent's), PSS idle / per idle TLS session / peak, fsyncs per message (strace -f
of every process, a separate short run) and the size of the binaries and shared libraries the
processes mapped. Needs root (subgate jails itself, Postfix runs as postfix), postfix,
sasl2-bin, libsasl2-modules, openssl, strace and python3-matplotlib.
"""
import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

USER, DOMAIN, PASSWORD = "bench", "example.com", "bench-password"
LOGIN = USER + "@" + DOMAIN
PROFILES = [  # (name, messages, connections, messages per connection)
    ("50 msgs/conn", 1000, 10, 50),
    ("1 msg/conn", 300, 10, 1),
]
CLIENT_CPU, SERVER_CPU = 0, 1
POSTFIX_QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")
POSTFIX_MASTER_CF = """{listen} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""
SYNC_CALLS = "fsync,fdatasync,sync_file_range,syncfs"
CLEANUP_S = 50  # of --time-limit, kept for stopping everything (at most 45 s, 2 s usually)


def wait_until(cond, seconds):
    """Polls cond() for up to `seconds`; whether it became true."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Budget:
    """The --time-limit of the run (the cleanup has its own short timeouts): no wait exceeds what is left."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self, cap):
        rest = self.end - time.monotonic()
        if rest <= 0:
            raise TimeoutError("--time-limit reached")
        return min(cap, rest)

    def wait(self, cond, cap, what):
        if not wait_until(cond, self.left(cap)):
            raise TimeoutError("waited %.0f s for %s" % (cap, what))


# --- /proc and cgroups ------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether a socket listens on 127.0.0.1:port, read from /proc/net/tcp: a probe connection would make
    Postfix's master start an smtpd (and tlsmgr) that then stays in the idle figure."""
    local = "%08X:%04X" % (int.from_bytes(socket.inet_aton("127.0.0.1"), sys.byteorder), port)
    with open("/proc/net/tcp") as f:
        return any(row.split()[1] == local and row.split()[3] == "0A" for row in f.readlines()[1:])  # 0A: LISTEN


def family(master):
    """The master and all its descendants."""
    pids, todo = [], [master]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def field(path, key):
    """The number after `key` on the first line that starts with it (0 if none or unreadable)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid):
    """utime+stime of the process and of its reaped children (cutime+cstime)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            _, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    return None


def make_cgroup(name):
    """A cgroup v2 dir of our own, or None (then the /proc sums are used)."""
    root = cgroup2_root()
    if root is None:
        return None
    path = os.path.join(root, "subgate-compare-%d-%s" % (os.getpid(), name))
    try:
        os.mkdir(path)
        open(os.path.join(path, "cpu.stat")).close()
        return path
    except OSError:
        return None


def remove_cgroup(path):
    with contextlib.suppress(OSError):
        wait_until(lambda: not open(path + "/cgroup.procs").read().strip(), 5)
        os.rmdir(path)


def launcher(cgroup, cpu):
    """The argv prefix that runs a command in `cgroup` on CPU `cpu` (children inherit both)."""
    pre = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup] if cgroup else []
    return pre + (["taskset", "-c", str(cpu)] if cpu is not None else [])


class Meter:
    """CPU, bytes written, PSS and mapped files of one system's processes."""

    def __init__(self, cgroup):
        self.cgroup = cgroup
        self.master = None  # set once the system runs
        self.files = set()  # executables and shared objects its processes mapped
        self.seen = set()

    def pids(self):
        if self.cgroup:
            with open(self.cgroup + "/cgroup.procs") as f:
                return [int(x) for x in f.read().split()]
        return family(self.master)

    def cpu_s(self):
        if self.cgroup:
            return field(self.cgroup + "/cpu.stat", "usage_usec ") / 1e6
        return sum(proc_cpu_s(p) for p in family(self.master))

    def write_bytes(self):
        return sum(field("/proc/%d/io" % p, "write_bytes:") for p in family(self.master))

    def pss_kib(self):
        return sum(field("/proc/%d/smaps_rollup" % p, "Pss:") for p in self.pids())

    def note_files(self):
        """Records what the processes not seen before have mapped (for the size figure)."""
        for p in set(self.pids()) - self.seen:
            self.seen.add(p)
            self.files |= mapped_files(p)


def process_names(pids):
    names = []
    for p in pids:
        with contextlib.suppress(OSError):
            with open("/proc/%d/comm" % p) as f:
                names.append(f.read().strip())
    return sorted(names)


def mapped_files(pid):
    """The executable and the shared objects (also dlopen()ed ones) a process has mapped."""
    out = set()
    with contextlib.suppress(OSError):
        out.add(os.path.realpath("/proc/%d/exe" % pid))
        with open("/proc/%d/maps" % pid) as f:
            paths = re.findall(r"^\S+(?:\s+\S+){4}\s+(/\S*\.so(?:\.\d+)*)$", f.read(), re.M)
        out |= {os.path.realpath(p) for p in paths}
    return {p for p in out if os.path.isfile(p)}


class Sampler:
    """Samples a Meter's PSS every 0.2 s in a thread; keeps the peak."""

    def __init__(self, meter):
        self.meter, self.peak, self.stop = meter, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.meter.pss_kib())
            self.meter.note_files()
            self.stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


# --- the sink -----------------------------------------------------------------------------


class Sink:
    """Postfix's smtp-sink on loopback: throws messages away and counts them (-c)."""

    def __init__(self, port, stack):
        self.port, self.count = port, 0
        self.proc = subprocess.Popen(["smtp-sink", "-c", "-u", "postfix", "127.0.0.1:%d" % port, "1000"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        stack.callback(stop_proc, self.proc)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            buf = (buf + chunk)[-200:]
            counts = re.findall(rb"mesg=(\d+)", buf)
            if counts:
                self.count = int(counts[-1])


def stop_proc(proc, timeout=5):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)


# --- the two systems ----------------------------------------------------------------------


def make_cert(directory):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", "/CN=bench.test", "-addext", "subjectAltName=DNS:bench.test",
                    "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(directory + "/key.pem", 0o600)


def site_dir(work, name):
    path = os.path.join(work, name)
    os.mkdir(path)
    os.chmod(path, 0o755)  # the jailed / unprivileged processes search it
    return path


class Subgate:
    """build/subgate, defconfig, started as root: it jails itself (run_as nobody)."""

    name = "subgate"

    def __init__(self, binary, work, logdir, sink_port, meter):
        self.binary, self.meter, self.port = binary, meter, free_port()
        self.dir, self.log = site_dir(work, "subgate"), os.path.join(logdir, "subgate.log")
        self.spool, self.conf = self.dir + "/spool", self.dir + "/subgate.conf"
        make_cert(self.dir)
        with open(self.conf, "w") as f:
            f.write("hostname = bench.test\nlisten = 127.0.0.1:%d starttls\ntls_cert = cert.pem\n"
                    "tls_key = key.pem\nusers = users.cdb\nspool = spool\nrun_as = nobody\n"
                    "pid_file = subgate.pid\nmax_sessions = 64\nmax_sessions_per_addr = 32\n"
                    "spool_max_messages = 100000\nspool_max_size = 1g\n"
                    "smarthost = [127.0.0.1]:%d\nsmarthost_tls = none\n" % (self.port, sink_port))
        subprocess.run([binary, "user", "add", LOGIN, "-c", self.conf, "--stdin"], input=PASSWORD + "\n",
                       check=True, capture_output=True, text=True, timeout=60)

    def start(self, stack, budget, cpu):
        log = open(self.log, "w")
        stack.callback(log.close)
        self.proc = subprocess.Popen(launcher(self.meter.cgroup, cpu) + [self.binary, "serve", "-f", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        stack.callback(stop_proc, self.proc)
        budget.wait(lambda: self.proc.poll() is not None or "subgate ready" in open(self.log).read(), 20,
                    "subgate ready")
        if self.proc.poll() is not None:
            raise RuntimeError("subgate exited %d:\n%s" % (self.proc.returncode, open(self.log).read()[-2000:]))
        self.meter.master = self.proc.pid

    def queue_empty(self):
        return not any(os.listdir(os.path.join(self.spool, d)) for d in ("queue", "defer"))

    def version(self):
        out = subprocess.run([self.binary, "version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0]


class Postfix:
    """Debian's Postfix as a submission gateway: a private instance (postfix -c DIR), chroot = n."""

    name = "Postfix"

    def __init__(self, work, logdir, sink_port, meter):
        self.meter, self.port = meter, free_port()
        self.dir, self.log = site_dir(work, "postfix"), os.path.join(logdir, "postfix.log")
        self.etc, self.spool = self.dir + "/etc", self.dir + "/spool"
        for d in ("etc/sasl", "spool", "data"):
            os.makedirs(os.path.join(self.dir, d))
        make_cert(self.dir)
        self.write_config(logdir, sink_port)
        subprocess.run(["saslpasswd2", "-f", self.dir + "/sasldb2", "-p", "-c", "-u", DOMAIN, USER],
                       input=PASSWORD, text=True, check=True, timeout=30)
        shutil.chown(self.dir + "/sasldb2", user="postfix")
        shutil.chown(self.dir + "/data", user="postfix")

    def write_config(self, logdir, sink_port):
        main = ["compatibility_level = 3.6", "queue_directory = %s" % self.spool,
                "data_directory = %s/data" % self.dir, "mail_owner = postfix", "setgid_group = postdrop",
                "inet_interfaces = 127.0.0.1", "inet_protocols = ipv4", "myhostname = bench.test",
                "mydestination =", "alias_maps =", "alias_database =", "local_recipient_maps =",
                "relayhost = [127.0.0.1]:%d" % sink_port,
                "smtpd_tls_cert_file = %s/cert.pem" % self.dir, "smtpd_tls_key_file = %s/key.pem" % self.dir,
                "smtpd_sasl_type = cyrus", "smtpd_sasl_path = smtpd",
                "cyrus_sasl_config_path = %s/sasl" % self.etc,
                "maillog_file = %s" % self.log, "maillog_file_prefixes = %s" % logdir]
        with open(self.etc + "/main.cf", "w") as f:
            f.write("\n".join(main) + "\n")
        with open(self.etc + "/master.cf", "w") as f:
            f.write(POSTFIX_MASTER_CF.format(listen="127.0.0.1:%d" % self.port))
        with open(self.etc + "/sasl/smtpd.conf", "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n"
                    "sasldb_path: %s/sasldb2\n" % self.dir)

    def start(self, stack, budget, cpu):
        stack.callback(self.stop)
        r = subprocess.run(launcher(self.meter.cgroup, cpu) + ["postfix", "-c", self.etc, "start"],
                           capture_output=True, text=True, timeout=budget.left(60))
        if r.returncode != 0:
            raise RuntimeError("postfix start: exit %d %s%s" % (r.returncode, r.stdout, r.stderr))
        self.meter.master = self.master_pid()
        budget.wait(lambda: listening(self.port), 20, "postfix to listen")

    def master_pid(self):
        with open(self.spool + "/pid/master.pid") as f:
            return int(f.read())

    def stop(self):
        """postfix stop; the master and its children are killed if still there (pid known from the start)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True, timeout=15)
        pid = self.meter.master
        if pid is None or wait_until(lambda: not os.path.exists("/proc/%d" % pid), 5):
            return
        for p in family(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)

    def queue_empty(self):
        return not any(files for q in POSTFIX_QUEUES for _, _, files in os.walk(os.path.join(self.spool, q)))

    def version(self):
        out = subprocess.run(["postconf", "-d", "mail_version"], capture_output=True, text=True, timeout=30).stdout
        return "Postfix " + out.split("=")[1].strip()


# --- load and measurements ----------------------------------------------------------------


def loadgen(args, budget, port, n, conns, per_conn):
    cap = int(budget.left(180))
    r = subprocess.run([args.loadgen, "--port", str(port), "--user", LOGIN, "--pass", PASSWORD, "--insecure",
                        "-n", str(n), "-c", str(conns), "-m", str(per_conn), "-s", str(args.size),
                        "--max-seconds", str(max(1, cap))],
                       capture_output=True, text=True, timeout=cap + 5)
    if r.returncode != 0:
        budget.left(1)  # says so if it was the --time-limit
        raise RuntimeError("loadgen failed on port %d:\n%s%s" % (port, r.stdout, r.stderr[-2000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def drain(system, sink, budget, expect):
    budget.wait(lambda: sink.count >= expect and system.queue_empty(), 180,
                "%s: %d messages at the sink (have %d) and an empty queue" % (system.name, expect, sink.count))


def measure_round(args, system, sink, budget, profile):
    name, n, conns, per_conn = profile
    meter, expect = system.meter, sink.count + n
    cpu0, wb0, t0 = meter.cpu_s(), meter.write_bytes(), time.monotonic()
    with Sampler(meter) as sampler:
        lg = loadgen(args, budget, system.port, n, conns, per_conn)
        drain(system, sink, budget, expect)
    elapsed = time.monotonic() - t0
    return {"system": system.name, "profile": name, "loadgen": lg, "delivered_per_s": n / elapsed,
            "cpu_s_per_1000": (meter.cpu_s() - cpu0) * 1000 / n,
            "write_bytes_per_msg": (meter.write_bytes() - wb0) / n, "peak_pss_kib": sampler.peak}


def tls_session(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # as build/loadgen (BearSSL)
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.starttls(context=ctx)
    s.login(LOGIN, PASSWORD)
    return s


def measure_memory(system, sessions):
    """PSS idle, and per authenticated TLS session left idle."""
    time.sleep(1)
    idle, names = system.meter.pss_kib(), process_names(system.meter.pids())
    conns = []
    try:
        for _ in range(sessions):
            conns.append(tls_session(system.port))
        time.sleep(0.5)
        busy = system.meter.pss_kib()
    finally:
        for c in conns:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                c.quit()
    return {"idle_pss_kib": idle, "idle_processes": names, "sessions": sessions, "sessions_pss_kib": busy,
            "per_session_pss_kib": (busy - idle) / sessions}


def count_syncs(args, system, sink, budget, workdir):
    """fsync-family calls per message: strace -f attached to every process of the system."""
    out = os.path.join(workdir, "strace-%s.txt" % system.name)
    argv = ["strace", "-f", "-c", "-qq", "-e", "trace=" + SYNC_CALLS, "-o", out]
    for p in system.meter.pids():
        argv += ["-p", str(p)]
    tracer = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(1)  # attached
        n, expect = args.fsync_messages, sink.count + args.fsync_messages
        loadgen(args, budget, system.port, n, 10, 10)
        drain(system, sink, budget, expect)
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(10)
    calls = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    return {"messages": n, "calls": calls, "per_msg": sum(calls.values()) / n}


def ldd(path):
    r = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30)
    return {os.path.realpath(m) for m in re.findall(r"=> (/\S+)", r.stdout) + re.findall(r"^\s*(/\S+)", r.stdout, re.M)}


def sizes(files, own_dirs):
    """Total bytes of the files (each once), and of those under own_dirs (the program's own)."""
    every = set(files)
    for f in files:
        every |= ldd(f)
    total = sum(os.path.getsize(f) for f in every)
    own = sum(os.path.getsize(f) for f in every if f.startswith(own_dirs))
    return {"files": sorted(every), "bytes": total, "own_bytes": own}


# --- report ---------------------------------------------------------------------------------


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%s, %d cores, Linux %s" % (model, os.cpu_count(), os.uname().release)


def median_of(rounds, system, profile, pick):
    return statistics.median(pick(r) for r in rounds if r["system"] == system and r["profile"] == profile)


def figures(res):
    """[(label, subgate, postfix, format, better)] of the summary table."""
    rows = []
    for name, n, conns, per_conn in PROFILES:
        def med(pick, name=name):
            return tuple(median_of(res["rounds"], s, name, pick) for s in ("subgate", "Postfix"))
        tag = "%s (%d msgs, %d conns)" % (name, n, conns)
        rows += [("%s: accepted msg/s" % tag, *med(lambda r: r["loadgen"]["msgs_per_s"]), "%.0f", "higher"),
                 ("%s: submission to last delivery, msg/s" % tag, *med(lambda r: r["delivered_per_s"]), "%.0f",
                  "higher"),
                 ("%s: p50 end-of-data to 250, ms" % tag, *med(lambda r: r["loadgen"]["p50_ms"]), "%.2f", "lower"),
                 ("%s: p99 end-of-data to 250, ms" % tag, *med(lambda r: r["loadgen"]["p99_ms"]), "%.2f", "lower"),
                 ("%s: CPU s per 1000 msgs" % tag, *med(lambda r: r["cpu_s_per_1000"]), "%.2f", "lower"),
                 ("%s: bytes written per msg" % tag, *med(lambda r: r["write_bytes_per_msg"]), "%.0f", "lower")]
    sg, pf = res["subgate"], res["Postfix"]
    rows += [("fsync-family calls per msg", sg["fsync"]["per_msg"], pf["fsync"]["per_msg"], "%.2f", "lower"),
             ("idle PSS, all processes, KiB", sg["memory"]["idle_pss_kib"], pf["memory"]["idle_pss_kib"], "%.0f",
              "lower"),
             ("PSS per idle authenticated TLS session, KiB", sg["memory"]["per_session_pss_kib"],
              pf["memory"]["per_session_pss_kib"], "%.0f", "lower"),
             ("peak PSS under load, KiB", sg["peak_pss_kib"], pf["peak_pss_kib"], "%.0f", "lower"),
             ("binaries + shared libraries mapped, bytes", sg["size"]["bytes"], pf["size"]["bytes"], "%.0f", "lower"),
             ("of which the program's own files, bytes", sg["size"]["own_bytes"], pf["size"]["own_bytes"], "%.0f",
              "lower")]
    return rows


def markdown(res, rows):
    sg, pf = res["subgate"], res["Postfix"]
    load = "; ".join("%s: -n %d -c %d -m %d" % p for p in PROFILES)
    head = ["# subgate vs Postfix (`bench/compare.py`)", "",
            "- date: %s" % res["date"],
            "- machine: %s" % res["machine"],
            "- versions: %s (static musl + BearSSL, jailed: chroot, run_as nobody, seccomp); %s (Debian, private "
            "instance, `chroot = n`, Cyrus SASL sasldb)" % (sg["version"], pf["version"]),
            "- load: `build/loadgen` STARTTLS + AUTH PLAIN, %d-byte body; %s; rounds: %d, alternating, medians; "
            "relay to `smtp-sink` on loopback (plain SMTP)" % (res["body_bytes"], load, res["rounds_n"]),
            "- spools on %s; %s" % (res["spool_fs"], res["pinning"]),
            "- CPU: %s; bytes: %s; logs on tmpfs (not counted); fsyncs: `strace -f`, %d messages"
            % (res["cpu_method"], res["io_method"], sg["fsync"]["messages"]), "",
            "| figure | subgate | Postfix | subgate/Postfix | better |", "|---|---|---|---|---|"]
    body = ["| %s | %s | %s | %s | %s |" % (label, fmt % a, fmt % b, "%.2f" % (a / b) if b else "-", better)
            for label, a, b, fmt, better in rows]
    return "\n".join(head + body) + "\n"


def chart(res, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in rows if r[1] and r[2]]
    ratios = [a / b for _, a, b, _, _ in rows]
    wins = [(q > 1) == (better == "higher") for q, (_, _, _, _, better) in zip(ratios, rows)]
    fig, ax = plt.subplots(figsize=(11, 0.4 * len(rows) + 1.8))
    bars = ax.barh([r[0] for r in rows], ratios, color=["tab:green" if w else "tab:red" for w in wins])
    ax.bar_label(bars, fmt="%.2f", padding=3)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_title("subgate vs %s, %s, %s" % (res["Postfix"]["version"], res["date"][:10], res["machine"]), fontsize=9)
    ax.set_xlabel("subgate / Postfix (log scale; green: subgate better)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(res, out):
    rows = figures(res)
    res["table"] = [{"figure": r[0], "subgate": r[1], "Postfix": r[2], "better": r[4]} for r in rows]
    md = markdown(res, rows)
    with open(os.path.join(out, "compare.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "compare.json"), "w") as f:
        json.dump(res, f, indent=1)
    chart(res, rows, os.path.join(out, "compare.png"))
    print(md, end="")


# --- the run ------------------------------------------------------------------------------


def on_signal(signum, frame):
    raise TimeoutError("--time-limit reached") if signum == signal.SIGALRM else KeyboardInterrupt()


def check_tools(args):
    missing = [t for t in ("smtp-sink", "postfix", "postconf", "saslpasswd2", "openssl", "strace", "taskset", "ldd")
               if shutil.which(t) is None]
    for f in (args.binary, args.loadgen):
        if not os.access(f, os.X_OK):
            missing.append(f)
    if importlib.util.find_spec("matplotlib") is None:
        missing.append("python3-matplotlib")
    if os.geteuid() != 0:
        sys.exit("compare.py: run as root (subgate jails itself, Postfix drops to postfix)")
    if missing:
        sys.exit("compare.py: missing %s (scripts/apt-need.sh postfix sasl2-bin libsasl2-modules openssl strace "
                 "python3-matplotlib; make all build/loadgen)" % ", ".join(missing))


def fresh_fs(args, stack):
    """A new ext4 (with the journal mkfs gives it) in a file under --out, loop-mounted: spools there do not
    pay for the host file system's history (on ext4 without a journal, creating a file scans every inode
    freed in the last 5 minutes of its group, so both systems slow down as the run goes on)."""
    img, mnt = os.path.join(args.out, "compare-fs.img"), os.path.join(args.out, "compare-fs")
    with open(img, "wb") as f:
        f.truncate(args.fresh_fs << 20)
    stack.callback(os.unlink, img)
    subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True, capture_output=True, timeout=120)
    os.makedirs(mnt, exist_ok=True)
    subprocess.run(["mount", "-o", "loop", img, mnt], check=True, capture_output=True, timeout=30)
    stack.callback(unmount, mnt)
    return mnt


def unmount(mnt):
    subprocess.run(["umount", mnt], capture_output=True, timeout=30)  # also frees the loop device
    with contextlib.suppress(OSError):
        os.rmdir(mnt)


def prepare(args, stack):
    """The work dir (under --out, or on --fresh-fs), the log dir (tmpfs), stale outputs removed; pins this
    process."""
    os.makedirs(args.out, exist_ok=True)
    for name in ("compare.md", "compare.json", "compare.png"):  # never mistake an old run for this one
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(args.out, name))
    parent = fresh_fs(args, stack) if args.fresh_fs else args.out
    work = os.path.abspath(tempfile.mkdtemp(prefix="compare-", dir=parent))  # Postfix wants absolute paths
    os.chmod(work, 0o755)  # Postfix's processes search it as postfix
    stack.callback(shutil.rmtree, work, True)
    logdir = tempfile.mkdtemp(prefix="subgate-compare-", dir="/dev/shm")
    os.chmod(logdir, 0o755)
    stack.callback(shutil.rmtree, logdir, True)
    stack.callback(keep_logs, logdir, args.out)
    pin = not args.no_pin and os.cpu_count() >= 2
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})  # this script, the client and the sink
    return work, logdir, pin


def new_meter(args, stack, name):
    meter = Meter(None if args.no_cgroup else make_cgroup(name))
    if meter.cgroup:
        stack.callback(remove_cgroup, meter.cgroup)
    return meter


def describe(args, pin, meters):
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
            "spool_fs": ("a fresh %d MiB ext4 on a loop device" % args.fresh_fs) if args.fresh_fs
            else "the file system of %s" % os.path.abspath(args.out),
            "body_bytes": args.size, "rounds_n": args.rounds, "profiles": PROFILES, "rounds": [],
            "pinning": ("server on CPU %d, client + sink on CPU %d" % (SERVER_CPU, CLIENT_CPU)) if pin
            else "no CPU pinning",
            "cpu_method": "cgroup v2 cpu.stat" if all(m.cgroup for m in meters)
            else "/proc/PID/stat utime+stime+cutime+cstime of the master's family",
            "io_method": "/proc/PID/io write_bytes of the master's family (reaped children included)"}


def bring_up(args, stack, budget, system, sink, cpu):
    """Starts the system, measures its memory, warms it up (100 messages, not counted)."""
    system.start(stack, budget, cpu)
    out = {"version": system.version(), "memory": measure_memory(system, args.sessions)}
    expect = sink.count + 100
    loadgen(args, budget, system.port, 100, 10, 10)
    drain(system, sink, budget, expect)
    return out


def run(args, stack, budget):
    work, logdir, pin = prepare(args, stack)
    sink = Sink(free_port(), stack)
    budget.wait(lambda: listening(sink.port), 10, "smtp-sink to listen")
    sg_meter, pf_meter = new_meter(args, stack, "subgate"), new_meter(args, stack, "postfix")
    systems = [Subgate(os.path.abspath(args.binary), work, logdir, sink.port, sg_meter),
               Postfix(work, logdir, sink.port, pf_meter)]
    res = describe(args, pin, (sg_meter, pf_meter))
    for system in systems:
        res[system.name] = bring_up(args, stack, budget, system, sink, SERVER_CPU if pin else None)
    for k in range(args.rounds):
        for system in systems if k % 2 == 0 else systems[::-1]:
            for profile in PROFILES:
                res["rounds"].append(dict(measure_round(args, system, sink, budget, profile), round=k + 1))
    for system in systems:
        res[system.name]["fsync"] = count_syncs(args, system, sink, budget, work)
        res[system.name]["peak_pss_kib"] = max(r["peak_pss_kib"] for r in res["rounds"]
                                               if r["system"] == system.name)
    res["subgate"]["size"] = sizes(sg_meter.files, (os.path.dirname(os.path.abspath(args.binary)),))
    res["Postfix"]["size"] = sizes(pf_meter.files | {"/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/postsuper"},
                                   ("/usr/lib/postfix/", "/usr/sbin/post"))
    res["sink_messages"] = sink.count
    return res


def keep_logs(logdir, out):
    for name in ("subgate.log", "postfix.log"):
        with contextlib.suppress(OSError):
            shutil.copy(os.path.join(logdir, name), os.path.join(out, "compare-" + name))


def main():
    ap = argparse.ArgumentParser(description="subgate vs Postfix on loopback (see the top comment)")
    ap.add_argument("--binary", default="build/subgate")
    ap.add_argument("--loadgen", default="build/loadgen")
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=4096, help="message body bytes")
    ap.add_argument("--sessions", type=int, default=10, help="idle TLS sessions for the per-session PSS")
    ap.add_argument("--fsync-messages", type=int, default=100)
    ap.add_argument("--time-limit", type=int, default=600, help="seconds for the whole run")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the servers and the client to CPUs")
    ap.add_argument("--no-cgroup", action="store_true", help="count CPU from /proc even if cgroup v2 is writable")
    ap.add_argument("--fresh-fs", type=int, metavar="MiB", default=0,
                    help="put both spools on a new ext4 of this size, loop-mounted (default: under --out)")
    args = ap.parse_args()
    if args.time_limit <= CLEANUP_S + 10 or args.rounds < 1:
        sys.exit("compare.py: --time-limit must exceed %d s and --rounds be at least 1" % (CLEANUP_S + 10))
    check_tools(args)
    budget = Budget(args.time_limit - CLEANUP_S)
    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored
    signal.alarm(args.time_limit - CLEANUP_S)
    try:
        with contextlib.ExitStack() as stack:
            try:
                res = run(args, stack, budget)
            finally:
                signal.alarm(0)  # the cleanup is bounded by its own timeouts
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as e:
        sys.exit("compare.py: %s (logs: %s/compare-*.log)" % (e, args.out))
    except KeyboardInterrupt:
        sys.exit("compare.py: interrupted; everything it started is stopped")
    write_outputs(res, args.out)


if __name__ == "__main__":
    main()
