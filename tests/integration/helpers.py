"""Two real sessions on loopback, and a way to wait for their events.

    async with two_sessions(tmp_path) as (a, b):   # b dials a; both are connected
        a.session.send_text("hi")
        await b.events.wait_for(MessageReceived, lambda e: e.message.body == "hi")

`start_session` runs one session alone (for tests that set up their own dialing).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from p2pchat.paths import Paths
from p2pchat.session import Session
from p2pchat.session.events import Connected, Event
from p2pchat.settings import Settings

WAIT = 10.0  # default seconds to wait for an event


class EventRecorder:
    """Collects a session's events; `wait_for` returns the first match, past or future."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[Event]) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def find(self, kind: type[Event], predicate: Callable[[Event], bool] | None = None):
        for event in self.events:
            if isinstance(event, kind) and (predicate is None or predicate(event)):
                return event
        return None

    async def wait_for(
        self,
        kind: type[Event],
        predicate: Callable[[Event], bool] | None = None,
        timeout: float = WAIT,
    ):
        async def first_match():
            while (found := self.find(kind, predicate)) is None:
                self._changed.clear()
                await self._changed.wait()
            return found

        try:
            return await asyncio.wait_for(first_match(), timeout)
        except asyncio.TimeoutError:
            seen = ", ".join(type(e).__name__ for e in self.events)
            raise AssertionError(f"no {kind.__name__} within {timeout} s; events: {seen}") from None


@dataclass
class Peer:
    session: Session
    events: EventRecorder

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.session.listening_port}"


def session_paths(root: Path) -> Paths:
    return Paths(root / "config", root / "data", root / "logs", root / "downloads")


# Settings every test session gets unless the test says otherwise (fixtures may extend it).
SESSION_DEFAULTS: dict = {}


def make_session(root: Path, nickname: str, **settings) -> Peer:
    values = dict(nickname=nickname, port=0, bind="127.0.0.1", accept_unknown="always",
                  port_mapping=False, discoverable=False, stun="")  # no router, LAN announcement or STUN
    values.update(SESSION_DEFAULTS)
    values.update(settings)
    events = EventRecorder()
    session = Session(
        Settings(**values), paths=session_paths(root / nickname), on_event=events, interactive=False
    )
    return Peer(session, events)


@contextlib.asynccontextmanager
async def start_session(root: Path, nickname: str, **settings):
    """One started session, always quit at the end."""
    peer = make_session(root, nickname, **settings)
    await peer.session.start()
    try:
        yield peer
    finally:
        await asyncio.wait_for(peer.session.quit(), 10)


@contextlib.asynccontextmanager
async def two_sessions(root: Path, *, connect: bool = True, **settings):
    """Sessions A ("alice", listening) and B ("bob"); B dials A unless `connect` is False."""
    async with start_session(root, "alice", **settings) as a, start_session(root, "bob", **settings) as b:
        if connect:
            await b.session.connect(a.address)
            await a.events.wait_for(Connected)
            await b.events.wait_for(Connected)
        yield a, b


def free_port() -> int:
    """A loopback port nobody listens on right now (bind port 0, read it, close)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)
