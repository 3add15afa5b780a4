"""A relayed session on loopback that cannot move to a direct path says why, in /info only."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import start_session, wait_until
from test_connection import assert_chat_works
from test_relay import relay, relay_only  # noqa: F401 - the fixture
from transit_relay import twist_command

from p2pchat.session.events import Connected, Notice

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-transit-relay not installed")

RESPONDER = Path(__file__).resolve().parents[1] / "nat" / "stun_server.py"


@pytest.fixture
def stun():
    """Two real STUN responders on loopback, as the `stun` setting names them."""
    started, names = [], []
    for _ in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen([sys.executable, str(RESPONDER), "127.0.0.1", str(port)], stdout=subprocess.PIPE, text=True)
        process.stdout.readline()
        started.append(process)
        names.append(f"127.0.0.1:{port}")
    yield ", ".join(names)
    for process in started:
        process.kill()
        process.wait(5)


async def relayed_pair(tmp_path, relay, alice_stun: str, bob_stun: str):  # noqa: F811 - the fixture's value
    a_ctx = start_session(tmp_path, "alice", relay=relay.setting, stun=alice_stun)
    a = await a_ctx.__aenter__()
    line, _ = a.session.create_invite()
    b_ctx = start_session(tmp_path, "bob", stun=bob_stun)
    b = await b_ctx.__aenter__()
    await b.session.connect(relay_only(line))
    await a.events.wait_for(Connected)
    await b.events.wait_for(Connected)
    return (a, a_ctx), (b, b_ctx)


UNKNOWN = "not possible, your public address is unknown (STUN is off or did not answer)"
PEER_UNKNOWN = "not possible, the other side's public address is unknown (its STUN is off or did not answer)"


@pytest.mark.parametrize(("alice_asks", "alice_says", "bob_says"), [(False, UNKNOWN, UNKNOWN), (True, PEER_UNKNOWN, UNKNOWN)])
async def test_without_a_public_address_the_chat_stays_on_the_relay_and_info_says_why(
    tmp_path, relay, stun, alice_asks, alice_says, bob_says  # noqa: F811
):
    (a, a_ctx), (b, b_ctx) = await relayed_pair(tmp_path, relay, stun if alice_asks else "", "")
    try:
        await wait_until(lambda: "direct" in a.session.info() and "direct" in b.session.info(), timeout=15)
        assert (a.session.info()["direct"], b.session.info()["direct"]) == (alice_says, bob_says)
        assert a.session.info()["path"].startswith("via relay")
        await assert_chat_works(a, b)
        assert not a.events.find(Notice, lambda e: "direct" in e.text)  # no noise: /info says it
    finally:
        await b_ctx.__aexit__(None, None, None)
        await a_ctx.__aexit__(None, None, None)
