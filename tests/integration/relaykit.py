"""Helpers of the relay integration tests (test_relay_*.py): smarthosts, certificates, spool files.

- `make_pki(directory)`: a test CA and server certificates made with
  python3-cryptography (EC P-256; one RSA leaf): `localhost` (DNS:localhost,
  signed by the CA), `rsa` (the same name, RSA 2048), `wrong_name`
  (DNS:wrong-name.example.test), `expired` (not after yesterday),
  `not_yet_valid` (not before tomorrow), `since_2001` (valid from 2001 to next
  month: good at the clock floor of any build), `unknown_ca` (DNS:localhost signed by
  a second CA the gateway does not trust) and `self_signed` (an expired,
  self-signed certificate for another name: only a pin can trust it); for
  smarthosts given by IP address, CA-signed leaves whose subjectAltName holds
  only an IP address: `ip4` (IP:127.0.0.1), `ip6` (IP:::1), `ip4_other`
  (IP:127.0.0.2), and `ip_as_dns` (DNS:127.0.0.1 and CN=127.0.0.1: text, not
  an address). Every
  certificate is checked with `openssl verify` so that a failing test points
  at subgate, not at the fixture, and every SPKI pin is computed with the
  documented openssl pipeline and cross-checked in Python.
- `Smarthost`: an aiosmtpd server on a free loopback port (127.0.0.1, or ::1
  with host="::1") in its own thread,
  in one of three modes: "plain", "starttls" (STARTTLS required before
  anything else) or "tls" (implicit TLS). Optional AUTH PLAIN/LOGIN checking
  one user and password, optional PIPELINING, an idle timeout and a SIZE
  limit, and scripted answers: per sender (`mail_replies`), per recipient
  (`rcpt_replies`), per message after the data (`data_reply`), a
  `hold()` that makes it wait before answering MAIL, a `reply_delay` between
  recording a message and answering its data, and `down()`/`up()`
  (in between the port stays bound without listening: connections are
  refused and no other socket takes it). It records every connection (EHLO
  names, TLS, AUTH attempts, the commands as dispatched, the plaintext bytes
  the client sent) and every transaction (envelope, options, the message
  bytes, the reply), and accepts the null sender `MAIL FROM:<>` that stock
  aiosmtpd refuses.
- `StarttlsInjector`: a raw smarthost that forges a plaintext reply behind
  its "220" to STARTTLS, to check that the relay discards it.
- `RawSmarthost`: a scripted raw socket smarthost for hostile answers: a
  reply per stage (greeting, EHLO, STARTTLS, MAIL, ...) that may be a
  flood (an iterable of chunks, sent until the client goes away), an
  optional TLS context (a TLS 1.0-only one, say), STARTTLS or implicit TLS,
  AUTH PLAIN offered and any credentials accepted.
  It serves a bounded number of connections one after the other and records
  what each client sent in plaintext and under TLS.
- `Staller`: a raw socket smarthost that answers up to DATA and then either
  stops reading in the middle of the message ("stop-reading", with a small
  receive buffer) or reads it all and never answers ("no-reply").
- Spool helpers: `SpoolEnvelope` (rcpt states P/D/B), `write_spool_file()`
  for hand-made queue files, `spool_where()`.
- `relay_sockets(pid, port)`: the TCP connections a process holds to a port
  (from /proc), to assert that a connection was dropped.
- `parse_bounce()`: a bounce as an email.message object with its parts.

Everything listens on and connects to 127.0.0.1 (or ::1) only.
"""

import asyncio
import base64
import datetime
import email
import email.policy
import hashlib
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from smtpkit import wait_for

LOOPBACK = "127.0.0.1"
SMARTHOST_USER = "relay-user@isp.example"
SMARTHOST_PASSWORD = "s3cret:with colon"  # a colon in the password: only the first one separates


