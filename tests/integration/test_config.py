"""`subgate check -c FILE` and `subgate config -c FILE`: the runtime configuration.

Covers: the parser (syntax, comments, CRLF, unknown and duplicated keys, line
numbers in messages, value ranges and formats, cross-key rules on the
smarthost), the error report format ("subgate: FILE:LINE: key: message", the
"(default)" form, the final "N error(s)" line, exit 78; missing file exit 66),
the file checks that only `check` does (certificate and key PEM, private key
mode, RSA and EC keys, users.cdb, smarthost_ca, smarthost_auth, run_as,
spool), the printout of `config` (defaults from Kconfig, relative paths
resolved against the file's directory, output re-readable to a fixed point),
the key table of `config --keys` and that man/subgate.conf.5 documents
exactly its keys, one duration syntax for every time key, and the example
files shipped in conf/.
"""

import os
import pwd
import re
import shutil

import pytest

from conftest import EX_CONFIG, EX_NOINPUT, EX_USAGE, REPO, env_skip

PIN = "sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of bytes 0..31


@pytest.fixture(scope="module")
def build_settings(subgate):
    r = subgate("version")
    assert r.returncode == 0
    features = {w[1:]: w[0] == "+" for w in re.search(r"^features:(.*)$", r.stdout, re.M).group(1).split()}
    settings = dict(re.findall(r"^  ([A-Z0-9_]+)=(.*)$", r.stdout, re.M))
    return features, {k: v.strip('"') for k, v in settings.items()}


def errors_of(r):
    return r.stderr.splitlines()


def assert_config_error(r, conf, expected_lines):
    """Exactly these error lines (in order), exit 78, nothing on stdout.

    `check` ends with a count line ("N error(s)"); `config` prints the errors only.
    """
    n = len(expected_lines)
    assert r.returncode == EX_CONFIG, r.stderr
    assert r.stdout == ""
    expected = [f"subgate: {line}" for line in expected_lines]
    if r.args[1] == "check":
        expected.append(f"subgate: {conf}: {n} error{'s' if n != 1 else ''}")
    assert errors_of(r) == expected, r.stderr


def assert_check_ok(r, conf):
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{conf}: configuration OK\n"


def config_values(stdout):
    """{key: [values]} of the non-comment lines of a `subgate config` printout."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


# --- the valid site -------------------------------------------------------------


def test_site_passes_check(subgate, site):
    r = subgate("check", "-c", site.conf)
    assert_check_ok(r, site.conf)
    assert r.stderr == ""


def test_check_from_another_directory_resolves_relative_paths(subgate, site, tmp_path):
    """Relative paths are taken from the config file's directory, not the cwd."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subgate("check", "-c", os.path.relpath(site.conf, elsewhere), cwd=elsewhere)
    assert_check_ok(r, os.path.relpath(site.conf, elsewhere))


def test_check_accepts_crlf_line_endings(subgate, site):
    site.conf.write_bytes(site.conf.read_bytes().replace(b"\n", b"\r\n"))
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


def test_check_accepts_rsa_key(subgate, site, certs, build_settings):
    shutil.copyfile(certs["rsa"].cert, site.cert)
    shutil.copyfile(certs["rsa"].key, site.key)
    site.key.chmod(0o600)
    r = subgate("check", "-c", site.conf)
    if build_settings[0].get("TLS_PROFILE_EC_ONLY"):
        assert_config_error(r, site.conf, [f"{site.conf}:{site.line_of('tls_key')}: tls_key: RSA key, "
                                           "but this build is EC-only (CONFIG_TLS_PROFILE_EC_ONLY)"])
    else:
        assert_check_ok(r, site.conf)


def test_check_accepts_group_readable_key(subgate, site):
    site.key.chmod(0o640)
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


