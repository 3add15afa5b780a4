"""Learning our public address, and moving a relayed session onto a direct connection.

`protocol/upgrade.py` decides; this carries it out: once a relay carries the session it asks
STUN (the answer is kept 10 minutes), builds our candidates, sends and receives the exchange's frames over the relayed session, dials (from the
listening port for a punch) at the moment the exchange says, and hands a connection that
made it to the session's ordinary handshake. That handshake names the live session, so the
session moves over exactly as after a reconnect (session/handshake/machine.py).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable

from loguru import logger

from p2pchat.net.address import PeerAddress
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.net.interfaces import local_addresses
from p2pchat.net.punch import dial_from_port, tls_on_socket
from p2pchat.net.stun import public_address
from p2pchat.protocol import Candidate, Candidates, Hello, Sync, is_decider
from p2pchat.protocol.frames import MAX_CANDIDATES
from p2pchat.protocol.stun import Mapping, PublicAddress, parse_servers
from p2pchat.protocol.upgrade import Dial, GiveUp, Send, Upgrade, redial_targets
from p2pchat.reach.ports import Credentials, Handshake, Notice, Spawn

CAPABILITY = "upgrade"
DIAL_TIMEOUT = 5.0  # seconds for one dial of an attempt
STUN_KEPT = 600.0  # seconds an answer from STUN is used before asking again


class DirectPath:
    def __init__(
        self,
        servers: str,
        credentials: Credentials,
        *,
        handshake: Handshake,
        live_connection: Callable[[], Connection | None],
        listening_port: Callable[[], int | None],
        public_mapping: Callable[[], tuple[str, int] | None],
        peer_nickname: Callable[[], str],
        notice: Notice,
        spawn: Spawn,
        handshake_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.servers = parse_servers(servers)
        self.credentials = credentials
        self._handshake = handshake  # carries a new connection through the handshake
        self._live_connection = live_connection
        self._listening_port = listening_port
        self._public_mapping = public_mapping  # the router's forward of our port, if any
        self._peer_nickname = peer_nickname
        self._notice = notice
        self._spawn = spawn
        self._handshake_timeout = handshake_timeout
        self._clock = clock
        self.public: PublicAddress | None = None
        self._learned_at: float | None = None
        self._task: asyncio.Task | None = None
        self._upgrade: Upgrade | None = None
        self._frames: asyncio.Queue = asyncio.Queue()
        self.why_not: str | None = None  # completes "direct: not possible, ..."
        self.since: str | None = None  # "10:42, hole punched": when and how the session moved
        self._how = ""
        self._peer_id: str | None = None  # the peer of the relayed session being moved
        self._seen: dict[str, tuple[tuple[str, int], ...]] = {}  # peer -> where to redial it

    # -- what the session tells us -------------------------------------------------------
    def session_up(self, conn: Connection, hello: Hello, peer_id: str) -> None:
        if conn.relay is None:
            if self._upgrade is not None and not self._upgrade.finished:
                self._upgrade.connected()
                self._moved(self._how or "the other side dialed our forwarded port")
            else:
                self.since = None  # direct from the start: nothing moved
            return
        self.stop()
        self.since = None
        if conn.encrypted and CAPABILITY in hello.caps:
            self.why_not = None
            self._peer_id = peer_id
            self._task = self._spawn(self._run(conn, peer_id), "direct-upgrade")
        else:
            self.why_not = "the other side's p2pchat cannot move a relayed chat" if conn.encrypted else "needs TLS"

    def receive(self, conn: Connection, frame: Candidates | Sync) -> None:
        if isinstance(frame, Candidates) and self._peer_id is not None:
            self._seen = {self._peer_id: redial_targets(frame)}  # one peer's, the last one's
        self._frames.put_nowait((frame, asyncio.get_running_loop().time()))

    def addresses_of(self, fingerprint: str) -> list[PeerAddress]:
        """Where a reconnect tries this peer directly before the relays (pinned to it)."""
        return [PeerAddress(host, port, fingerprint) for host, port in self._seen.get(fingerprint, ())]

    def stop(self) -> None:
        """The session ended, or a new one began: no more attempts for the old one."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._upgrade = None
        self._how = ""
        self._frames = asyncio.Queue()

    def info(self, route: str) -> dict[str, str]:
        lines = {"path": f"direct since {self.since}" if route == "direct" and self.since else route}
        if route != "direct" and self.why_not:
            lines["direct"] = f"not possible, {self.why_not}"
        return lines

    # -- STUN ------------------------------------------------------------------------------
    async def _learn(self) -> None:
        """Ask STUN (only once a relay carries a chat: nobody learns we run p2pchat before)."""
        now = asyncio.get_running_loop().time()
        if not self.servers or (self._learned_at is not None and now - self._learned_at < STUN_KEPT):
            return
        self.public = public = await public_address(self.servers, self._listening_port() or 0)
        self._learned_at = now
        logger.info("STUN: public address {} ({})", f"{public.host}:{public.port}" if public.port else public.host,
                    public.mapping)

    def _candidates(self) -> Candidates:
        port = self._listening_port() or 0
        found: list[Candidate] = []
        public = self.public
        if public is not None and public.host and public.mapping in (Mapping.PRESERVING, Mapping.NO_NAT):
            found.append(Candidate(public.host, public.port or port, "public"))
        mapped = self._public_mapping()
        if mapped is not None:
            found.append(Candidate(mapped[0], mapped[1], "mapped"))
        found += [Candidate(host, port, "local") for host in local_addresses()]
        nat = str(public.mapping) if public is not None else str(Mapping.UNKNOWN)
        return Candidates(0, nat, tuple(found[:MAX_CANDIDATES]))

    # -- the exchange ------------------------------------------------------------------------
    async def _run(self, relayed: Connection, peer_id: str) -> None:
        await self._learn()
        initiator = is_decider(self.credentials.own_id, peer_id)
        upgrade = self._upgrade = Upgrade(self._candidates(), initiator=initiator)
        loop = asyncio.get_running_loop()
        pending = upgrade.start(loop.time())
        while pending or not upgrade.finished:  # a last answer may go out with the verdict
            if not pending:
                pending = await self._next(upgrade, loop)
                continue
            decision = pending.pop(0)
            if isinstance(decision, Send):
                try:
                    relayed.send(decision.frame)
                except ConnectionClosed:
                    return
            elif isinstance(decision, GiveUp):
                self.why_not = decision.reason
                logger.debug("direct path not possible: {}", decision.reason)
            elif isinstance(decision, Dial):
                self._how = "hole punched" if decision.simultaneous else "dialed the forwarded port"
                tls_client = upgrade.initiator or not decision.simultaneous
                if not await self._dial(decision, peer_id, tls_client=tls_client):
                    pending += upgrade.dial_failed(loop.time())

    async def _next(self, upgrade: Upgrade, loop: asyncio.AbstractEventLoop) -> list:
        """The decisions of the next frame from the peer, or of the deadline passing."""
        wait = None if upgrade.deadline is None else max(0.0, upgrade.deadline - loop.time())
        try:
            frame, arrived = await asyncio.wait_for(self._frames.get(), wait)
        except asyncio.TimeoutError:
            return upgrade.timer(loop.time())
        return upgrade.receive(frame, loop.time(), arrived)

    async def _dial(self, dial: Dial, peer_id: str, *, tls_client: bool) -> bool:
        """One attempt's connection, through the handshake: True once it carries the session."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, dial.at - loop.time()))
        local_port = (self._listening_port() or 0) if dial.simultaneous else 0
        credentials = self.credentials
        context = credentials.client_context() if tls_client else credentials.server_context()
        assert context is not None  # a session moves only when it runs over TLS
        for host, port in dial.targets:
            try:
                sock = await dial_from_port(host, port, local_port, DIAL_TIMEOUT)
                conn = await tls_on_socket(
                    sock, context, tls_client=tls_client, dialed=tls_client, timeout=self._handshake_timeout
                )
            except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
                logger.debug("direct dial to {}:{} failed: {}", host, port, exc)
                continue
            await self._handshake(conn, peer_id)
            if self._live_connection() is conn:
                return True
        return False

    def _moved(self, how: str) -> None:
        self.since = f"{time.strftime('%H:%M', time.localtime(self._clock()))}, {how}"
        self.why_not = None
        self._notice(f"now connected directly to {self._peer_nickname()} ({how}); the relay no longer carries the chat")