def free_port():
    s = socket.socket()
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def reserve_port(port=0, host=LOOPBACK):
    """A socket bound to a loopback port without listening: connections are refused, and no other socket (the
    servers' own port picks) can bind the port meanwhile. Close it before listening on the port."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


# --- certificates -----------------------------------------------------------------------


class Cert:
    def __init__(self, cert, key, pin):
        self.cert = Path(cert)
        self.key = Path(key)
        self.pin = pin  # "sha256/BASE64"


class PKI:
    """Paths of the test CA and certificates (see make_pki)."""


def openssl_pin(cert_path):
    """The SPKI pin exactly as documented: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256 | base64."""
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", str(cert_path)], check=True,
                         capture_output=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True,
                         capture_output=True, timeout=30).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True,
                            capture_output=True, timeout=30).stdout
    b64 = subprocess.run(["openssl", "base64"], input=digest, check=True, capture_output=True,
                         timeout=30).stdout.decode().strip()
    return "sha256/" + b64


def make_pki(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "subgate tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(path, key):
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)

    def make_ca(cn):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - 30 * day).not_valid_after(now + 365 * day)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return key, cert

    def make_leaf(stem, dns, issuer, not_before, not_after, kind="ec", sans=None):
        if kind == "rsa":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            key = ec.generate_private_key(ec.SECP256R1())
        if issuer is None:  # self-signed
            issuer_key, issuer_name = key, name(dns)
        else:
            issuer_key, issuer_cert = issuer
            issuer_name = issuer_cert.subject
        builder = (x509.CertificateBuilder().subject_name(name(dns)).issuer_name(issuer_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName(sans or [x509.DNSName(dns)]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=kind == "rsa", data_encipherment=False,
                                                key_agreement=False, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False)
        cert = builder.sign(issuer_key, hashes.SHA256())
        cert_path, key_path = d / f"{stem}.pem", d / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_key(key_path, key)
        spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        pin = "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
        assert openssl_pin(cert_path) == pin, f"pin of {stem}: openssl and python disagree"
        return Cert(cert_path, key_path, pin)

    pki = PKI()
    ca = make_ca("subgate test CA")
    other_ca = make_ca("some other CA")
    pki.ca = d / "ca.pem"
    pki.ca.write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    pki.other_ca = d / "other-ca.pem"
    pki.other_ca.write_bytes(other_ca[1].public_bytes(serialization.Encoding.PEM))
    valid = (now - day, now + 30 * day)
    pki.localhost = make_leaf("localhost", "localhost", ca, *valid)
    pki.rsa = make_leaf("localhost-rsa", "localhost", ca, *valid, kind="rsa")
    pki.wrong_name = make_leaf("wrong-name", "wrong-name.example.test", ca, *valid)
    pki.expired = make_leaf("expired", "localhost", ca, now - 30 * day, now - day)
    pki.not_yet_valid = make_leaf("not-yet-valid", "localhost", ca, now + day, now + 30 * day)
    since_2001 = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
    pki.since_2001 = make_leaf("since-2001", "localhost", ca, since_2001, now + 30 * day)
    pki.unknown_ca = make_leaf("unknown-ca", "localhost", other_ca, *valid)
    pki.self_signed = make_leaf("self-signed", "pinned-only.example.test", None, now - 30 * day, now - day)
    ip = ipaddress.ip_address
    pki.ip4 = make_leaf("ip4", "IPv4 smarthost", ca, *valid, sans=[x509.IPAddress(ip("127.0.0.1"))])
    pki.ip6 = make_leaf("ip6", "IPv6 smarthost", ca, *valid, sans=[x509.IPAddress(ip("::1"))])
    pki.ip4_other = make_leaf("ip4-other", "another address", ca, *valid, sans=[x509.IPAddress(ip("127.0.0.2"))])
    pki.ip_as_dns = make_leaf("ip-as-dns", "127.0.0.1", ca, *valid, sans=[x509.DNSName("127.0.0.1")])

    # The fixture is what it claims to be (openssl's own verdicts).
    def verify(cert, ca_file, *extra):
        r = subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), *extra, str(cert.cert)],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    for good in (pki.localhost, pki.rsa, pki.since_2001):
        rc, out = verify(good, pki.ca, "-verify_hostname", "localhost")
        assert rc == 0, out
    rc, out = verify(pki.wrong_name, pki.ca, "-verify_hostname", "localhost")
    assert rc != 0 and "hostname mismatch" in out, out
    rc, out = verify(pki.expired, pki.ca)
    assert rc != 0 and "certificate has expired" in out, out
    rc, out = verify(pki.not_yet_valid, pki.ca)
    assert rc != 0 and "certificate is not yet valid" in out, out
    rc, out = verify(pki.unknown_ca, pki.ca)
    assert rc != 0 and "unable to get local issuer certificate" in out, out
    rc, out = verify(pki.unknown_ca, pki.other_ca, "-verify_hostname", "localhost")
    assert rc == 0, out
    for good, addr in ((pki.ip4, "127.0.0.1"), (pki.ip6, "::1")):
        rc, out = verify(good, pki.ca, "-verify_ip", addr)
        assert rc == 0, out
    for bad in (pki.ip4_other, pki.ip_as_dns):
        rc, out = verify(bad, pki.ca, "-verify_ip", "127.0.0.1")
        assert rc != 0 and "IP address mismatch" in out, out
    return pki


def server_context(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx


# --- the aiosmtpd smarthost -------------------------------------------------------------


class Connection:
    """One TCP connection the smarthost accepted."""

    def __init__(self, number, peer):
        self.number = number
        self.peer = peer
        self.ehlo = []          # EHLO/HELO names, in order
        self.tls = False        # TLS was on (STARTTLS done, or implicit TLS)
        self.cipher = None
        self.auth = []          # (mechanism, login, password, accepted)
        self.transcript = bytearray()  # every plaintext byte the client sent
        self.command_log = []   # "VERB arg" of every command line, as dispatched
        self.closed = False

    def commands(self):
        """The commands as the smarthost read them, in order (message data and AUTH continuations excluded)."""
        return list(self.command_log)


class Transaction:
    """One completed DATA (whatever the final reply)."""

    def __init__(self, connection, mail_from, rcpt_tos, mail_options, content, reply):
        self.connection = connection
        self.mail_from = mail_from      # "" for the null sender
        self.rcpt_tos = list(rcpt_tos)
        self.mail_options = list(mail_options)
        self.content = bytes(content)   # the message as received (dot-unstuffed, CRLF)
        self.reply = reply
        self.time = time.monotonic()

    @property
    def accepted(self):
        return self.reply.startswith("2")

    def header(self, name):
        msg = email.message_from_bytes(self.content, policy=email.policy.compat32)
        return msg[name]

    @property
    def message_id(self):
        """The Message-ID: of the message (a cheap look at the header block)."""
        head = self.content.split(b"\r\n\r\n", 1)[0]
        m = re.search(rb"(?mi)^Message-ID:[ \t]*(\S+)\r?$", head)
        return m.group(1).decode() if m else None


class _SMTP(SMTP):
    """aiosmtpd's SMTP with connection bookkeeping, a transcript and the null sender."""

    def __init__(self, host, handler, **kw):
        self._host = host
        self.rec = None
        super().__init__(handler, **kw)
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._recording(verb, method)

    def _recording(self, verb, method):
        async def call(arg):
            if self.rec is not None:
                self.rec.command_log.append(verb if arg is None else f"{verb} {arg}")
            return await method(arg)
        return call

    def connection_made(self, transport):
        starttls = self.transport is not None and self._original_transport is not None
        super().connection_made(transport)
        if self.rec is None:
            self.rec = self._host._new_connection(transport)
        if starttls or transport.get_extra_info("ssl_object") is not None:
            self.rec.tls = True
            obj = transport.get_extra_info("ssl_object")
            self.rec.cipher = obj.cipher() if obj is not None else None

    def data_received(self, data):
        if self.rec is not None:
            self.rec.transcript += data
        super().data_received(data)

    def connection_lost(self, exc):
        if self.rec is not None:
            self.rec.closed = True
            with self._host.lock:
                self._host.transports.discard(self.transport)
        super().connection_lost(exc)

    def _getaddr(self, arg):
        # RFC 5321 4.5.5: MAIL FROM:<> is valid (bounces). Stock aiosmtpd refuses an empty address,
        # so the null sender travels as the marker "<>" and is recorded as "".
        if arg is not None and arg.lstrip().startswith("<>"):
            return "<>", arg.lstrip()[2:]
        return super()._getaddr(arg)