def test_config_prints_effective_settings(subgate, site, build_settings):
    _, settings = build_settings
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == f"# effective settings of {site.conf}"
    v = config_values(r.stdout)
    d = str(site.dir)
    assert v["hostname"] == ["gw.example.test"]
    assert v["helo_name"] == ["gw.example.test"]  # defaults to hostname
    assert v["listen"] == ["127.0.0.1:5587 starttls", "[::1]:2465 tls"]
    assert v["tls_cert"] == [f"{d}/cert.pem"]
    assert v["tls_key"] == [f"{d}/key.pem"]  # the trailing comment is gone
    assert v["users"] == [f"{d}/users.cdb"]
    assert v["spool"] == [f"{d}/spool"]
    assert v["run_as"] == ["nobody"]
    assert v["max_message_size"] == [str(10 * 1024 * 1024)]
    assert v["spool_max_messages"] == [settings["SPOOL_MAX_MESSAGES"]]
    assert v["spool_max_size"] == [str(int(settings["SPOOL_MAX_KBYTES"]) * 1024)]
    assert v["spool_min_free"] == [str(int(settings["SPOOL_MIN_FREE_KBYTES"]) * 1024)]
    assert v["queue_lifetime"] == [f"{int(settings['QUEUE_LIFETIME_HOURS']) * 3600}s"]  # printed in seconds
    assert v["smarthost"] == ["[127.0.0.1]:2525"]
    assert v["smarthost_tls"] == ["none"]
    assert v["alias"] == ["root: admin@example.com, ops@example.com"]
    for unset in ("smarthost_ca", "smarthost_pin", "smarthost_auth"):
        assert unset not in v
        assert re.search(rf"^#\s*{unset}\s*=", r.stdout, re.M), unset


def test_config_defaults_come_from_the_build(subgate, tmp_path, build_settings):
    features, settings = build_settings
    conf = tmp_path / "min.conf"
    conf.write_text("hostname = gw.example.test\nsmarthost = [smtp.example.com]\n")
    r = subgate("config", "-c", conf)
    assert r.returncode == 0, r.stderr
    v = config_values(r.stdout)
    expected_listen = [f"0.0.0.0:{settings['SUBMISSION_PORT']} starttls"]
    if features["LISTEN_SMTPS"]:
        expected_listen.append(f"0.0.0.0:{settings['SMTPS_PORT']} tls")
    assert v["listen"] == expected_listen
    assert v["tls_cert"] == ["/etc/subgate/cert.pem"]
    assert v["tls_key"] == ["/etc/subgate/key.pem"]
    assert v["users"] == ["/etc/subgate/users.cdb"]
    assert v["spool"] == [settings["SPOOL_DIR"]]
    assert v["run_as"] == [settings["RUN_AS_USER"]]
    assert v["max_message_size"] == [settings["MESSAGE_SIZE_DEFAULT"]]
    assert v["smarthost"] == ["[smtp.example.com]:587"]  # default port
    assert v["smarthost_tls"] == ["starttls"]
    assert v["smarthost_ca"] == [settings["RELAY_DEFAULT_CA_FILE"]]
    assert "alias" not in v


def test_config_does_not_check_files(subgate, site):
    n = site.set("tls_cert", "missing.pem")
    site.users.write_bytes(b"garbage")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert f"{site.dir}/missing.pem" in r.stdout
    r = subgate("check", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert f"{site.conf}:{n}: tls_cert:" in r.stderr


ROUND_TRIP_VARIANTS = {
    "site": [],
    "pin_and_auth": ["smarthost = 192.0.2.25:25", "smarthost_tls = tls", f"smarthost_pin = {PIN}",
                     "smarthost_auth = relay.secret", "helo_name = helo.example.test"],
    "ca_and_limits": ["smarthost = [smtp.example.com]", "smarthost_tls = starttls", "smarthost_ca = ca.pem",
                      "max_message_size = 1k", "spool_max_messages = 7", "spool_max_size = 1m",
                      "spool_min_free = 0", "queue_lifetime = 2400", "alias = postmaster: pm@example.com"],
}


@pytest.mark.parametrize("variant", sorted(ROUND_TRIP_VARIANTS))
def test_config_output_is_a_fixed_point(subgate, site, tmp_path, variant):
    for line in ROUND_TRIP_VARIANTS[variant]:
        key, _, value = line.partition(" = ")
        if key == "alias":
            site.add(line)
        else:
            site.set(key, value)
    first = subgate("config", "-c", site.conf)
    assert first.returncode == 0, first.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "printed.conf").write_text(first.stdout)
    second = subgate("config", "-c", other / "printed.conf")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == f"# effective settings of {other / 'printed.conf'}"
    assert second.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]


