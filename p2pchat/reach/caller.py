"""The calling side: what the user asked to dial (and a drop redials), the dial loop with its
backoff, and telling our own dials apart when they reach ourselves.

`Caller` sees the session only through narrow ports: a view of its presence, a report for its
attempts, the plan for a target, the handshake, and a spawn. Each attempt goes by every route
the plan names; a connection that answers goes through the handshake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger

from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.net.dialer import describe_dial_error
from p2pchat.protocol import ProtocolError
from p2pchat.reach.backoff import backoff
from p2pchat.reach.missing import missing_route
from p2pchat.reach.ports import DialReport, Handshake, PresenceView, Spawn
from p2pchat.reach.race import ReachError, ReachPlan, reach
from p2pchat.reach.refusal import MetItself, PeerRefused
from p2pchat.reach.repeats import RepeatedWarnings
from p2pchat.reach.target import DialTarget, parse_target

FIRST_RETRY = 0.5  # seconds after the first failed attempt; doubling up to the reconnect setting


class Caller:
    def __init__(
        self,
        presence: PresenceView,
        report: DialReport,
        *,
        plan: Callable[[DialTarget], tuple[ReachPlan, Callable[[Connection], str | None]]],
        handshake: Handshake,
        spawn: Spawn,
        listening_port: Callable[[], int | None],
        reconnect_cap: float,
    ) -> None:
        self.presence = presence
        self.report = report
        self._plan = plan  # how to reach a target, and the identity a connection must show
        self._handshake = handshake
        self._spawn = spawn
        self._listening_port = listening_port
        self.cap = max(1.0, float(reconnect_cap))
        self.target: DialTarget | None = None  # what we call, and call again after a drop
        self._task: asyncio.Task | None = None
        self.own_ends: set[tuple] = set()  # local (host, port) of our dials in progress
        self._ringing: frozenset[tuple[str, int]] = frozenset()  # (host, port) an attempt calls right now
        self._refusals = RepeatedWarnings()

    def call(self, target: DialTarget, *, first_delay: float = 0.0, why: str = "dialer") -> None:
        """Call `target` from now on (retrying until it answers), instead of any earlier call."""
        self.target = target
        self.stop()
        self._ringing = frozenset()
        self._task = self._spawn(self._loop(target, first_delay), why)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def retarget(self, target: DialTarget, peer: str) -> None:
        """Asked to dial while a chat is up: the chat goes on; `target` is called after a drop."""
        previous, self.target = self.target, target
        if previous is not None and str(previous) == str(target):
            self.report.notice(f"already connected to {peer}; {target} stays the address to call if the connection drops")
        else:
            instead = f" instead of {previous}" if previous is not None else ""
            self.report.notice(f"already connected to {peer}; the chat goes on, and if the connection drops "
                               f"p2pchat will call {target}{instead}")

    def call_found(self, address: str) -> None:
        """The peer we want turned up at `address` (on the LAN): call there now, unless a chat
        is up or a handshake is under way."""
        presence = self.presence
        if presence.connected or presence.stopped or presence.handshaking:
            return
        found = parse_target(address)
        if found.direct and {(a.host, a.port) for a in found.direct} <= self._ringing:
            return  # an attempt is calling there right now: starting over would only repeat it
        self.call(self.target or found, why="lan-reconnect")

    def _ring(self, target: DialTarget | None) -> None:
        """The current loop's attempt calls `target`'s addresses now (None: between attempts)."""
        if asyncio.current_task() is self._task:
            self._ringing = frozenset((a.host, a.port) for a in target.direct) if target else frozenset()

    async def _loop(self, target: DialTarget, first_delay: float) -> None:
        try:
            await self._attempts(target, first_delay)
        finally:
            self._ring(None)

    async def _attempts(self, target: DialTarget, first_delay: float) -> None:
        presence, report = self.presence, self.report
        attempt = 0
        delay = first_delay
        told_missing = False  # what this network lacks to reach the target is said once
        while not presence.stopped:
            if delay:
                await asyncio.sleep(delay)
            if presence.connected:
                return  # the peer reached us first
            attempt += 1
            report.dialing(str(target), attempt)
            self._ring(target)
            plan, pinned = self._plan(target)
            reason = "another connection was being set up"  # the handshake ended without a session
            missing = None
            try:
                conn = await reach(plan)
            except PeerRefused as exc:  # the wrong identity on every path that answered
                if isinstance(exc, MetItself):  # the address named the peer's key, led to ours
                    exc = self._dialed_itself() or exc
                if self._refused(exc):
                    return
                reason = str(exc)
            except ReachError as exc:
                reason = str(exc)
                missing = None if told_missing else missing_route(target, exc.paths)
            else:
                own_end = conn.transport.get_extra_info("sockname")[:2]
                self.own_ends.add(own_end)
                try:
                    await self._handshake(conn, pinned(conn))
                except PeerRefused as exc:
                    conn.abort()
                    if self._refused(exc):
                        return
                    reason = str(exc)
                except (ConnectionClosed, ProtocolError, asyncio.TimeoutError, OSError) as exc:
                    reason = describe_dial_error(exc, str(target)) if not isinstance(exc, ProtocolError) else f"{target}: {exc}"
                    conn.abort()
                finally:  # kept a little: our listener's half may decide later
                    asyncio.get_running_loop().call_later(5, self.own_ends.discard, own_end)
                if presence.connected:
                    return
            self._ring(None)
            delay = backoff(attempt, first=FIRST_RETRY, cap=self.cap)
            logger.info("dial attempt {} to {} failed: {}; retrying in {:.1f}s", attempt, target, reason, delay)
            report.retrying(str(target), attempt, delay, reason)
            if missing:  # after the reason, so it is the line the user sees last
                report.notice(missing, "warning")
                told_missing = True

    def _refused(self, exc: PeerRefused) -> bool:
        """Say a refusal; True when it ends the dialing. A final one is said as an error; one
        failed path is warned about (repeats merged), and dialing goes on."""
        if exc.final:
            self.report.notice(str(exc), "error")
            self.target = None  # not called again, not even when the LAN shows the peer
            self.report.gave_up()
            return True
        line = self._refusals.say(str(exc))
        if line:
            self.report.notice(line, "warning")
        return False

    def _dialed_itself(self) -> PeerRefused | None:
        """The target names our own listening port: that is where the call went."""
        port = self._listening_port()
        target = self.target
        if target is None or not any(address.port == port for address in target.direct):
            return None
        return PeerRefused(
            f"{target} is this p2pchat itself (it listens on port {port}); stopped dialing it. "
            "A peer on this machine listens on another port: /connect 127.0.0.1:THAT_PORT, "
            f"or connect from there to port {port}", final=True)

    def met_itself(self, conn: Connection) -> PeerRefused:
        """The peer presented our own identity: we dialed ourselves, or another p2pchat
        shares our identity files. Either way dialing that address again cannot help."""
        if conn.dialed and (itself := self._dialed_itself()) is not None:
            return itself
        if not conn.dialed and (conn.peer_host, conn.peer_port) in self.own_ends:
            return PeerRefused("", final=True)  # the other half of our own dial says it
        return PeerRefused(
            f"{conn.peer_address} is another p2pchat with this same identity (the same P2PCHAT_HOME?): "
            "give each instance its own, e.g. P2PCHAT_HOME=~/p2pchat-second p2pchat", final=True)