class _Handler:
    def __init__(self, host):
        self.host = host

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        server.rec.ehlo.append(hostname)
        if self.host.pipelining:
            responses = responses[:-1] + ["250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        sender = "" if address == "<>" else address
        self.host.mail_seen.append((server.rec.number, sender))
        deadline = time.monotonic() + 30
        while self.host._held and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        reply = self.host.mail_replies.get(sender)
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.host.rcpt_reply(address)
        self.host.rcpt_seen.append((server.rec.number, address, reply))
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply

    async def handle_DATA(self, server, session, envelope):
        mail_from = "" if envelope.mail_from == "<>" else envelope.mail_from
        reply = self.host.data_reply(mail_from, envelope.rcpt_tos, envelope.content) if self.host.data_reply else None
        reply = reply or "250 2.0.0 Ok: queued"
        with self.host.lock:
            self.host.transactions.append(Transaction(server.rec.number, mail_from, envelope.rcpt_tos,
                                                      envelope.mail_options, envelope.content, reply))
        if self.host.reply_delay:  # committed, then a slow reply: the window in which a client crash duplicates
            await asyncio.sleep(self.host.reply_delay)
        if self.host.on_reply is not None:
            self.host.on_reply(self.host.transactions[-1])
        return reply


class Smarthost:
    """A scripted aiosmtpd smarthost (see the module docstring)."""

    def __init__(self, mode="plain", cert=None, port=None, auth=None, mechanisms=("PLAIN", "LOGIN"),
                 pipelining=True, name="smarthost.example.test", idle_timeout=300, size_limit=33554432,
                 host=LOOPBACK):
        assert mode in ("plain", "starttls", "tls")
        assert mode == "plain" or cert is not None
        self.mode = mode
        self.cert = cert
        self.host = host  # the loopback address it listens on
        self._reservation = reserve_port(port or 0, host)  # while down: refused, and nobody else takes the port
        self.port = self._reservation.getsockname()[1]
        self.auth = auth  # (user, password) or None
        self.mechanisms = tuple(mechanisms)
        self.pipelining = pipelining
        self.name = name
        self.idle_timeout = idle_timeout  # seconds without a command before the smarthost closes the connection
        self.size_limit = size_limit      # advertised as SIZE, larger messages refused
        self.lock = threading.Lock()
        self.connections = []
        self.transactions = []
        self.mail_seen = []
        self.rcpt_seen = []
        self.transports = set()
        self.mail_replies = {}     # sender ("" for <>) -> reply to MAIL
        self.rcpt_replies = {}     # address -> reply ("450 4.2.0 ...", "550 5.1.1 ...")
        self.data_reply = None     # callable(mail_from, rcpt_tos, content) -> reply or None (250)
        self.accept_auth = True    # False: every AUTH gets 535
        self.auth_reply = None     # the reply to a refused login instead of 535 5.7.8 (Microsoft's 535 5.7.139 ...)
        self.reply_delay = 0       # seconds between recording a message and answering its data
        self.on_reply = None       # callable(Transaction), called just before the reply to the data is sent
        self._held = False
        self.controller = None

    # scripted behaviour ----------------------------------------------------------------
    def rcpt_reply(self, address):
        reply = self.rcpt_replies.get(address)
        if callable(reply):
            reply = reply(address)
        return reply or "250 2.1.5 Ok"

    def hold(self):
        """MAIL waits (at most 30 s) until release(): the message stays in flight at the gateway."""
        self._held = True

    def release(self):
        self._held = False

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = self.accept_auth and self.auth is not None and (login, password) == tuple(self.auth)
        server.rec.auth.append((mechanism, login, password, ok))
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # default: 535 5.7.8 Authentication credentials invalid
        return AuthResult(success=False, handled=False, message=self.auth_reply)

    # life cycle ------------------------------------------------------------------------
    def _new_connection(self, transport):
        with self.lock:
            c = Connection(len(self.connections) + 1, transport.get_extra_info("peername"))
            self.connections.append(c)
            self.transports.add(transport)
            return c

    def _factory(self, loop):
        kw = dict(hostname=self.name, ident="test smarthost", enable_SMTPUTF8=False, timeout=self.idle_timeout,
                  data_size_limit=self.size_limit)
        if self.mode == "starttls":
            kw.update(tls_context=server_context(self.cert), require_starttls=True)
        if self.auth is not None:
            kw.update(authenticator=self._authenticator, auth_require_tls=self.mode == "starttls",
                      auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in self.mechanisms])
        return _SMTP(self, _Handler(self), loop=loop, **kw)

    def up(self):
        assert self.controller is None, "already up"
        host = self
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

        class _Controller(Controller):
            def factory(self):
                return host._factory(self.loop)

        self.controller = _Controller(_Handler(self), hostname=self.host, port=self.port,
                                      ssl_context=server_context(self.cert) if self.mode == "tls" else None,
                                      ready_timeout=10)
        self.controller.start()
        return self

    start = up

    def down(self):
        """Closes every connection (abort) and the listener: nothing listens on the port any more."""
        if self.controller is None:
            return
        controller, self.controller = self.controller, None

        aborted = threading.Event()

        def abort_all():
            try:
                with self.lock:
                    for t in list(self.transports):
                        try:
                            t.abort()  # their connection_lost() runs next, before the loop sees stop()
                        except AttributeError:
                            pass  # a TLS transport asyncio has already torn down (its _ssl_protocol is None)
            finally:
                aborted.set()

        controller.loop.call_soon_threadsafe(abort_all)
        assert aborted.wait(10), "the smarthost's event loop did not abort its connections"
        controller.stop()
        try:
            self._reservation = reserve_port(self.port, self.host)
        except OSError:
            self._reservation = None

    def close(self):
        self.down()
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    stop = down

    # observations ----------------------------------------------------------------------
    @property
    def sessions(self):
        """The connections that said EHLO or HELO (aiosmtpd's own start-up probe excluded)."""
        with self.lock:
            return [c for c in self.connections if c.ehlo]

    @property
    def messages(self):
        """The transactions that ended with a 2xx reply."""
        with self.lock:
            return [t for t in self.transactions if t.accepted]

    def wait_messages(self, n, timeout=15):
        return wait_for(lambda: len(self.messages) >= n and self.messages, timeout,
                        what=f"{n} message(s) at the smarthost on port {self.port} (have {len(self.messages)})")

    def deliveries(self):
        """[(recipient, Message-ID)] of every accepted transaction, one entry per recipient."""
        out = []
        for t in self.messages:
            mid = t.message_id
            out += [(r, mid) for r in t.rcpt_tos]
        return out


