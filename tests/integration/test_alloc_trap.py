"""The allocation trap (CONFIG_TEST_ALLOC_TRAP, `make test-alloc-trap`, gateway/alloc.h).

`make test-alloc-trap` runs the whole integration suite against the trap build: any process that
allocates after its start-up logs "alloc-trap:" and aborts, and smtpkit's stop() fails the test
that saw it. This file checks the one exemption: the relay resolving the smarthost (musl's
getaddrinfo allocates its answer). A delivery works, with no trap; and right after the
exemption ends, an allocation in the same relay process traps (SUBGATE_TEST_ALLOC_PROBE=relay
makes it allocate there): the exemption covers the resolver and nothing else.
Needs $SUBGATE_ALLOC_TRAP_BIN, which only that run sets: the other runs skip these two tests.
"""

import os
import re

import pytest

from conftest import env_skip
from relaykit import relay_settings
from smtpkit import USER, SubgateServer, make_message

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def trap_server(tmp_path, certs, smarthost):
    path = os.environ.get("SUBGATE_ALLOC_TRAP_BIN")
    if not path:
        # not a missing tool: these tests belong to the trap run, which sets it (make test-alloc-trap)
        pytest.skip("the allocation trap's own tests run in `make test-alloc-trap`")
    if not os.access(path, os.X_OK):
        env_skip(f"SUBGATE_ALLOC_TRAP_BIN={path} is not an executable")
    host = smarthost("plain")
    server = SubgateServer(tmp_path / "server", path, certs, settings=relay_settings(host.port))
    yield server, host
    assert server.close() in (0, None)


def test_relay_delivers_through_the_resolver_exemption(trap_server):
    server, host = trap_server
    server.start()
    with server.session() as c:
        qid = c.submit(USER, ["rcpt@example.org"], make_message("trap"))
    server.wait_log(rf"{qid}: to=<rcpt@example\.org>, .*status=sent", 30)
    server.wait_log(rf"{qid}: removed", 10)
    assert "alloc-trap:" not in server.log_text()


def test_any_other_allocation_in_the_relay_still_traps(trap_server):
    server, host = trap_server
    server.env_extra = {"SUBGATE_TEST_ALLOC_PROBE": "relay"}
    server.start()
    with server.session() as c:
        c.submit(USER, ["rcpt@example.org"], make_message("probe"))
    server.wait_log(r"alloc-trap: probe: allocating after the exemption \(relay\)", 30)
    m = server.wait_log(r"alloc-trap: malloc\(16\) in the relay process \(pid (\d+)\) after start-up, "
                        r"called from 0x[0-9a-f]+ \(addr2line -f -e subgate 0x[0-9a-f]+\)", 10)
    server.wait_log(rf"relay process \(pid {m.group(1)}\) exited \(signal \d+\)", 10)
    assert not re.search(r"alloc-trap: \w+\(\d+\) in the (master|session|auth|queue|reload)", server.log_text())
    server.expect_alloc_trap = True
