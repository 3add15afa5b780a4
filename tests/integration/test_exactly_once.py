"""A TEXT whose id was already shown is acknowledged again but never shown twice: on the same
connection, and after the receiver restarts (the ids it showed come back from its history)."""

from __future__ import annotations

import secrets

from p2pchat.protocol import Ack, Text
from p2pchat.session.events import MessageReceived
from tests.support.raw_peer import RawPeer
from tests.support.session import start_session


async def send_and_wait_for_ack(peer: RawPeer, frame: Text) -> None:
    peer.send(frame)
    await peer.expect(Ack, lambda f: f.id == frame.id)


async def shown(session_peer, frame: Text, raw: RawPeer) -> list[str]:
    """Send `frame` last, wait until it is shown, and return every body shown so far.
    Events come in the order frames arrive, so anything shown twice is in the list by then."""
    await send_and_wait_for_ack(raw, frame)
    await session_peer.events.wait_for(MessageReceived, lambda e: e.message.id == frame.id)
    return [e.message.body for e in session_peer.events.of(MessageReceived)]


async def test_a_resent_id_is_acknowledged_and_not_shown_again(tmp_path):
    first = Text(secrets.token_hex(16), 1.0, "once", False)
    async with start_session(tmp_path, "bob", tls=False) as bob:
        raw = await RawPeer.connect(bob.session.listening_port)
        try:
            await send_and_wait_for_ack(raw, first)
            await send_and_wait_for_ack(raw, first)  # the ack got lost, say: the peer re-sends
            marker = Text(secrets.token_hex(16), 2.0, "marker", False)
            assert await shown(bob, marker, raw) == ["once", "marker"]
        finally:
            raw.close()


async def test_an_id_shown_before_a_restart_is_not_shown_after_it(tmp_path):
    first = Text(secrets.token_hex(16), 1.0, "before the restart", False)
    async with start_session(tmp_path, "bob", tls=False) as bob:
        raw = await RawPeer.connect(bob.session.listening_port)
        try:
            await send_and_wait_for_ack(raw, first)
            await bob.events.wait_for(MessageReceived, lambda e: e.message.id == first.id)
        finally:
            raw.close()

    async with start_session(tmp_path, "bob", tls=False) as bob:  # same home, same history
        raw = await RawPeer.connect(bob.session.listening_port)
        try:
            await send_and_wait_for_ack(raw, first)  # its ack was lost before the restart
            marker = Text(secrets.token_hex(16), 2.0, "after the restart", False)
            assert await shown(bob, marker, raw) == ["after the restart"]
        finally:
            raw.close()


async def texts_until(raw: RawPeer, body: str) -> list[str]:
    """The bodies of the TEXT frames the session sends, up to and including `body`."""
    bodies: list[str] = []
    while not bodies or bodies[-1] != body:
        bodies.append((await raw.expect(Text)).body)
    return bodies


async def test_lines_queued_before_a_restart_go_out_before_a_line_typed_after_it(tmp_path):
    # Bob's lines are never acknowledged: the peer goes away, Bob restarts and types one more
    # line while it is away. When it is back it gets the older lines first, then the new one.
    async with start_session(tmp_path, "bob", tls=False) as bob:
        raw = await RawPeer.connect(bob.session.listening_port)
        try:
            for body in ("one", "two"):
                bob.session.send_text(body)
            assert await texts_until(raw, "two") == ["one", "two"]  # sent, never acknowledged
        finally:
            raw.close()

    async with start_session(tmp_path, "bob", tls=False) as bob:  # same home, same history
        bob.session.send_text("three")  # nobody connected yet
        raw = await RawPeer.connect(bob.session.listening_port)  # the same peer id comes back
        try:
            assert await texts_until(raw, "three") == ["one", "two", "three"]
        finally:
            raw.close()