class Staller:
    """A raw smarthost that answers EHLO, MAIL, RCPT and DATA (354) and then stalls.

    mode "stop-reading": reads `read_after_data` bytes of the message and stops reading
    (small receive buffer), until release(); "no-reply": reads the whole message
    including the final dot and never answers. Records per connection: commands,
    the bytes of data read, whether the final dot came, and whether EOF came.
    """

    def __init__(self, mode="stop-reading", port=None, read_after_data=65536):
        assert mode in ("stop-reading", "no-reply")
        self.mode = mode
        self.port = port or free_port()
        self.read_after_data = read_after_data
        self.conns = []
        self.released = threading.Event()
        self.stopping = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.lsock.bind((LOOPBACK, self.port))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = {"commands": [], "data_bytes": 0, "final_dot": False, "eof": False, "stalled": False}
            self.conns.append(rec)
            threading.Thread(target=self._serve, args=(s, rec), daemon=True).start()

    def _serve(self, s, rec):
        s.settimeout(60)
        buf = b""

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    raise EOFError
                buf += chunk
            out, buf = buf.split(b"\r\n", 1)
            return out.decode("latin-1")

        try:
            s.sendall(b"220 staller.example.test ESMTP\r\n")
            while True:
                cmd = line()
                rec["commands"].append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    s.sendall(b"250-staller.example.test\r\n250-SIZE 52428800\r\n250 8BITMIME\r\n")
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    s.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "QUIT":
                    s.sendall(b"221 2.0.0 Bye\r\n")
                    return
                elif verb == "DATA":
                    s.sendall(b"354 go ahead\r\n")
                    break
                else:
                    s.sendall(b"502 5.5.2 not here\r\n")
            data = buf
            if self.mode == "stop-reading":
                while len(data) < self.read_after_data:
                    chunk = s.recv(4096)
                    if not chunk:
                        raise EOFError
                    data += chunk
                rec["data_bytes"] = len(data)
                rec["stalled"] = True
                self.released.wait(120)
            else:
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        raise EOFError
                    data += chunk
                rec["data_bytes"] = len(data)
                rec["final_dot"] = True
                rec["stalled"] = True
            # from here on: read (never answer) until the client goes away
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError
                rec["data_bytes"] += len(chunk)
                if (data[-5:] + chunk).endswith(b"\r\n.\r\n"):
                    rec["final_dot"] = True
                data = data[-5:] + chunk
        except (EOFError, ConnectionResetError):
            rec["eof"] = True
        except OSError:
            pass
        finally:
            s.close()

    def release(self):
        self.released.set()

    def close(self):
        self.released.set()
        self.stopping.set()
        self.lsock.close()
        self.thread.join(5)


