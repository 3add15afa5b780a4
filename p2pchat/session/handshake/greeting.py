"""The handshake's I/O: carries a fresh connection through the handshake.

`session/handshake/machine.py` decides; this sends, waits (with the handshake's timeouts) and
closes, and hands a connection that made it to `activate`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.protocol import Bye, Error, Hello, ProtocolError
from p2pchat.reach.target import DialTarget
from p2pchat.session.context import PeerLink, Reporter
from p2pchat.session.handshake.machine import (
    APPROVAL_NOTICE_AFTER,
    READY_TIMEOUT,
    Abandon,
    AnswerBusy,
    Approve,
    CloseDuplicate,
    Handshake,
    MetItself,
    PeerClosed,
    PeerRefused,
    Standing,
)
from p2pchat.session.trust import Trust


def fail(conn: Connection, code: str, message: str) -> None:
    """Name the broken rule in an ERROR frame, then close."""
    with contextlib.suppress(Exception):
        conn.send(Error(code, message))
    conn.close()


def say_bye(conn: Connection, reason: str = "quit") -> None:
    """Tell the peer why we close (quitting mid-handshake), then close."""
    with contextlib.suppress(Exception):
        conn.send(Bye(reason))
    conn.close()


class Greeter:
    def __init__(
        self,
        trust: Trust,
        report: Reporter,
        link: PeerLink,
        *,
        timeout: float,
        standing: Callable[[], Standing],
        target: Callable[[], DialTarget | None],
        activate: Callable[[Connection, Hello, str, str], None],
        met_itself: Callable[[Connection], PeerRefused],
    ) -> None:
        self.trust = trust
        self.report = report
        self.link = link
        self.timeout = timeout  # for the peer's HELLO
        self._standing = standing  # what this side has, at the moment of each decision
        self._target = target  # what the user asked us to dial, if anything
        self._activate = activate
        self._met_itself = met_itself  # the refusal to raise when the peer has our own identity

    async def _recv_handshake_frame(self, conn: Connection, hs: Handshake, timeout: float):
        frame = await asyncio.wait_for(conn.recv(), timeout)
        decision = hs.receive(frame, self._standing())
        if isinstance(decision, PeerClosed):
            raise ConnectionClosed(f"the peer closed the connection ({decision.reason})")
        return decision

    async def handshake(self, conn: Connection, expected: str | None) -> None:
        """Run the handshake on a fresh connection; on success it becomes the session.

        Any protocol violation is answered with an ERROR frame naming it, then the close."""
        hs = Handshake(
            self.trust.own_id, address=conn.peer_address, proven_id=self.trust.proven_id(conn), dialed=conn.dialed
        )
        try:
            await self._negotiate(conn, hs, expected)
        except ConnectionClosed:
            # Our write failed because the peer closed: a goodbye it sent first still counts.
            said = hs.last_word(conn.unread_goodbye())  # raises PeerRefused for BUSY and ERROR
            if isinstance(said, PeerClosed):
                raise ConnectionClosed(f"the peer closed the connection ({said.reason})") from None
            raise
        except ProtocolError as exc:
            fail(conn, exc.code, exc.message)
            raise
        except PeerRefused as exc:
            if exc.reply is not None:
                with contextlib.suppress(Exception):
                    conn.send(exc.reply)
                conn.close()
            if not conn.is_closing:
                conn.abort()
            if isinstance(exc, MetItself):
                raise self._met_itself(conn) from None
            raise

    async def _negotiate(self, conn: Connection, hs: Handshake, expected: str | None) -> None:
        self.trust.check_expected(conn, expected)  # not one byte to an impostor
        target = self._target()
        invite = target.invite if target is not None and conn.dialed else None
        # The invite's secret goes only to the very key that made the invite.
        secret = invite.secret if invite is not None and expected == invite.fingerprint else None
        conn.send_magic()
        with contextlib.suppress(ConnectionClosed):  # the peer may have spoken and hung up: read it
            conn.send(hs.hello_frame(self.link.nickname, self._standing(), invite=secret))
        # One deadline from the TCP connect: the first bytes, TLS and HELLO all fit in it.
        elapsed = asyncio.get_running_loop().time() - conn.opened_at
        decision = await self._recv_handshake_frame(conn, hs, max(0.0, self.timeout - elapsed))
        if isinstance(decision, Approve):
            named = target.fingerprint if target is not None else None
            await self.trust.approve(conn, decision.hello, decision.peer_id, dialed=conn.dialed, named=named)
            decision = hs.approved(self._standing(), asyncio.get_running_loop().time())
        if isinstance(decision, AnswerBusy):
            with contextlib.suppress(ConnectionClosed):
                conn.send(decision.frame)
            conn.close()
            self.report.notice(decision.notice)
            return
        if isinstance(decision, CloseDuplicate):
            conn.send(decision.frame)
            await conn.flush_and_close()
            return
        # A READY that takes a while means the peer's user is being asked about our key.
        waiting = asyncio.get_running_loop().call_later(
            APPROVAL_NOTICE_AFTER, self.report.notice, f"waiting for {hs.hello.nickname} to accept your key"
        )
        try:
            conn.send(decision.frame)  # READY
            decision = await self._recv_handshake_frame(conn, hs, READY_TIMEOUT)
        finally:
            waiting.cancel()
            hs.release()
        if isinstance(decision, Abandon):
            conn.abort()
            return
        self._activate(conn, hs.hello, hs.peer_id, decision.session_id)
