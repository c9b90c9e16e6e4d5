"""`subgate cert --self-signed`: a key and a self-signed certificate made by subgate (BearSSL only).

Covers: the files (modes 0600/0644, PEM labels, no temporary file left), the certificate as
OpenSSL and python-cryptography read it (v3, CN and SAN, ecdsa-with-SHA256, positive 16-byte
serial, the extensions and their criticality, the validity period, UTCTime/GeneralizedTime),
`openssl verify -x509_strict` with the certificate as its own CA; usage errors (64), refusing
to replace a file without --force (73, naming it, leaving both files as they were), --force
making a new key; defaults from the configuration (tls_cert, tls_key, hostname) and no
configuration needed when --cert, --key and --hostname are given; `subgate check` accepting
the pair; and a real `subgate serve` with the pair: `openssl s_client -verify_return_error
-verify_hostname` (Verify return code: 0), Python's default context with X509_STRICT and the
certificate as cafile (handshake, then an smtplib login), and a wrong name refused.
"""

import base64
import datetime
import os
import re
import smtplib
import socket
import ssl
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import EX_NOINPUT, EX_OK, EX_USAGE
from smtpkit import HOST, PASSWORD, USER

EX_CANTCREAT = 73
DAY = 86400


def make_pair(subgate, d, *extra, host=HOST):
    cert, key = d / "cert.pem", d / "key.pem"
    r = subgate("cert", "--self-signed", "--cert", cert, "--key", key, "--hostname", host, *extra)
    return r, cert, key


def load(cert):
    return x509.load_pem_x509_certificate(cert.read_bytes())


def validity(c):
    """(notBefore, notAfter) as Unix times (python-cryptography before 42 has only the naive-UTC properties)."""
    nb, na = c.not_valid_before, c.not_valid_after
    return (int(nb.replace(tzinfo=datetime.timezone.utc).timestamp()),
            int(na.replace(tzinfo=datetime.timezone.utc).timestamp()))


def openssl(*args, input=None):
    return subprocess.run(["openssl", *[str(a) for a in args]], capture_output=True, text=True, input=input,
                          timeout=30, stdin=subprocess.DEVNULL if input is None else None)


def test_files_modes_and_pem(subgate, tmp_path):
    r, cert, key = make_pair(subgate, tmp_path)
    assert r.returncode == EX_OK, r.stderr
    assert stat.S_IMODE(cert.stat().st_mode) == 0o644
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.pem", "key.pem"]  # no temporary left
    assert key.read_text().startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert key.read_text().endswith("-----END EC PRIVATE KEY-----\n")
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----\n")
    # the report: both paths, the fingerprint and the pin, as OpenSSL computes them
    assert f"key:         {key} (EC P-256, mode 0600)" in r.stdout
    c = load(cert)
    fp = ":".join(f"{b:02X}" for b in c.fingerprint(hashes.SHA256()))
    assert f"sha256:      {fp}\n" in r.stdout
    spki = c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pin = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=spki, capture_output=True).stdout
    assert f"pin:         sha256/{base64.b64encode(pin).decode()}\n" in r.stdout
    # the key is the certificate's, and valid
    k = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp256r1"
    assert k.public_key().public_numbers() == c.public_key().public_numbers()
    assert openssl("ec", "-in", key, "-check", "-noout").returncode == 0


def test_openssl_text_shows_name_and_san(subgate, tmp_path):
    r, cert, _ = make_pair(subgate, tmp_path)
    assert r.returncode == EX_OK, r.stderr
    t = openssl("x509", "-in", cert, "-noout", "-text")
    assert t.returncode == 0, t.stderr
    assert "Version: 3 (0x2)" in t.stdout
    assert f"Subject: CN = {HOST}" in t.stdout
    assert f"Issuer: CN = {HOST}" in t.stdout
    assert f"DNS:{HOST}" in t.stdout
    assert "Signature Algorithm: ecdsa-with-SHA256" in t.stdout
    assert "NIST CURVE: P-256" in t.stdout
    assert re.search(r"X509v3 Basic Constraints: critical\s+CA:FALSE", t.stdout)
    assert "TLS Web Server Authentication" in t.stdout
    v = openssl("verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", cert, "-verify_hostname", HOST, cert)
    assert v.returncode == 0 and v.stdout.strip().endswith("OK"), v.stdout + v.stderr
    v = openssl("verify", "-CAfile", cert, "-verify_hostname", "other.example.test", cert)
    assert v.returncode != 0