class StarttlsInjector:
    """A raw STARTTLS smarthost that sends a forged plaintext reply right behind its "220" to STARTTLS
    (CVE-2011-0411 class, client side), then does the TLS handshake and serves one plain transaction.

    After TLS it holds back its EHLO reply for `hold` seconds and records whether the client sent anything
    meanwhile (`early`): a client that took the forged line for the EHLO reply would go on with AUTH or MAIL.
    """

    FORGED = b"250 forged-before-tls\r\n"

    def __init__(self, cert, port=None, hold=0.5):
        self.port = port or free_port()
        self.ctx = server_context(cert)
        self.hold = hold
        self.early = None
        self.commands = []
        self.messages = []
        self.error = None
        self.conn = None
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((LOOPBACK, self.port))
        self.lsock.listen(4)
        self.lsock.settimeout(30)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            s, _ = self.lsock.accept()
        except OSError as e:
            self.error = e
            return
        self.conn = s
        s.settimeout(15)
        buf = b""

        def line(sock):
            nonlocal buf
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise EOFError
                buf += chunk
            out, buf = buf.split(b"\r\n", 1)
            self.commands.append(out.decode("latin-1"))
            return out

        try:
            s.sendall(b"220 injector.example.test ESMTP\r\n")
            line(s)  # EHLO
            s.sendall(b"250-injector.example.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
            if line(s).upper() != b"STARTTLS":
                return
            s.sendall(b"220 2.0.0 Ready to start TLS\r\n" + self.FORGED)
            t = self.ctx.wrap_socket(s, server_side=True)
            self.conn = s = t
            buf = b""
            line(t)  # EHLO over TLS
            t.settimeout(self.hold)
            try:
                early = t.recv(65536)
            except socket.timeout:
                early = b""
            self.early = early
            buf = early
            t.settimeout(15)
            t.sendall(b"250-injector.example.test\r\n250 8BITMIME\r\n")
            while True:
                cmd = line(t).upper()
                if cmd.startswith(b"DATA"):
                    t.sendall(b"354 go ahead\r\n")
                    while b"\r\n.\r\n" not in buf:
                        chunk = t.recv(65536)
                        if not chunk:
                            raise EOFError
                        buf += chunk
                    data, buf = buf.split(b"\r\n.\r\n", 1)
                    self.messages.append(data + b"\r\n")
                    t.sendall(b"250 2.0.0 Ok: queued\r\n")
                elif cmd.startswith(b"QUIT"):
                    t.sendall(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    t.sendall(b"250 2.0.0 Ok\r\n")
        except (EOFError, OSError, ssl.SSLError) as e:
            self.error = e
        finally:
            s.close()

    def close(self):
        self.lsock.close()
        if self.conn is not None:
            try:
                self.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(20)


class RawConnection:
    """What one client of a RawSmarthost did."""

    def __init__(self, number):
        self.number = number
        self.commands = []       # every command line read (plaintext and TLS), in order
        self.plain = bytearray()  # every byte read before TLS (the whole connection without TLS)
        self.tls = False         # the TLS handshake succeeded
        self.tls_error = None    # why the server side of the handshake failed
        self.sent = 0            # bytes of replies we sent
        self.cut = False         # the client went away in the middle of one of our replies
        self.messages = []       # the message data of every DATA (dot-stuffed, without the final dot)
        self.closed = False      # the connection is over

    def verbs(self):
        return [c.split(" ", 1)[0].upper() for c in self.commands]


class RawSmarthost:
    """A raw smarthost that answers from a script, for replies no real server would send.

    `script` maps a stage to a reply: "greeting", "ehlo", "starttls", "mail", "rcpt", "data" (the 354),
    "end" (after the final dot), "rset", "quit". A reply is bytes, or a callable returning an iterable of
    byte chunks (a flood: sent until the client goes away, at most `flood_cap` bytes). A stage the script
    leaves out gets the good default. With `ctx` (an ssl server context), STARTTLS is offered and a "220"
    to it is followed by the handshake (unless the script has "handshake": False: the connection then goes
    on in plaintext, as a stripping middlebox would: a 500 to the ClientHello); with `implicit=True` the handshake
    comes first. After a
    failed handshake the connection is read to its end and recorded. Assign `script` to switch behaviour:
    each connection reads it when it starts. Serves at most `max_connections` connections, one at a time.
    """

    GOOD = {
        "greeting": b"220 raw.example.test ESMTP\r\n",
        "starttls": b"220 2.0.0 Ready to start TLS\r\n",
        "mail": b"250 2.1.0 Ok\r\n",
        "rcpt": b"250 2.1.5 Ok\r\n",
        "data": b"354 End data with <CR><LF>.<CR><LF>\r\n",
        "end": b"250 2.0.0 Ok: queued as RAW\r\n",
        "rset": b"250 2.0.0 Ok\r\n",
        "quit": b"221 2.0.0 Bye\r\n",
    }

    def __init__(self, script=None, ctx=None, implicit=False, port=None, max_connections=16, flood_cap=256 << 20):
        self.script = dict(script or {})
        self.ctx = ctx
        self.implicit = implicit
        self.max_connections = max_connections
        self.flood_cap = flood_cap
        self.conns = []
        self.error = None
        self._current = None
        self.stopping = threading.Event()
        self.port = port or free_port()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((LOOPBACK, self.port))
        self.lsock.listen(4)
        self.lsock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def messages(self):
        return [m for c in self.conns for m in c.messages]

    def _reply(self, script, stage):
        if stage == "ehlo":
            starttls = b"250-STARTTLS\r\n" if self.ctx is not None and not self.implicit else b""
            default = b"250-raw.example.test\r\n" + starttls + b"250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        else:
            default = self.GOOD[stage]
        reply = script.get(stage, default)
        return [reply] if isinstance(reply, bytes) else reply()

    def _accept_loop(self):
        while not self.stopping.is_set() and len(self.conns) < self.max_connections:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = RawConnection(len(self.conns) + 1)
            self.conns.append(rec)
            self._current = s
            try:
                self._serve(s, rec, dict(self.script))
            except (EOFError, OSError, ssl.SSLError) as e:
                rec.cut = rec.cut or isinstance(e, (BrokenPipeError, ConnectionResetError))
            except Exception as e:  # a bug of the double: the test says so
                self.error = e
            finally:
                rec.closed = True
                s.close()
        self.lsock.close()

    def _serve(self, s, rec, script):
        s.settimeout(30)
        state = {"sock": s, "buf": b""}

        def send(stage):
            for chunk in self._reply(script, stage):
                try:
                    state["sock"].sendall(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    rec.cut = True
                    raise
                rec.sent += len(chunk)
                if rec.sent > self.flood_cap:
                    raise AssertionError(f"the client still reads after {rec.sent} bytes of replies")

        def recv():
            chunk = state["sock"].recv(65536)
            if not chunk:
                raise EOFError
            if not rec.tls:
                rec.plain += chunk
            return chunk

        def line():
            while b"\r\n" not in state["buf"]:
                if len(state["buf"]) > 65536:
                    raise EOFError
                state["buf"] += recv()
            out, state["buf"] = state["buf"].split(b"\r\n", 1)
            rec.commands.append(out.decode("latin-1"))
            return out.decode("latin-1")

        def handshake():
            try:
                state["sock"] = self.ctx.wrap_socket(s, server_side=True)
            except (ssl.SSLError, OSError) as e:
                rec.tls_error = str(e)
                s.settimeout(5)
                while True:  # whatever the client sends after the failure, up to its close
                    recv()
            rec.tls = True
            state["buf"] = b""

        if self.implicit:
            handshake()
        send("greeting")
        while True:
            verb = line().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                send("ehlo")
            elif verb == "STARTTLS":
                send("starttls")
                if self.ctx is None or not script.get("starttls", b"220").startswith(b"220"):
                    continue
                if script.get("handshake", True):
                    handshake()
                else:  # what a plaintext server says to a ClientHello; then on in plaintext
                    recv()
                    state["sock"].sendall(b"500 5.5.2 Error: command not recognized\r\n")
            elif verb in ("MAIL", "RCPT", "RSET", "QUIT"):
                send(verb.lower())
                if verb == "QUIT":
                    return
            elif verb == "AUTH":  # any credentials will do: what matters is whether they came
                state["sock"].sendall(b"235 2.7.0 Authentication successful\r\n")
            elif verb == "DATA":
                send("data")
                while b"\r\n.\r\n" not in b"\r\n" + state["buf"]:
                    state["buf"] += recv()
                data, state["buf"] = (b"\r\n" + state["buf"]).split(b"\r\n.\r\n", 1)
                rec.messages.append(data[2:] + b"\r\n")
                send("end")
            else:
                state["sock"].sendall(b"502 5.5.2 not here\r\n")

    def close(self):
        self.stopping.set()
        if self._current is not None:
            try:
                self._current.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(10)
        try:
            self.lsock.close()
        except OSError:
            pass


# --- the gateway side -------------------------------------------------------------------


def relay_settings(host_port, tls="none", host="127.0.0.1", **extra):
    """Settings for SubgateServer: a smarthost, short retries, a short relay timeout."""
    target = f"[{host}]:{host_port}" if not re.fullmatch(r"[0-9.]+", host) else f"{host}:{host_port}"
    settings = {"smarthost": target, "smarthost_tls": tls, "retry_min": "1s", "retry_max": "2s",
                "relay_timeout": "10"}
    settings.update({k: str(v) for k, v in extra.items()})
    return settings


def write_secret(directory, user=SMARTHOST_USER, password=SMARTHOST_PASSWORD, name="smarthost.secret"):
    path = Path(directory) / name
    path.write_text(f"{user}:{password}\n")
    path.chmod(0o600)
    return path


def relay_pids(server, start=0):
    """Every relay pid the log announced ("relay process started (pid N)"), from offset `start`."""
    return [int(p) for p in re.findall(r"relay process started \(pid (\d+)\)", server.log_text()[start:])]


def spool_where(server, qid):
    """'queue', 'defer' or None."""
    for where in ("queue", "defer"):
        if (server.spool / where / qid).exists():
            return where
    return None


def spool_ids(server, where):
    try:
        return sorted(n for n in os.listdir(server.spool / where) if re.fullmatch(r"[0-9a-f]{16}", n))
    except FileNotFoundError:
        return []


def pending_ids(server):
    """Every message id in queue/ or defer/."""
    return sorted(set(spool_ids(server, "queue")) | set(spool_ids(server, "defer")))


class SpoolEnvelope:
    """The envelope of a spool file in queue/ or defer/ with its recipient states (P, D, B)."""

    def __init__(self, path):
        self.path = Path(path)
        data = self.path.read_bytes()
        head, sep, self.message = data.partition(b"\n\n")
        assert sep, path
        lines = head.decode().split("\n")
        assert lines[0] == "subgate-spool 1", lines
        self.arrival = int(lines[1].split()[1])
        self.sender = lines[2][len("sender "):]
        self.rcpts = [tuple(line.split(" ")[1:3]) for line in lines[5:]]  # [(state, addr)]
        self.mtime = os.stat(self.path).st_mtime

    def state(self, addr):
        return dict((a, s) for s, a in self.rcpts)[addr]


def read_envelope(server, qid):
    """The envelope of `qid` wherever it is (retries across a queue/ -> defer/ rename)."""
    def attempt():
        for where in ("queue", "defer"):
            try:
                return SpoolEnvelope(server.spool / where / qid)
            except FileNotFoundError:
                continue
        return None
    return wait_for(attempt, 5, interval=0.02, what=f"spool file {qid} in queue/ or defer/")


def write_spool_file(spool, qid, sender, rcpts, message, arrival=None, user="handmade", client="127.0.0.1"):
    """A queue file in the documented format, written to tmp/ and renamed into queue/."""
    arrival = int(time.time()) if arrival is None else arrival
    head = f"subgate-spool 1\narrival {arrival}\nsender {sender}\nuser {user}\nclient {client}\n"
    head += "".join(f"rcpt P {r}\n" for r in rcpts) + "\n"
    tmp = Path(spool) / "tmp" / qid
    tmp.write_bytes(head.encode() + message)
    tmp.chmod(0o600)
    owner = (Path(spool) / "queue").stat()  # the jailed queue process reads it as the spool's account
    os.chown(tmp, owner.st_uid, owner.st_gid)
    os.rename(tmp, Path(spool) / "queue" / qid)


# --- processes and sockets --------------------------------------------------------------


def _socket_inodes(pid):
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", target)
            if m:
                out.add(int(m.group(1)))
    except FileNotFoundError:
        pass
    return out


def relay_sockets(pid, port):
    """How many TCP sockets process `pid` holds whose remote port is `port` (from /proc/net/tcp)."""
    inodes = _socket_inodes(pid)
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) > 9 and int(f[2].rsplit(":", 1)[1], 16) == port and int(f[9]) in inodes:
                n += 1
    return n


# --- bounces ----------------------------------------------------------------------------


def parse_bounce(content):
    """(message, {content type: part}, [per-recipient delivery-status field dicts])."""
    msg = email.message_from_bytes(content, policy=email.policy.compat32)
    parts = {}
    recipients = []
    assert msg.is_multipart(), content[:500]
    for part in msg.get_payload():
        parts[part.get_content_type()] = part
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()  # [per-message fields, per-recipient fields...]
            recipients = [dict(b.items()) for b in blocks[1:]]
    return msg, parts, recipients
