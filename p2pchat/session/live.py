"""The connection that carries the session: its reader and its heartbeat.

Frames go to the session's parts (chat, transfers) or, for what concerns the
session itself (a new nickname, a round trip measured, the end), to callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from loguru import logger

from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.protocol import (
    Ack,
    Busy,
    Bye,
    Candidates,
    Error,
    FileChunk,
    Heartbeat,
    Hello,
    Nick,
    Ping,
    Pong,
    ProtocolError,
    Ready,
    Sync,
    Text,
)
from p2pchat.session.chat import Chat
from p2pchat.session.context import Reporter
from p2pchat.session.handshake.greeting import fail
from p2pchat.session.transfers import Transfers


class LiveConnection:
    def __init__(
        self,
        conn: Connection,
        heartbeat: Heartbeat,
        *,
        chat: Chat,
        transfers: Transfers,
        report: Reporter,
        on_rtt: Callable[[float], None],
        on_nick: Callable[[str], None],
        on_lost: Callable[[Connection, str, bool], None],
        on_upgrade: Callable[[Connection, Candidates | Sync], None] = lambda conn, frame: None,
    ) -> None:
        self.conn = conn
        self._heartbeat = heartbeat
        self.chat = chat
        self.transfers_engine = transfers
        self.report = report
        self._on_rtt = on_rtt  # seconds
        self._on_nick = on_nick
        self._lost = on_lost  # (connection, reason, said by the peer)
        self._on_upgrade = on_upgrade  # the frames of a move to a direct path
        self._retired = False  # the session moved to another connection: chat only

    def retire(self) -> None:
        """The session moved to a new connection: only chat is still taken from this one (file
        frames are dropped; the transfers resume on the new connection)."""
        self._retired = True

    async def read_loop(self) -> None:
        conn = self.conn
        reason, by_peer = "connection lost", False
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await conn.recv()
                self._heartbeat.frame_received(loop.time())
                if isinstance(frame, FileChunk):
                    if not self._retired:
                        self.transfers_engine.on_chunk(frame)
                    continue
                if isinstance(frame, Bye):
                    reason, by_peer = frame.reason, True
                    break
                with contextlib.suppress(ConnectionClosed):  # frames already received still count
                    self._handle(conn, frame)
        except ConnectionClosed as exc:
            reason = exc.reason if exc.reason.startswith("connection lost") else f"connection lost: {exc.reason}"
        except ProtocolError as exc:
            fail(conn, exc.code, exc.message)
            reason = f"connection closed: the peer broke the protocol ({exc.message})"
        except Exception as exc:  # a bug or a failing disk: say so instead of going quiet
            logger.exception("reading from the peer failed")
            reason = f"connection closed after an internal error: {exc}"
        self._lost(conn, reason, by_peer)

    def _handle(self, conn: Connection, frame) -> None:
        if isinstance(frame, Text):
            self.chat.on_text(conn, frame)
        elif isinstance(frame, Ack):
            self.chat.on_ack(frame)
        elif isinstance(frame, Ping):
            conn.send(Pong(frame.ts))
        elif isinstance(frame, Pong):
            now = asyncio.get_running_loop().time()
            self._on_rtt(self._heartbeat.pong_received(frame.ts, now))
        elif isinstance(frame, Nick):
            self._on_nick(frame.nickname)
        elif isinstance(frame, Error):
            self.report.notice(f"the peer reported an error: {frame.message}", "error")
            conn.close()
        elif isinstance(frame, (Hello, Ready, Busy)):
            raise ProtocolError("unexpected_frame", f"{type(frame).__name__} after the handshake")
        elif isinstance(frame, (Candidates, Sync)):
            if not self._retired:
                self._on_upgrade(conn, frame)
        elif not self._retired:
            self.transfers_engine.on_frame(conn, frame)

    async def heartbeat_loop(self, timeout: float) -> None:
        conn = self.conn
        loop = asyncio.get_running_loop()
        hb = self._heartbeat
        while not conn.is_closing:
            now = loop.time()
            if hb.expired(now):
                conn.reset()
                self._lost(conn, f"connection lost: no heartbeat for {timeout:g} s", False)
                return
            if hb.ping_due(now):
                with contextlib.suppress(ConnectionClosed):
                    conn.send(Ping(now))
                hb.frame_sent(now)
            await asyncio.sleep(max(0.01, hb.next_deadline(now) - now))
