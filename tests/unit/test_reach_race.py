"""The race between paths: the first success wins, every other success is closed, and the
relays wait for the direct addresses' head start unless every direct attempt has failed."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from p2pchat.identity import Identity
from p2pchat.net.address import PeerAddress
from p2pchat.net.tls import client_context, server_context
from p2pchat.protocol.transit import RelayAddress
from p2pchat.reach import race as reach_module
from p2pchat.reach.race import ReachError, ReachPlan, RelayToken, _first_success, reach
from p2pchat.reach.refusal import PeerRefused


async def test_one_success_wins_and_the_other_is_closed():
    pairs = [socket.socketpair() for _ in range(2)]
    token = RelayToken("00" * 32, True)

    async def succeed(sock):
        return sock, token

    async def fail():
        raise OSError("refused")

    # Both succeed in the same turn of the loop: exactly one is kept, the other closed.
    tasks = [asyncio.ensure_future(fail())] + [asyncio.ensure_future(succeed(a)) for a, _ in pairs]
    winner, _ = await _first_success(tasks)
    ours = [a for a, _ in pairs]
    assert winner in ours and winner.fileno() != -1
    assert [s.fileno() for s in ours if s is not winner] == [-1]
    for a, b in pairs:
        a.close()
        b.close()


async def test_a_success_cancels_the_slower_attempts():
    started = asyncio.Event()

    async def slow():
        started.set()
        await asyncio.sleep(3600)

    async def fast():
        await started.wait()
        return "direct"

    tasks = [asyncio.ensure_future(slow()), asyncio.ensure_future(fast())]
    assert await _first_success(tasks) == "direct"
    assert tasks[0].cancelled()


async def test_every_failure_is_reported_when_nothing_succeeds():
    async def failing(text):
        raise OSError(text)

    reasons = await _first_success([asyncio.ensure_future(failing(t)) for t in ("a", "b")])
    assert sorted(str(r) for r in reasons) == ["a", "b"]
    assert str(RelayAddress("h", 1)) == "h:1"


# The direct addresses' head start, timed with real loopback sockets: a relay that only records
# when it is asked, a direct address that refuses at once, and one whose TLS handshake is slow.
HEAD_START = 0.4
SLOW_DIRECT = 0.9


@pytest.fixture
def identity(tmp_path):
    return Identity.load_or_create(tmp_path / "me")


@contextlib.asynccontextmanager
async def recording_relay():
    """A relay that notes when each request line arrives and never glues anything."""
    asked: list[float] = []
    loop = asyncio.get_running_loop()

    async def handle(reader, writer):
        await reader.readline()
        asked.append(loop.time())
        await reader.read()  # hold the request until the client gives up
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield RelayAddress("127.0.0.1", server.sockets[0].getsockname()[1]), asked


@contextlib.asynccontextmanager
async def slow_tls_listener(identity, delay: float):
    """Accepts at once, but starts TLS only `delay` seconds later: slow, yet it works."""
    loop = asyncio.get_running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    opened: list[asyncio.BaseTransport] = []

    async def serve():
        accepted, _ = await loop.sock_accept(listener)
        await asyncio.sleep(delay)
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, accepted, ssl=server_context(identity))
        opened.append(transport)

    serving = asyncio.ensure_future(serve())
    try:
        yield PeerAddress("127.0.0.1", listener.getsockname()[1])
    finally:
        serving.cancel()
        for transport in opened:
            transport.close()
        listener.close()


def refused_address() -> PeerAddress:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return PeerAddress("127.0.0.1", sock.getsockname()[1])  # closed again: nobody listens


def plan_for(identity, direct, relay) -> ReachPlan:
    return ReachPlan(
        direct=direct, relays=[relay], tokens=[RelayToken("ab" * 32, True)],
        client_context=client_context(identity), server_context=server_context(identity),
        side="0123456789abcdef", timeout=5.0, check=lambda conn: None,
    )


async def test_the_relay_waits_for_the_head_start_while_a_direct_attempt_is_still_going(identity, monkeypatch):
    monkeypatch.setattr(reach_module, "HEAD_START", HEAD_START)
    loop = asyncio.get_running_loop()
    async with recording_relay() as (relay, asked), slow_tls_listener(identity, SLOW_DIRECT) as slow:
        started = loop.time()
        conn = await reach(plan_for(identity, [refused_address(), slow], relay))
        took = loop.time() - started
        conn.abort()
    # The refused address failed at once: that is not "every direct attempt failed".
    assert len(asked) == 1 and asked[0] - started >= HEAD_START * 0.9, [t - started for t in asked]
    assert took >= SLOW_DIRECT * 0.9  # the slow direct address won


async def test_the_relay_is_asked_at_once_when_every_direct_attempt_has_failed(identity, monkeypatch):
    monkeypatch.setattr(reach_module, "HEAD_START", 5.0)
    loop = asyncio.get_running_loop()
    async with recording_relay() as (relay, asked):
        started = loop.time()
        task = asyncio.ensure_future(reach(plan_for(identity, [refused_address(), refused_address()], relay)))
        while not asked and loop.time() - started < 3:
            await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ReachError):
            await task
    assert asked and asked[0] - started < 1.0


async def test_when_every_path_fails_each_reason_is_given(identity):
    first, second = refused_address(), refused_address()
    plan = plan_for(identity, [first, second], RelayAddress("127.0.0.1", 1))
    plan.tokens = []  # no token could find this peer on a relay: it is not asked
    with pytest.raises(ReachError) as failed:
        await reach(plan)
    reasons = str(failed.value).split("; ")  # in the order the attempts failed
    assert sorted(reasons) == sorted(f"nobody is listening at {address} yet" for address in (first, second))
    plan.direct = []
    with pytest.raises(ReachError, match="^no address to try, and no relay that could find this peer$"):
        await reach(plan)


async def test_the_wrong_identity_is_the_reason_given_over_a_refused_address(identity):
    def wrong_peer(conn):
        raise PeerRefused("that is not the peer you invited")

    async with slow_tls_listener(identity, 0) as listening:
        plan = plan_for(identity, [refused_address(), listening], RelayAddress("127.0.0.1", 1))
        plan.tokens, plan.check = [], wrong_peer
        with pytest.raises(PeerRefused, match="not the peer you invited"):
            await reach(plan)
