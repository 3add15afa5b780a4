"""Meeting over a magic-wormhole mailbox server: the asyncio side of protocol.wormhole.

`CodeMeeting.open()` connects and returns the code (allocated by the server, or the one given);
`exchange()` waits for the other side's first message, ours having gone out as soon as the key
was agreed. Every failure is a `RendezvousError` whose text is one line for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from p2pchat.protocol.wormhole.client import (
    Closed,
    CodeReady,
    Failed,
    NoPeer,
    PeerConfirmed,
    Received,
    WormholeClient,
    WrongCode,
)

CONNECT_TIMEOUT = 5.0  # seconds to reach the server, WebSocket handshake included
CLOSE_TIMEOUT = 2.0  # seconds to wait for the server to confirm release and close
MAX_SERVER_MESSAGE = 64 * 1024  # bytes; a mailbox server's messages are far smaller


class RendezvousError(ValueError):
    """The meeting failed; str() is one line for the user (a ValueError, as a bad address is)."""


class Unreachable(RendezvousError):
    pass


class CodeMismatch(RendezvousError):
    """The other side's messages did not decrypt: one of the two typed another code."""


class NobodyCame(RendezvousError):
    pass


def new_side() -> str:
    return secrets.token_hex(8)


class CodeMeeting:
    def __init__(
        self, url: str, appid: str, introduction: bytes, *, code: str | None = None,
        versions: dict[str, Any] | None = None, peer_timeout: float | None = None,
        connect_timeout: float = CONNECT_TIMEOUT, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.machine = WormholeClient(appid, new_side(), code=code, versions=versions, peer_timeout=peer_timeout)
        self.machine.send(introduction)
        self._ws: ClientConnection | None = None
        self._code: asyncio.Future[str] | None = None
        self._theirs: asyncio.Future[bytes] | None = None
        self._closed = asyncio.Event()
        self._pump: asyncio.Task | None = None
        self.confirmed = False  # the other side proved it knows the code

    @property
    def code(self) -> str | None:
        return self.machine.code

    async def open(self) -> str:
        """Connect, bind and allocate or claim; the code. Unreachable within connect_timeout."""
        loop = asyncio.get_running_loop()
        self._code, self._theirs = loop.create_future(), loop.create_future()
        for future in (self._code, self._theirs):  # a failure nobody awaits is not an error
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            self._ws = await asyncio.wait_for(connect(
                self.url, open_timeout=None, proxy=None, max_size=MAX_SERVER_MESSAGE,
                compression=None, user_agent_header=None,
            ), self.connect_timeout)
        except (OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI, ValueError) as error:
            raise Unreachable(f"the rendezvous server {self.url} cannot be reached ({_why(error)})") from None
        self.machine.connected(self.clock())
        self._pump = asyncio.create_task(self._run(), name="rendezvous")
        if self.machine.code is not None:
            self._code.set_result(self.machine.code)
        try:
            return await asyncio.shield(self._code)
        except BaseException:
            await self.aclose()
            raise

    async def exchange(self) -> bytes:
        """The other side's first message; our introduction went out when the key was agreed."""
        assert self._theirs is not None, "open() first"
        try:
            return await asyncio.shield(self._theirs)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._pump is None or self._ws is None:
            return
        if not self.machine.finished:
            self.machine.close("happy" if self.confirmed else "lonely")
            await self._flush()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closed.wait(), CLOSE_TIMEOUT)
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._pump
        with contextlib.suppress(Exception):
            await self._ws.close()
        self._settle(RendezvousError("the meeting was called off"))

    async def _run(self) -> None:
        assert self._ws is not None
        try:
            await self._flush()
            while not self.machine.finished:
                deadline = self.machine.deadline
                wait = None if deadline is None else max(0.0, deadline - self.clock())
                try:
                    text = await asyncio.wait_for(self._ws.recv(), wait)
                except asyncio.TimeoutError:
                    self.machine.tick(self.clock())
                else:
                    self.machine.receive(text, self.clock())
                self._handle_events()
                await self._flush()
        except (ConnectionClosed, OSError):
            self.machine.lost()
            self._handle_events()
        finally:
            self._closed.set()

    async def _flush(self) -> None:
        assert self._ws is not None
        for text in self.machine.data_to_send():
            with contextlib.suppress(ConnectionClosed, OSError):
                await self._ws.send(text)

    def _handle_events(self) -> None:
        while (event := self.machine.next_event()) is not None:
            if isinstance(event, CodeReady):
                self._resolve(self._code, event.code)
            elif isinstance(event, PeerConfirmed):
                self.confirmed = True
            elif isinstance(event, Received) and event.phase == 0:
                self.machine.close("happy")
                self._resolve(self._theirs, event.data)
            elif isinstance(event, WrongCode):
                self._settle(CodeMismatch("the code did not match (one of you typed it wrong; it is spent now)"))
            elif isinstance(event, NoPeer):
                self._settle(NobodyCame("nobody is waiting on that code (it was used already, or its number is wrong)"))
            elif isinstance(event, Failed):
                self._settle(RendezvousError(event.reason))
            elif isinstance(event, Closed):
                self._settle(RendezvousError("the rendezvous server closed the meeting"))

    def _settle(self, error: RendezvousError) -> None:
        """Fail whatever is still being waited for."""
        for future in (self._code, self._theirs):
            if future is not None and not future.done():
                future.set_exception(error)

    @staticmethod
    def _resolve(future: asyncio.Future | None, value: Any) -> None:
        if future is not None and not future.done():
            future.set_result(value)


def _why(error: BaseException) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return "no answer"
    if isinstance(error, InvalidURI):
        return "not a ws:// address"
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())[:120]
