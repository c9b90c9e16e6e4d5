"""Outside judges: tools an attacker or an auditor would point at the gateway (issue 13, section 4).

- testssl.sh (Debian's package) against 587 (`-t smtp`, STARTTLS) and 465 (implicit TLS): no finding
  at MEDIUM or above about the server's own TLS configuration. The findings that only say the
  test certificate is self-signed and has no revocation information are listed in
  TEST_CERTIFICATE_FINDINGS and nothing else is excused.
- nmap's smtp-open-relay script on both ports: "isn't an open relay".
- hydra with a bounded word list (the right password last) against AUTH on 465 and on 587 with
  STARTTLS: it finds nothing, because the limiter shuts the address out first, and the log says so.

Each tool runs once, bounded in time, against a server of the test's own on 127.0.0.1; the
tools are installed by the Makefile (TEST_TOOLS).
"""

import json
import shutil
import subprocess

import pytest

from smtpkit import HOST, PASSWORD, USER

# What testssl says of a self-signed certificate with no CRL or OCSP address. Nothing else.
TEST_CERTIFICATE_FINDINGS = {
    "cert_chain_of_trust": "the test certificate is self-signed",
    "cert_revocation": "the test certificate names neither CRL nor OCSP",
}
SERIOUS = {"MEDIUM", "HIGH", "CRITICAL"}
TOOL_TIMEOUT = 600  # seconds: a guard; testssl takes about a minute per port here


def _tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed (the Makefile's TEST_TOOLS installs it)"
    return path


@pytest.fixture
def judged_server(make_server, tmp_path):
    """A server with a certificate as an operator would install one: SAN for its name and
    127.0.0.1, EC P-256, valid for a year."""
    cert, key = tmp_path / "judge-cert.pem", tmp_path / "judge-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "400", "-subj", f"/CN={HOST}",
                    "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    server = make_server(start=False)
    (server.dir / "cert.pem").write_bytes(cert.read_bytes())
    (server.dir / "key.pem").write_bytes(key.read_bytes())
    server.start()
    return server


def _testssl(tmp_path, target, *extra):
    out = tmp_path / "testssl.json"
    r = subprocess.run([_tool("testssl"), "--quiet", "--color", "0", "--warnings", "off", "--nodns", "min",
                        "-p", "-s", "-f", "-P", "-S", "-U", "--jsonfile-pretty", str(out), *extra, target],
                       capture_output=True, text=True, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    assert out.exists(), f"testssl wrote no result (exit {r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-2000:]}"
    findings = []
    for scan in json.loads(out.read_text())["scanResult"]:
        for section, items in scan.items():
            if isinstance(items, list):
                findings += [(section, i["id"], i["severity"], i["finding"]) for i in items if isinstance(i, dict)]
    assert any(f[1] == "TLS1_2" for f in findings), f"testssl did not get as far as the protocols: {findings}"
    return findings


def _serious(findings):
    return [f for f in findings if f[2] in SERIOUS and f[1] not in TEST_CERTIFICATE_FINDINGS]


@pytest.mark.parametrize("port", ["587", "465"])
def test_testssl_finds_nothing_serious(judged_server, tmp_path, port):
    if port == "587":
        findings = _testssl(tmp_path, f"127.0.0.1:{judged_server.port}", "-t", "smtp")
    else:
        findings = _testssl(tmp_path, f"127.0.0.1:{judged_server.tls_port}")
    excused = sorted({(f[1], f[2], f[3]) for f in findings if f[1] in TEST_CERTIFICATE_FINDINGS and f[2] in SERIOUS})
    print(f"\ntestssl {port}: {len(findings)} findings; excused (test certificate): {excused}")
    assert _serious(findings) == []
    offered = {f[1]: f[3] for f in findings if f[1] in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")}
    assert offered.get("SSLv3") == "not offered" and offered.get("SSLv2") == "not offered", offered


def test_nmap_sees_no_open_relay(judged_server):
    ports = f"{judged_server.port},{judged_server.tls_port}"
    r = subprocess.run([_tool("nmap"), "-Pn", "-n", "-sV", "--version-light", "-p", ports, "--script",
                        "smtp-open-relay", "--script-args",
                        f"smtp-open-relay.domain={HOST},smtp-open-relay.ip=127.0.0.1", "127.0.0.1"],
                       capture_output=True, text=True, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    verdicts = [line for line in r.stdout.splitlines() if "smtp-open-relay:" in line]
    print("\n" + "\n".join(verdicts))
    assert len(verdicts) == 2, r.stdout
    assert all("isn't an open relay" in v for v in verdicts), r.stdout
    assert "Server is an open relay" not in r.stdout


@pytest.mark.parametrize("port", ["465", "587"])
def test_hydra_is_shut_out_before_the_right_password(judged_server, tmp_path, port):
    words = tmp_path / "words"
    words.write_text("".join(f"wrong-{i}\n" for i in range(30)) + PASSWORD + "\n")
    args = [_tool("hydra"), "-I", "-l", USER, "-P", str(words), "-t", "4", "-w", "10"]
    if port == "465":
        args += ["-s", str(judged_server.tls_port), "-S", "127.0.0.1", "smtp"]
    else:
        args += ["-s", str(judged_server.port), "-m", "TLS", "127.0.0.1", "smtp"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    print("\n" + "\n".join(line for line in r.stdout.splitlines() if "valid password" in line))
    assert "0 valid password found" in r.stdout, r.stdout + r.stderr
    assert PASSWORD not in r.stdout
    judged_server.wait_log(r"client=\[127\.0\.0\.1\]: too many failed logins")