def test_certificate_fields(subgate, tmp_path):
    before = int(time.time())
    r, cert, _ = make_pair(subgate, tmp_path)
    assert r.returncode == EX_OK, r.stderr
    c = load(cert)
    assert c.version == x509.Version.v3
    assert c.subject == c.issuer
    assert c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST
    assert c.signature_hash_algorithm.name == "sha256"
    assert 2 ** 126 <= c.serial_number < 2 ** 127  # positive, all 16 bytes used
    ext = {e.oid: e for e in c.extensions}
    bc = c.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == [HOST]
    eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(eku.value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ski = c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert ski.digest == x509.SubjectKeyIdentifier.from_public_key(c.public_key()).digest
    assert aki.key_identifier == ski.digest
    assert len(ext) == 5
    # notBefore: one day before now (this machine's clock is after the build date); 3650 days by default
    nb, na = validity(c)
    assert before - DAY - 5 <= nb <= int(time.time()) - DAY
    assert na - nb == 3650 * DAY
    # the signature is the key's
    c.public_key().verify(c.signature, c.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("days,tag", [(1, 0x17), (36500, 0x18)])
def test_days_and_time_encoding(subgate, tmp_path, days, tag):
    r, cert, _ = make_pair(subgate, tmp_path, "--days", days)
    assert r.returncode == EX_OK, r.stderr
    c = load(cert)
    nb, na = validity(c)
    assert na - nb == days * DAY
    # notAfter is UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5)
    parsed = openssl("asn1parse", "-in", cert).stdout
    times = re.findall(r"prim: (UTCTIME|GENERALIZEDTIME)\s*:(\S+)", parsed)
    assert times[0][0] == "UTCTIME"
    assert times[1][0] == ("UTCTIME" if tag == 0x17 else "GENERALIZEDTIME"), times
    if tag == 0x18:
        assert c.not_valid_after.year > 2100


@pytest.mark.parametrize("args", [
    [],                                                # no --self-signed
    ["--self-signed", "--days", "0"],
    ["--self-signed", "--days", "36501"],
    ["--self-signed", "--days", "ten"],
    ["--self-signed", "--days", "-5"],
    ["--self-signed", "--hostname", "bad_name.example"],
    ["--self-signed", "--hostname", "192.0.2.1"],
    ["--self-signed", "--hostname", "a" * 60 + ".example"],  # longer than a common name may be
    ["--self-signed", "--cert", "same.pem", "--key", "same.pem"],
    ["--self-signed", "--cert"],
    ["--self-signed", "extra"],
    ["--self-signed", "--bogus"],
])
def test_usage_errors(subgate, tmp_path, args):
    full = list(args)
    for opt, val in (("--cert", "c.pem"), ("--key", "k.pem"), ("--hostname", HOST)):
        if opt not in full:
            full = [opt, val] + full
    r = subgate("cert", *full, cwd=tmp_path)
    assert r.returncode == EX_USAGE, (r.returncode, r.stderr)
    assert r.stderr.startswith("subgate: ")
    assert sorted(os.listdir(tmp_path)) == []


def test_refuses_to_overwrite_without_force(subgate, tmp_path):
    r, cert, key = make_pair(subgate, tmp_path)
    assert r.returncode == EX_OK, r.stderr
    old = (cert.read_bytes(), key.read_bytes())
    r, _, _ = make_pair(subgate, tmp_path)
    assert r.returncode == EX_CANTCREAT
    assert f"{key} exists; use --force to replace it" in r.stderr
    assert (cert.read_bytes(), key.read_bytes()) == old
    # only the certificate exists: refused, naming it, and no key is left behind
    key.unlink()
    r, _, _ = make_pair(subgate, tmp_path)
    assert r.returncode == EX_CANTCREAT
    assert f"{cert} exists" in r.stderr
    assert not key.exists() and cert.read_bytes() == old[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.pem"]


def test_force_makes_a_new_key(subgate, tmp_path):
    r, cert, key = make_pair(subgate, tmp_path)
    assert r.returncode == EX_OK, r.stderr
    old_cert, old_key = load(cert), key.read_bytes()
    r, _, _ = make_pair(subgate, tmp_path, "--force", host="mail.example.test")
    assert r.returncode == EX_OK, r.stderr
    new = load(cert)
    assert key.read_bytes() != old_key
    assert new.public_key().public_numbers() != old_cert.public_key().public_numbers()
    assert new.serial_number != old_cert.serial_number
    assert new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["mail.example.test"]
    assert stat.S_IMODE(cert.stat().st_mode) == 0o644
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.pem", "key.pem"]


def test_missing_directory_names_the_file(subgate, tmp_path):
    r = subgate("cert", "--self-signed", "--cert", tmp_path / "no" / "cert.pem", "--key", tmp_path / "key.pem",
                "--hostname", HOST)
    assert r.returncode == EX_CANTCREAT
    assert f"cannot create {tmp_path / 'no' / 'cert.pem'}: No such file or directory" in r.stderr
    assert os.listdir(tmp_path) == []  # the key was not left alone either


def test_configuration_defaults_and_check(subgate, site):
    """tls_cert, tls_key and hostname of the configuration; `subgate check` accepts the result."""
    old_cert = site.cert.read_bytes()
    r = subgate("cert", "--self-signed", "-c", site.conf)
    assert r.returncode == EX_CANTCREAT, r.stderr  # the site's own pair exists
    assert str(site.key) in r.stderr
    assert site.cert.read_bytes() == old_cert
    r = subgate("cert", "--self-signed", "-c", site.conf, "--force", "--days", "30")
    assert r.returncode == EX_OK, r.stderr
    c = load(site.cert)
    assert c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw.example.test"
    assert stat.S_IMODE(site.key.stat().st_mode) == 0o600
    r = subgate("check", "-c", site.conf)
    assert r.returncode == EX_OK, r.stderr
    assert "configuration OK" in r.stdout


def test_no_configuration_needed_with_all_options(subgate, tmp_path):
    missing = tmp_path / "nonexistent.conf"
    r, cert, key = make_pair(subgate, tmp_path, "-c", missing)
    assert r.returncode == EX_OK, r.stderr
    r = subgate("cert", "--self-signed", "-c", missing, "--cert", tmp_path / "c2.pem", "--key", tmp_path / "k2.pem")
    assert r.returncode == EX_NOINPUT
    assert str(missing) in r.stderr and "--hostname" in r.stderr


# --- a real server with the generated pair ---------------------------------------------------------


@pytest.fixture
def served(make_server, subgate):
    """A running subgate serve whose cert.pem/key.pem were made by `subgate cert` from its configuration."""
    server = make_server(start=False)
    r = subgate("cert", "--self-signed", "-c", server.conf, "--force")
    assert r.returncode == EX_OK, r.stderr
    assert subgate("check", "-c", server.conf).returncode == EX_OK
    server.start()
    return server


class SMTPSNamed(smtplib.SMTP_SSL):
    """SMTP over implicit TLS to 127.0.0.1, verifying the certificate for HOST (not for the address)."""

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=HOST)


def strict_context(cafile):
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # as Python 3.13 and later set it by default
    return ctx


def test_openssl_s_client_verifies_the_server(served):
    cert = served.dir / "cert.pem"
    r = openssl("s_client", "-connect", f"127.0.0.1:{served.tls_port}", "-CAfile", cert, "-verify_return_error",
                "-verify_hostname", HOST, "-servername", HOST, input="QUIT\r\n")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Verify return code: 0 (ok)" in r.stdout
    assert "220 gw.example.test ESMTP subgate" in r.stdout
    r = openssl("s_client", "-connect", f"127.0.0.1:{served.tls_port}", "-CAfile", cert, "-verify_return_error",
                "-verify_hostname", "other.example.test", input="QUIT\r\n")
    assert r.returncode != 0


@pytest.mark.parametrize("partial_chain", [False, True])
def test_python_strict_context_and_login(served, partial_chain):
    ctx = strict_context(served.dir / "cert.pem")
    if partial_chain:
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # Python 3.13's default adds it too
    with socket.create_connection(("127.0.0.1", served.tls_port), timeout=15) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as tls:
            peer = tls.getpeercert()
            assert ("DNS", HOST) in peer["subjectAltName"]
            assert tls.recv(100).startswith(b"220 ")
    with SMTPSNamed("127.0.0.1", served.tls_port, context=ctx, timeout=15) as s:
        s.ehlo("client.example.test")
        assert s.login(USER, PASSWORD)[0] == 235
        assert s.noop()[0] == 250


def test_python_refuses_a_wrong_name(served):
    ctx = strict_context(served.dir / "cert.pem")
    with socket.create_connection(("127.0.0.1", served.tls_port), timeout=15) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="other.example.test")


def test_starttls_with_smtplib(served):
    ctx = strict_context(served.dir / "cert.pem")
    with smtplib.SMTP("127.0.0.1", served.port, timeout=15) as s:
        s.ehlo("client.example.test")
        s._host = HOST  # starttls() checks the certificate against the name the client connected to
        s.starttls(context=ctx)
        s.ehlo("client.example.test")
        assert s.login(USER, PASSWORD)[0] == 235

