"""TLS on one side only: final when it was the only way to the peer, and said at once."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from p2pchat.net.address import PeerAddress
from p2pchat.reach.race import ReachError, ReachPlan, reach
from p2pchat.reach.refusal import PeerRefused


async def _plain_server():
    """Answers anything with bytes that are not TLS, like a `--no-tls` listener's refusal."""
    async def answer(reader, writer):
        writer.write(b"P2PC not tls at all\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _plan(*ports: int) -> ReachPlan:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    direct = [PeerAddress("127.0.0.1", port) for port in ports]
    return ReachPlan(direct, [], [], context, None, "side", 2.0, lambda conn: None)


async def test_the_only_address_answering_without_tls_stops_dialing():
    server, port = await _plain_server()
    async with server:
        with pytest.raises(PeerRefused, match="answered without TLS") as refused:
            await reach(_plan(port))
    assert refused.value.final


async def test_one_of_several_addresses_answering_without_tls_keeps_trying():
    server, port = await _plain_server()
    async with server:
        with pytest.raises(ReachError, match="answered without TLS"):  # retried: maybe another service
            await reach(_plan(port, 1))


def test_a_plain_dialer_is_refused_at_once_not_after_a_lost_connection(spawn):
    """The TLS listener reads what the plain dialer sent before closing: a close with unread
    bytes resets the connection, and the reset could destroy the ERROR saying why."""
    alice = spawn("alice", "--port", "0", "--bind", "::")
    for n in range(3):
        bob = spawn(f"bob{n}", "--no-tls", "--port", "0", "--connect", f"127.0.0.1:{alice.port()}")
        bob.wait_line(r"uses TLS and will not talk unencrypted", 10)
        assert not [line for line in bob.lines if "connection lost" in line or "retrying" in line], bob.lines
        bob.stop()
    refusals = [line for line in alice.lines if "without TLS" in line]
    assert len(refusals) == 3 and all(line.startswith("* 127.0.0.1:") for line in refusals), refusals