def test_config_output_is_a_fixed_point_with_relative_config_path(subgate, site):
    """`cd DIR; subgate config -c subgate.conf > out.conf; subgate config -c out.conf` must agree."""
    first = subgate("config", "-c", "subgate.conf", cwd=site.dir)
    assert first.returncode == 0, first.stderr
    (site.dir / "printed.conf").write_text(first.stdout)
    second = subgate("config", "-c", "printed.conf", cwd=site.dir)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]


def test_smarthost_pin_is_printed_in_full(subgate, site):
    site.set("smarthost", "[smtp.example.com]:25")
    site.set("smarthost_tls", "tls")
    site.set("smarthost_pin", PIN)
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert config_values(r.stdout)["smarthost_pin"] == [PIN]


@pytest.mark.parametrize("name", ["subgate.conf", "demo.conf"])
def test_shipped_example_configs_parse(subgate, name):
    path = REPO / "conf" / name
    r = subgate("config", "-c", path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith(f"# effective settings of {path}\n")
    assert "smarthost" in config_values(r.stdout)


# --- the key table ---------------------------------------------------------------


def config_keys(subgate):
    """{name: (type, default, bounds, help)} from `subgate config --keys`."""
    r = subgate("config", "--keys")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert all(len(row) == 5 and all(row) for row in rows), r.stdout
    keys = {row[0]: tuple(row[1:]) for row in rows}
    assert len(keys) == len(rows), "a key is listed twice"
    return keys


def man_page_keys():
    """{key: the text after `.BI key " = "`} of every key entry in man/subgate.conf.5."""
    text = (REPO / "man" / "subgate.conf.5").read_text()
    return dict(re.findall(r'^\.BI ([a-z0-9_]+) " = (.*)$', text, re.M))


def test_man_page_documents_exactly_the_keys_of_the_table(subgate):
    table, man = config_keys(subgate), man_page_keys()
    assert sorted(set(table) - set(man)) == [], "keys missing from man/subgate.conf.5"
    assert sorted(set(man) - set(table)) == [], "man/subgate.conf.5 documents keys the table does not have"
    for name, (kind, *_rest) in table.items():
        if kind == "duration":
            assert man[name].endswith(" duration"), f"{name} is a duration; the man page says {man[name]!r}"


def test_config_keys_come_from_the_build(subgate, build_settings):
    features, settings = build_settings
    keys = config_keys(subgate)
    assert list(keys)[:3] == ["hostname", "helo_name", "listen"]  # the order of `subgate config`
    assert keys["command_timeout"][:3] == ("duration", f"{settings['COMMAND_TIMEOUT']}s", "1s..3600s")
    assert keys["queue_lifetime"][1] == f"{int(settings['QUEUE_LIFETIME_HOURS']) * 3600}s"
    assert keys["max_message_size"][:3] == ("size", settings["MESSAGE_SIZE_DEFAULT"],
                                            f"1024..{settings['MESSAGE_SIZE_MAX']}")
    assert keys["max_sessions"][2] == f"1..{settings['MAX_SESSIONS']}"
    assert keys["spool"][:2] == ("path", settings["SPOOL_DIR"])
    assert keys["hostname"][1] == "-"  # the system's name, not the build's
    assert keys["smarthost"][:2] == ("host:port", "-")
    words = "starttls|tls|none" if features["RELAY_PLAINTEXT_LOOPBACK"] else "starttls|tls"
    assert keys["smarthost_tls"][:3] == ("enum", "starttls", words)
    assert keys["alias"][0] == "list"


def test_config_keys_takes_no_file(subgate, site):
    r = subgate("config", "--keys", "extra")
    assert r.returncode == EX_USAGE
    assert "usage: subgate config --keys" in r.stderr


# --- syntax and keys ------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "config"])
def test_syntax_error(subgate, site, command):
    n = site.add("hostname gw.example.test")
    r = subgate(command, "-c", site.conf)
    assert_config_error(r, site.conf, [f"{site.conf}:{n}: expected 'key = value'"])


@pytest.mark.parametrize("line", ["= value", "Hostname = x.example", "host-name = x.example", "hostname: x"])
def test_malformed_lines(subgate, site, line):
    n = site.add(line)
    assert_config_error(subgate("config", "-c", site.conf), site.conf, [f"{site.conf}:{n}: expected 'key = value'"])


def test_unknown_key_has_the_right_line_number(subgate, site):
    site.write(["# leading comment", "", "   # indented comment", ""] + site.lines + ["", "relayhost = x"])
    n = len(site.lines)
    r = subgate("check", "-c", site.conf)
    assert_config_error(r, site.conf, [f"{site.conf}:{n}: unknown key 'relayhost'"])


def test_duplicate_key(subgate, site):
    first = site.line_of("hostname")
    n = site.add("hostname = other.example.test")
    r = subgate("config", "-c", site.conf)
    assert_config_error(r, site.conf, [f"{site.conf}:{n}: 'hostname' is already set on line {first}"])


def test_repeatable_keys_are_not_duplicates(subgate, site):
    site.add("listen = 127.0.0.1:5465 tls")
    site.add("alias = postmaster: pm@example.com")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    v = config_values(r.stdout)
    assert len(v["listen"]) == 3
    assert v["alias"][-1] == "postmaster: pm@example.com"


def test_alias_defined_twice(subgate, site):
    n = site.add("alias = root: other@example.com")
    assert_config_error(subgate("config", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: alias: alias 'root' is defined twice"])


def test_every_error_is_reported_and_counted(subgate, site):
    a = site.add("bogus = 1")
    b = site.add("max_message_size = 5")
    c = site.add("hostname with spaces")
    r = subgate("check", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    err = errors_of(r)
    assert err[0] == f"subgate: {site.conf}:{a}: unknown key 'bogus'"
    assert err[1] == f"subgate: {site.conf}:{b}: 'max_message_size' is already set on line {site.line_of('max_message_size')}"
    assert err[2] == f"subgate: {site.conf}:{c}: expected 'key = value'"
    assert err[-1] == f"subgate: {site.conf}: 3 errors"
    assert len(err) == 4


def test_comment_needs_blank_before_hash(subgate, site):
    n = site.set("helo_name", "helo.example.test# not a comment")
    assert_config_error(subgate("config", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: helo_name: 'helo.example.test# not a comment' is not a valid host name"])
    site.set("helo_name", "helo.example.test\t# a comment")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert config_values(r.stdout)["helo_name"] == ["helo.example.test"]


def test_empty_value(subgate, site):
    n = site.set("hostname", "")
    assert_config_error(subgate("config", "-c", site.conf), site.conf, [f"{site.conf}:{n}: hostname: empty value"])


@pytest.mark.parametrize("command", ["check", "config"])
def test_missing_config_file(subgate, tmp_path, command):
    path = tmp_path / "nope.conf"
    r = subgate(command, "-c", path)
    assert r.returncode == EX_NOINPUT
    assert r.stdout == ""
    assert errors_of(r) == [f"subgate: {path}: cannot open: No such file or directory"]


def test_c_needs_a_file_name(subgate):
    r = subgate("check", "-c")
    assert r.returncode == EX_USAGE
    assert "-c needs a file name" in r.stderr


def test_smarthost_is_required(subgate, site):
    site.remove("smarthost")
    site.remove("smarthost_tls")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert errors_of(r)[0] == f"subgate: {site.conf}: smarthost is not set (e.g. smarthost = [smtp.example.com]:587)"


# --- values -----------------------------------------------------------------------


@pytest.mark.parametrize("value,printed", [
    ("1024", 1024), ("1k", 1024), ("10m", 10485760), ("100m", 104857600), ("104857600", 104857600),
])
def test_max_message_size_in_range(subgate, site, value, printed):
    site.set("max_message_size", value)
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert config_values(r.stdout)["max_message_size"] == [str(printed)]


@pytest.mark.parametrize("value", ["1023", "0", "101m", "104857601", "1g"])
def test_max_message_size_out_of_range(subgate, site, value):
    n = site.set("max_message_size", value)
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: max_message_size: {value} is out of range 1024..104857600"])


@pytest.mark.parametrize("value", ["ten", "10x", "-5", "10 m"])
def test_max_message_size_not_a_number(subgate, site, value):
    n = site.set("max_message_size", value)
    r = subgate("config", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert errors_of(r)[0].startswith(f"subgate: {site.conf}:{n}: max_message_size: '{value}' is not a number"), r.stderr


TIME_KEYS = ["queue_lifetime", "retry_min", "retry_max", "command_timeout", "data_timeout", "login_timeout",
             "stress_login_timeout", "relay_timeout"]


@pytest.mark.parametrize("key", TIME_KEYS)
@pytest.mark.parametrize("value,seconds", [("90s", 90), ("5m", 300), ("1h", 3600), ("2H", 7200)])
def test_every_time_key_takes_a_duration(subgate, site, key, value, seconds):
    """command_timeout = 5m is 300 s (it was 5 MiB seconds), data_timeout = 90s is 90 s (it was not a number)."""
    if key in ("retry_min", "retry_max"):
        site.set("retry_min", "1s")
        site.set("retry_max", "1d")
    n = site.set(key, value)
    r = subgate("config", "-c", site.conf)
    if seconds > 3600 and key not in ("queue_lifetime", "retry_min", "retry_max"):
        bounds = "5s..3600s" if key == "login_timeout" else ("0s..3600s" if key == "stress_login_timeout"
                                                             else "1s..3600s")
        assert_config_error(r, site.conf, [f"{site.conf}:{n}: {key}: {value} is out of range {bounds}"])
        return
    assert r.returncode == 0, r.stderr
    assert config_values(r.stdout)[key] == [f"{seconds}s"]


@pytest.mark.parametrize("key", [k for k in TIME_KEYS if k != "queue_lifetime"])
def test_a_bare_number_is_still_seconds(subgate, site, key):
    if key == "retry_max":
        site.set("retry_min", "1s")
    site.set(key, "45")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert config_values(r.stdout)[key] == ["45s"]


@pytest.mark.parametrize("value", ["5 m", "5min", "m", "-5s", "1.5h"])
def test_time_key_not_a_duration(subgate, site, value):
    n = site.set("data_timeout", value)
    r = subgate("config", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert errors_of(r)[0].startswith(f"subgate: {site.conf}:{n}: data_timeout: '{value}' is not a duration"), r.stderr


@pytest.mark.parametrize("value,printed", [
    ("[smtp.example.com]:465", "[smtp.example.com]:465"),
    ("192.0.2.9:25", "192.0.2.9:25"),
    ("[smtp.example.com]", "[smtp.example.com]:587"),
    ("[192.0.2.1]:2525", "[192.0.2.1]:2525"),
])
def test_smarthost_forms(subgate, site, value, printed):
    site.set("smarthost", value)
    site.set("smarthost_tls", "starttls")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == 0, r.stderr
    assert config_values(r.stdout)["smarthost"] == [printed]


@pytest.mark.parametrize("value", ["[smtp.example.com", "smtp.example.com:", "smtp.example.com:99999", "[]:25"])
def test_smarthost_malformed(subgate, site, value):
    n = site.set("smarthost", value)
    r = subgate("config", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert errors_of(r)[0].startswith(f"subgate: {site.conf}:{n}: smarthost: "), r.stderr


def test_listen_bad_mode(subgate, site):
    n = site.add("listen = 127.0.0.1:25 plain")
    assert_config_error(subgate("config", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: listen: listener mode 'plain' is not starttls or tls"])


def test_smarthost_tls_bad_value(subgate, site):
    n = site.set("smarthost_tls", "ssl")
    assert_config_error(subgate("config", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: smarthost_tls: 'ssl' is not starttls, tls or none"])


def test_smarthost_name_without_brackets_is_refused(subgate, site):
    """No MX lookups: an unbracketed host name is a configuration error naming the line."""
    n = site.set("smarthost", "localhost:2525")
    assert_config_error(subgate("config", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: smarthost: MX lookups are not supported; "
                         f"write [localhost]:2525 to connect to that host"])


@pytest.mark.parametrize("host", ["[127.0.0.1]:2525", "[127.1.2.3]:25", "[::1]:2525", "[localhost]:2525"])
def test_plaintext_smarthost_on_loopback(subgate, site, host):
    site.set("smarthost", host)
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


@pytest.mark.parametrize("host,name", [("[smtp.example.com]:587", "smtp.example.com"),
                                       ("[192.0.2.1]:25", "192.0.2.1"), ("[::2]:25", "::2")])
def test_plaintext_smarthost_must_be_loopback(subgate, site, host, name):
    site.set("smarthost", host)
    n = site.line_of("smarthost_tls")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: smarthost_tls: none is allowed only for a loopback smarthost, not '{name}'"])


def test_pin_and_ca_are_exclusive(subgate, site):
    site.set("smarthost", "[smtp.example.com]:587")
    site.set("smarthost_tls", "starttls")
    ca = site.add("smarthost_ca = cert.pem")
    pin = site.add(f"smarthost_pin = {PIN}")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{pin}: smarthost_pin: set either smarthost_ca (line {ca}) or smarthost_pin, not both"])


def test_pin_alone_needs_no_ca_file(subgate, site):
    site.set("smarthost", "[smtp.example.com]:465")
    site.set("smarthost_tls", "tls")
    site.add(f"smarthost_pin = {PIN}")
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


@pytest.mark.parametrize("value", ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "sha256/AAECAw==",
                                   "sha1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "sha256/not base64!"])
def test_pin_malformed(subgate, site, value):
    n = site.add(f"smarthost_pin = {value}")
    assert_config_error(subgate("config", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: smarthost_pin: expected sha256/ and the base64 of a 32-byte SPKI hash"])


# --- file checks (check only) -----------------------------------------------------


def test_missing_tls_cert(subgate, site):
    n = site.set("tls_cert", "missing.pem")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: tls_cert: cannot read {site.dir}/missing.pem: No such file or directory"])


def test_default_tls_cert_is_reported_as_default(subgate, site):
    if os.path.exists("/etc/subgate/cert.pem"):
        env_skip("/etc/subgate/cert.pem exists on this host")
    site.remove("tls_cert")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}: tls_cert (default): cannot read /etc/subgate/cert.pem: No such file or directory"])


@pytest.mark.parametrize("content,message", [
    ("hello, I am not a certificate\n", "no certificate found"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "a certificate does not decode"),
    ("-----BEGIN CERTIFICATE-----\nAA!A\n-----END CERTIFICATE-----\n", "not valid PEM"),
])
def test_garbage_certificate(subgate, site, content, message):
    site.cert.write_text(content)
    n = site.line_of("tls_cert")
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: tls_cert: {site.dir}/cert.pem: {message}"])


def test_certificate_file_given_as_key(subgate, site):
    shutil.copyfile(site.cert, site.dir / "notakey.pem")
    (site.dir / "notakey.pem").chmod(0o600)
    n = site.set("tls_key", "notakey.pem")
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: tls_key: {site.dir}/notakey.pem: no private key found"])


def test_corrupt_private_key(subgate, site):
    site.key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    site.key.chmod(0o600)
    n = site.line_of("tls_key")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: tls_key: {site.dir}/key.pem: private key does not decode (RSA or EC expected)"])


@pytest.mark.parametrize("mode", [0o644, 0o604])
def test_world_readable_key(subgate, site, mode):
    site.key.chmod(mode)
    n = site.line_of("tls_key")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: tls_key: {site.dir}/key.pem is readable by others (mode {mode:04o}): chmod o-r"])


def test_corrupt_users_db(subgate, site):
    site.users.write_bytes(b"this is not a cdb file\n")
    n = site.line_of("users")
    r = subgate("check", "-c", site.conf)
    assert_config_error(r, site.conf, [
        f"{site.conf}:{n}: users: cannot open user database {site.dir}/users.cdb: "
        "not a valid user database (CDB) file (create it with `subgate user add`)"])


def test_missing_users_db(subgate, site):
    site.users.unlink()
    n = site.line_of("users")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: users: cannot open user database {site.dir}/users.cdb: "
        "No such file or directory (create it with `subgate user add`)"])


def test_smarthost_ca_checked_when_used(subgate, site):
    site.set("smarthost", "[smtp.example.com]:587")
    site.set("smarthost_tls", "starttls")
    n = site.add("smarthost_ca = ca.pem")
    (site.dir / "ca.pem").write_text("no certificates in here\n")
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: smarthost_ca: {site.dir}/ca.pem: no certificate found"])
    shutil.copyfile(site.cert, site.dir / "ca.pem")
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


def test_smarthost_auth_valid(subgate, site):
    secret = site.dir / "relay.secret"
    secret.write_text("relay@example.com:s3cret:with:colons\n")
    secret.chmod(0o640)
    site.add("smarthost_auth = relay.secret")
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


def test_smarthost_auth_world_readable(subgate, site):
    secret = site.dir / "relay.secret"
    secret.write_text("relay:secret\n")
    secret.chmod(0o644)
    n = site.add("smarthost_auth = relay.secret")
    assert_config_error(subgate("check", "-c", site.conf), site.conf, [
        f"{site.conf}:{n}: smarthost_auth: {secret} is readable by others (mode 0644): chmod o-r"])


@pytest.mark.parametrize("content,problem", [
    ("relay-secret\n", "expected user:password with both parts non-empty"),
    (":secret\n", "expected user:password with both parts non-empty"),
    ("relay:\n", "expected user:password with both parts non-empty"),
    ("", "expected user:password with both parts non-empty"),
    ("relay:secret\nother:secret\n", "must hold exactly one line user:password"),
])
def test_smarthost_auth_malformed(subgate, site, content, problem):
    secret = site.dir / "relay.secret"
    secret.write_text(content)
    secret.chmod(0o600)
    n = site.add("smarthost_auth = relay.secret")
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: smarthost_auth: {secret}: {problem}"])


def test_smarthost_auth_missing_file(subgate, site):
    n = site.add("smarthost_auth = nope.secret")
    r = subgate("check", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert errors_of(r)[0].startswith(f"subgate: {site.conf}:{n}: smarthost_auth: ")
    assert f"{site.dir}/nope.secret" in errors_of(r)[0]
    assert "No such file or directory" in errors_of(r)[0]


def _no_such_account():
    for name in ("sg-no-such-user", "sg-no-such-user2"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            return name
    env_skip("could not find an unused account name")


def test_run_as_unknown_account(subgate, site):
    name = _no_such_account()
    n = site.set("run_as", name)
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: run_as: no such account '{name}'"])


def test_run_as_default_account_reported_as_default(subgate, site, build_settings):
    account = build_settings[1]["RUN_AS_USER"]
    try:
        pwd.getpwnam(account)
        env_skip(f"account {account} exists on this host")
    except KeyError:
        pass
    site.remove("run_as")
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}: run_as (default): no such account '{account}'"])


def test_run_as_invalid_name(subgate, site):
    n = site.set("run_as", "bad name!")
    r = subgate("config", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    assert errors_of(r)[0] == f"subgate: {site.conf}:{n}: run_as: 'bad name!' is not a valid account name"


def test_spool_must_be_a_directory_if_it_exists(subgate, site):
    (site.dir / "spool").write_text("a file\n")
    n = site.line_of("spool")
    assert_config_error(subgate("check", "-c", site.conf), site.conf,
                        [f"{site.conf}:{n}: spool: {site.dir}/spool exists and is not a directory"])
    (site.dir / "spool").unlink()
    (site.dir / "spool").mkdir()
    assert_check_ok(subgate("check", "-c", site.conf), site.conf)


def test_file_errors_are_all_reported(subgate, site):
    site.key.chmod(0o644)
    site.users.write_bytes(b"junk")
    name = _no_such_account()
    site.set("run_as", name)
    r = subgate("check", "-c", site.conf)
    assert r.returncode == EX_CONFIG
    err = errors_of(r)
    assert len(err) == 4, r.stderr
    assert f":{site.line_of('tls_key')}: tls_key: " in err[0]
    assert f":{site.line_of('users')}: users: " in err[1]
    assert f":{site.line_of('run_as')}: run_as: " in err[2]
    assert err[3] == f"subgate: {site.conf}: 3 errors"

