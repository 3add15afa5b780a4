"""The session: the one service a front end talks to.

It owns the listener and the dialer, runs the handshake on every connection,
keeps exactly one live connection to one peer, and turns frames into events.
What happens on a live session is delegated: `Chat` (messages, exactly once),
`Transfers` (files) and `Trust` (identities).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from loguru import logger

from p2pchat.history import History, HistoryError
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.net.interfaces import local_addresses
from p2pchat.net.listener import (
    Listener,
    PortInUse,
    describe_dial_error,
    open_listening_socket,
)
from p2pchat.paths import Paths, get_paths
from p2pchat.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Busy,
    Bye,
    Error,
    FileChunk,
    Heartbeat,
    Hello,
    Nick,
    Ping,
    Pong,
    ProtocolError,
    Ready,
    Text,
    is_decider,
    new_session_id,
    validate_nickname,
)
from p2pchat.protocol.invite import relay_token
from p2pchat.protocol.transit import (
    RelayAddress,
    derived_token,
    new_side,
    parse_relays,
    tls_client_over_relay,
)
from p2pchat.session.chat import Chat
from p2pchat.session.events import (
    Connected,
    Dialing,
    Disconnected,
    Event,
    LanPeer,
    LanPeersChanged,
    Listening,
    NickChanged,
    Notice,
    PeerInfo,
    Reconnecting,
    RttMeasured,
    Stopped,
)
from p2pchat.session.invites import Invites, make_invite
from p2pchat.session.lan import LanPeers
from p2pchat.session.port_mapping import PortMapper
from p2pchat.session.reach import ReachError, ReachPlan, RelayToken, reach
from p2pchat.session.relay_wait import RelayWaiter
from p2pchat.session.store import HistoryStore
from p2pchat.session.target import DialTarget, parse_target
from p2pchat.session.transfers import Transfers
from p2pchat.session.trust import PeerRefused, Trust
from p2pchat.settings import Settings

READY_TIMEOUT = 120.0  # after HELLO, acceptance may take this long (a person may be asked)
CAPS = ["acks", "files", "resume"]
DUPLICATE_WINDOW = 2.0  # seconds after a session starts in which a second connection is a duplicate


class StartError(Exception):
    """The session could not start (port in use, bad identity...): one line for the user."""


class _Handshake:
    """What one connection learned before it became the session (or was dropped)."""

    def __init__(self, conn: Connection, hello: Hello, peer_id: str) -> None:
        self.conn = conn
        self.hello = hello
        self.peer_id = peer_id


class Session:
    def __init__(
        self,
        settings: Settings,
        *,
        paths: Paths | None = None,
        on_event: Callable[[Event], None] | None = None,
        interactive: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.paths = paths or get_paths()
        self.on_event = on_event
        self.interactive = interactive  # the front end answers IdentityPrompt events
        self.clock = clock
        self._nickname = validate_nickname(settings.nickname)
        self._state = "idle"
        self._listener: Listener | None = None
        self._conn: Connection | None = None
        self._peer: PeerInfo | None = None
        self._peer_id: str | None = None
        self._last_peer_id: str | None = None
        self._session_id: str | None = None
        self._claimed: set[str] = set()  # peers with a connection waiting for READY
        self._dial_target: DialTarget | None = None
        self.invites = Invites(self.paths.invites_file)
        self._side = new_side()  # ours on every relay: our own connections never pair up
        self.relays: list[RelayAddress] = []  # from the `relay` setting, checked in start()
        self._relay_waiter: RelayWaiter | None = None
        self._port_mapper: PortMapper | None = None
        self.lan: LanPeers | None = None  # when discoverable: who announces p2pchat on the LAN
        self._lan_seen: set[str] = set()  # fingerprints on the LAN at the last change
        self._dial_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._conn_tasks: list[asyncio.Task] = []
        self.chat: Chat | None = None  # made by start(), with the history
        self._rtt_ms: float | None = None
        self._stopped = False
        self._peer_quit = False
        self._activated_at = 0.0
        self.trust = Trust(self)
        self.transfers_engine = Transfers(self)

    # -- read-only state ---------------------------------------------------------
    @property
    def nickname(self) -> str:
        return self._nickname

    @property
    def listening_port(self) -> int | None:
        return self._listener.port if self._listener else None

    @property
    def peer(self) -> PeerInfo | None:
        return self._peer if self._conn is not None else None

    @property
    def state(self) -> str:
        return self._state

    @property
    def rtt_ms(self) -> float | None:
        return self._rtt_ms

    @property
    def own_fingerprint(self) -> str:
        return self.trust.own_id

    @property
    def short_code(self) -> str:
        return self.trust.short_code(self._peer_id) if self._conn is not None else ""

    @property
    def transfers(self):
        return self.transfers_engine.infos()

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def unacked_count(self) -> int:
        return len(self.chat.unacked) if self.chat else 0

    def info(self) -> dict[str, str]:
        lines = {
            "you": f"{self._nickname} ({self.trust.describe_own()})",
            "listening": f"port {self.listening_port}" if self._listener else "not listening",
            "state": self._state,
            "log file": str(self.paths.log_file),
        }
        if self._conn is not None and self._peer is not None:
            relayed = self._peer.route != "direct"  # the relay's address is not the peer's
            lines["peer"] = self._peer.nickname if relayed else f"{self._peer.nickname} at {self._peer.address}"
            lines["path"] = self._peer.route
            lines.update(self.trust.describe_connection(self._conn, self._peer_id))
            if self._rtt_ms is not None:
                lines["round trip"] = f"{self._rtt_ms:.1f} ms"
        if self._relay_waiter is not None:
            for relay, status in self._relay_waiter.status.items():
                lines[f"relay {relay}"] = status
        if self._port_mapper is not None:
            lines["port mapping"] = self._port_mapper.status
        if self.lan is not None:
            lines["local network"] = f"{self.lan.status} ({len(self.lan.peers())} other p2pchat seen; /peers)"
        elif not self.settings.discoverable:
            lines["local network"] = "not announced (discoverable = false)"
        return lines

    @property
    def lan_peers(self) -> list[LanPeer]:
        return self.lan.peers() if self.lan is not None else []

    # -- events ------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            logger.exception("front end failed to handle {}", type(event).__name__)

    def notice(self, text: str, level: str = "info") -> None:
        logger.log("WARNING" if level != "info" else "INFO", text)
        self.emit(Notice(text, level))

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            logger.opt(exception=exc).error("task {} failed", task.get_name())
            self.notice(f"internal error in {task.get_name()}: {exc}", "error")

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        try:
            self.trust.load()
        except Exception as exc:  # unreadable key, bad permissions, corrupt known peers
            raise StartError(str(exc)) from exc
        try:
            self.relays = parse_relays(self.settings.relay)
        except ValueError as exc:
            raise StartError(f"relay setting: {exc}") from None
        self._open_history()
        self._listen()
        self._map_port()
        self._discover()
        if self.relays and not self.trust.tls:
            self.notice("relays are not used without TLS: the relay could read and change the chat", "warning")
        elif self.relays:
            self._relay_waiter = RelayWaiter(self, self.relays, self._side)
            self._relay_waiter.start()
        if self.settings.connect:
            try:
                await self.connect(self.settings.connect)
            except ValueError as exc:
                raise StartError(str(exc)) from None

    def _open_history(self) -> None:
        if not self.settings.save_history:
            history = History.memory()
        else:
            try:
                history = History.open(self.paths.history_file)
            except HistoryError as exc:
                history = History.memory()
                self.notice(f"history is off for this run: {exc}", "warning")
        self.chat = Chat(self, HistoryStore(history))

    def _listen(self) -> None:
        settings = self.settings
        note = ""
        try:
            sock = open_listening_socket(settings.bind, settings.port)
        except PortInUse:
            if settings.port_explicit:
                raise StartError(
                    f"port {settings.port} is already in use (is another p2pchat running?); "
                    "choose another with --port N, or --port 0 for any free port"
                ) from None
            sock = open_listening_socket(settings.bind, 0)
            note = f"port {settings.port} is in use, listening on {sock.getsockname()[1]} instead"
        except OSError as exc:
            raise StartError(f"cannot listen on {settings.bind}:{settings.port}: {exc.strerror or exc}") from None
        self._listener = Listener(
            sock, self.trust.server_context(), self._on_inbound,
            lambda address, text: self.notice(f"{address}: {text}", "warning"),
            handshake_timeout=settings.handshake_timeout,
        )
        self._listener.start()
        self._state = "listening"
        self.emit(Listening(settings.bind, self._listener.port, note))
        if note:
            self.notice(note, "warning")

    @property
    def _loopback_only(self) -> bool:
        """Listening on loopback only: nothing to forward, nobody on the LAN to tell."""
        return self.settings.bind.startswith("127.") or self.settings.bind == "::1"

    def _map_port(self) -> None:
        """Ask the router to forward the port, in the background."""
        if not self.settings.port_mapping or self._loopback_only:
            return

        def mapped(mapping) -> None:
            public = self._port_mapper.public_address
            if public is not None:
                self.notice(f"reachable from the internet at {public[0]}:{public[1]} "
                            f"(port forwarded by the router, {mapping.method})")

        self._port_mapper = PortMapper(self._listener.port, mapped)
        self._port_mapper.start()

    def _discover(self) -> None:
        """Announce ourselves on the LAN and watch who else does, in the background."""
        bind = self.settings.bind
        if not self.settings.discoverable or not self.trust.tls or self._loopback_only:
            return

        def announcement() -> tuple[str, str, int, list[str]]:
            addresses = local_addresses() if bind in ("::", "0.0.0.0", "") else [bind]
            return self._nickname, self.own_fingerprint, self._listener.port, addresses

        def known(fingerprint: str) -> bool:
            return self.trust.known is not None and self.trust.known.get(fingerprint) is not None

        self.lan = LanPeers(self.own_fingerprint, known, self._lan_changed, announcement)
        self.lan.start()

    def _lan_changed(self, peers: list[LanPeer]) -> None:
        self.emit(LanPeersChanged(tuple(peers)))
        # The peer we would reconnect to (or are dialing, or wait for on the relays).
        wanted = (self._last_peer_id or (self._dial_target.fingerprint if self._dial_target else None)
                  or (self.relay_peer() if self._relay_waiter is not None else None))
        seen, appeared = {p.fingerprint for p in peers}, None
        if wanted in seen - self._lan_seen:
            appeared = next(p for p in peers if p.fingerprint == wanted)
        self._lan_seen = seen
        if appeared is not None and self._conn is None and not self._stopped and not self._claimed:
            # The last peer is on this network: dial it there now rather than wait for the relay.
            logger.info("{} appeared on the local network at {}:{}", appeared.nickname, appeared.host, appeared.port)
            if self._dial_target is None:
                self._dial_target = parse_target(appeared.address)
            if self._dial_task is not None:
                self._dial_task.cancel()
            self._dial_task = self._spawn(self._dial_loop(self._dial_target), "lan-reconnect")

    async def connect(self, address: str) -> None:
        """Dial `address` (retrying until it answers) while still listening."""
        target = parse_target(address)
        if target.fingerprint and target.fingerprint == self.own_fingerprint:
            raise ValueError("that is your own address or invite: give it to your peer")
        self._dial_target = target
        if self._dial_task is not None:
            self._dial_task.cancel()
        self._dial_task = self._spawn(self._dial_loop(target), "dialer")

    async def quit(self, reason: str = "quit") -> None:
        if self._stopped:
            return
        self._stopped = True
        self._state = "stopped"
        if self._dial_task is not None:
            self._dial_task.cancel()
        conn = self._conn
        await self.transfers_engine.shutdown(keep_parts=True)
        if conn is not None:
            with contextlib.suppress(ConnectionClosed, OSError, RuntimeError):
                conn.send(Bye(reason))
            await conn.flush_and_close()
        if self._listener is not None:
            await self._listener.close()
        if self._relay_waiter is not None:
            await self._relay_waiter.close()
        if self._port_mapper is not None:
            await self._port_mapper.close()
        if self.lan is not None:
            await self.lan.close()
        for task in list(self._tasks) + self._conn_tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*self._tasks, *self._conn_tasks, return_exceptions=True)
        if self.chat is not None:
            with contextlib.suppress(Exception):
                self.chat.close()
        self.emit(Stopped(reason))

    async def wait_delivered(self, timeout: float) -> bool:
        """Wait until every sent message is acknowledged and every file we send has
        arrived; False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.unacked_count or self.transfers_engine.sending():
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    # -- dialing -----------------------------------------------------------------
    def _reach_plan(self, target: DialTarget) -> tuple[ReachPlan, Callable[[Connection], str | None]]:
        """How to reach the target, and the identity a connection it opens must show."""
        peer = target.fingerprint or self._last_peer_id
        tokens, relays = [], []
        if self.trust.tls and peer and peer != self.own_fingerprint:
            relays = list(dict.fromkeys([*target.relays, *self.relays]))
            tokens.append(RelayToken(derived_token(self.own_fingerprint, peer),
                                     tls_client_over_relay(self.own_fingerprint, peer, invited=None)))
            invite = target.invite
            if invite is not None and not invite.expired(self.clock()):
                tokens.append(RelayToken(relay_token(invite.secret), True))

        # Where the LAN says this peer is comes first (and is pinned to it, as a relay is).
        on_lan = self.lan.addresses_of(peer) if self.lan is not None and peer else []
        lan_hosts = {(a.host, a.port) for a in on_lan}
        direct = list({(a.host, a.port): a for a in [*on_lan, *target.direct]}.values())

        def pinned(conn: Connection) -> str | None:
            routed = conn.relay or (conn.peer_host, conn.peer_port) in lan_hosts
            return target.fingerprint or (peer if routed else None)

        def check(conn: Connection) -> None:
            self.trust.check_expected(conn, pinned(conn))

        plan = ReachPlan(
            direct, relays, tokens, self.trust.client_context(),
            self.trust.server_context(), self._side, self.settings.handshake_timeout, check,
        )
        return plan, pinned

    async def _dial_loop(self, target: DialTarget, first_delay: float = 0.0) -> None:
        attempt = 0
        delay = first_delay
        cap = max(1.0, float(self.settings.reconnect))
        while not self._stopped:
            if delay:
                await asyncio.sleep(delay)
            if self._conn is not None:
                return  # the peer reached us first
            attempt += 1
            self._state = "dialing" if self._last_peer_id is None else "reconnecting"
            self.emit(Dialing(str(target), attempt))
            plan, pinned = self._reach_plan(target)
            reason = "the handshake ended without a chat"
            try:
                conn = await reach(plan)
            except PeerRefused as exc:  # the wrong identity on every path that answered
                self.notice(str(exc), "error")
                if exc.final:
                    self._state = "listening"
                    return
                reason = str(exc)
            except ReachError as exc:
                reason = str(exc)
            else:
                try:
                    await self._handshake(conn, expected=pinned(conn))
                except PeerRefused as exc:
                    conn.abort()
                    self.notice(str(exc), "error")
                    if exc.final:
                        self._state = "listening"
                        return
                    reason = str(exc)
                except (ConnectionClosed, ProtocolError, asyncio.TimeoutError, OSError) as exc:
                    reason = describe_dial_error(exc, str(target)) if not isinstance(exc, ProtocolError) else f"{target}: {exc}"
                    conn.abort()
                if self._conn is not None:
                    return
            delay = min(cap, 0.5 * (2 ** min(attempt - 1, 10)))
            logger.info("dial attempt {} to {} failed: {}; retrying in {:.1f}s", attempt, target, reason, delay)
            self._state = "dialing" if self._last_peer_id is None else "reconnecting"
            self.emit(Dialing(str(target), attempt, retry_in=delay, reason=reason))
            if self._last_peer_id is not None:
                self.emit(Reconnecting(delay, attempt))

    # -- handshake -----------------------------------------------------------------
    def relay_peer(self) -> str | None:
        """The peer whose derived token we wait for on the relays: the last one (or, after a
        start, the most recently seen known one) while no chat is up and we are not dialing."""
        if self._conn is not None or self._dial_target is not None or not self.trust.tls:
            return None
        if self._last_peer_id is not None:
            return self._last_peer_id
        known = self.trust.known.all() if self.trust.known is not None else []
        return known[0].fingerprint if known else None

    def relayed(self, conn: Connection, expected: str | None) -> asyncio.Task:
        """A peer arrived through a relay we were waiting on: its handshake, as a task."""
        return self._spawn(self._on_inbound(conn, expected), "relay-inbound")

    async def _on_inbound(self, conn: Connection, expected: str | None = None) -> None:
        if self._stopped:
            conn.abort()
            return
        try:
            await self._handshake(conn, expected=expected)
        except PeerRefused as exc:
            conn.abort()
            self.notice(str(exc), "error")
        except (ConnectionClosed, ProtocolError, asyncio.TimeoutError, OSError) as exc:
            logger.info("inbound connection from {} dropped: {}", conn.peer_address, exc)
            conn.abort()
        except asyncio.CancelledError:  # quitting mid-handshake
            conn.abort()
            raise

    async def _recv_handshake_frame(self, conn: Connection, timeout: float):
        frame = await asyncio.wait_for(conn.recv(), timeout)
        if isinstance(frame, Busy):
            raise PeerRefused(f"{conn.peer_address} is already in a chat ({frame.reason})", final=True)
        if isinstance(frame, Bye):
            if frame.reason == "identity refused":
                raise PeerRefused(f"{conn.peer_address} refused to talk to this identity", final=True)
            raise ConnectionClosed(f"the peer closed the connection ({frame.reason})")
        if isinstance(frame, Error):
            final = frame.code in ("tls_required", "tls_unexpected", "incompatible_version", "identity_mismatch")
            raise PeerRefused(f"{conn.peer_address} refused the connection: {frame.message}", final=final)
        return frame

    def _fail(self, conn: Connection, code: str, message: str) -> None:
        with contextlib.suppress(Exception):
            conn.send(Error(code, message))
        conn.close()

    async def _handshake(self, conn: Connection, expected: str | None) -> None:
        """Run the handshake on a fresh connection; on success it becomes the session.

        Any protocol violation is answered with an ERROR frame naming it, then the close."""
        try:
            await self._negotiate(conn, expected)
        except ProtocolError as exc:
            self._fail(conn, exc.code, exc.message)
            raise
        except PeerRefused:
            if not conn.is_closing:
                conn.abort()
            raise

    async def _negotiate(self, conn: Connection, expected: str | None) -> None:
        target = self._dial_target
        invite = target.invite if target is not None and conn.dialed else None
        secret = invite.secret if invite is not None and expected == invite.fingerprint else None
        hello_out = Hello(PROTOCOL_VERSION, self._nickname, self.trust.own_id, CAPS, self._session_id, secret)
        self.trust.check_expected(conn, expected)  # not one byte to an impostor
        conn.send_magic()
        with contextlib.suppress(ConnectionClosed):  # the peer may have spoken and hung up: read it
            conn.send(hello_out)
        hello = await self._recv_handshake_frame(conn, self.settings.handshake_timeout)
        if not isinstance(hello, Hello):
            raise ProtocolError("unexpected_frame", f"expected HELLO, got {type(hello).__name__}")
        if hello.version != PROTOCOL_VERSION:
            message = f"incompatible protocol version: peer speaks {hello.version}, we speak {PROTOCOL_VERSION}"
            self._fail(conn, "incompatible_version", message)
            raise PeerRefused(f"{conn.peer_address}: {message}", final=True)
        peer_id = self.trust.peer_id(conn, hello)
        if peer_id == self.trust.own_id:
            conn.send(Bye("connected to itself"))
            conn.close()
            raise PeerRefused("that address is this very instance", final=True)
        # Someone else already has us: tell the newcomer, leave the chat alone.
        if self._refused_as_busy(conn, hello, peer_id, claimed_too=True):
            return
        await self.trust.approve(conn, hello, peer_id, dialed=conn.dialed)
        if self._refused_as_busy(conn, hello, peer_id):  # someone else got in while we asked
            return
        decider = is_decider(self.trust.own_id, peer_id)
        if decider:
            session_id = self._decide(conn, hello, peer_id)
            if session_id is None:
                conn.send(Bye("duplicate"))
                await conn.flush_and_close()
                return
        else:
            conn.send(Ready(None))
        owns_claim = peer_id not in self._claimed  # _decide() treats later ones as duplicates
        self._claimed.add(peer_id)
        try:
            ready = await self._recv_handshake_frame(conn, READY_TIMEOUT)
            if not isinstance(ready, Ready):
                raise ProtocolError("unexpected_frame", f"expected READY, got {type(ready).__name__}")
            if not decider:
                if not ready.session:
                    raise ProtocolError("bad_frame", "READY from the deciding side must name a session")
                session_id = ready.session
        finally:
            if owns_claim:
                self._claimed.discard(peer_id)
        self._activate(conn, hello, peer_id, session_id)

    def _decide(self, conn: Connection, hello: Hello, peer_id: str) -> str | None:
        """As decider: the session id to use on this connection, or None if it is a duplicate."""
        if self._conn is not None and self._peer_id == peer_id:
            if peer_id in self._claimed:
                return None  # a replacement is already being set up
            if hello.session and hello.session == self._session_id:
                session_id = self._session_id  # the peer lost the old connection: move over
            elif asyncio.get_running_loop().time() - self._activated_at < DUPLICATE_WINDOW:
                return None  # both dialed at once: the first connection stays
            else:
                # The peer started afresh (a restart): its side of the old connection is gone.
                session_id = new_session_id()
            conn.send(Ready(session_id))
            return session_id
        if peer_id in self._claimed:
            return None  # another connection from this peer is already being set up
        if hello.session and hello.session == self._session_id and peer_id == self._last_peer_id:
            session_id = self._session_id
        else:
            session_id = new_session_id()
        conn.send(Ready(session_id))
        return session_id

    # -- the live session --------------------------------------------------------
    def _refused_as_busy(self, conn: Connection, hello: Hello, peer_id: str, claimed_too: bool = False) -> bool:
        """Someone else already has us: tell the newcomer, leave the chat alone."""
        busy_with = self._peer_id if self._conn is not None else None
        if busy_with is None and claimed_too:
            busy_with = next(iter(self._claimed), None)
        if busy_with is None or busy_with == peer_id:
            return False
        with contextlib.suppress(ConnectionClosed):
            conn.send(Busy("already in a chat"))
        conn.close()
        self.notice(f"{hello.nickname} ({conn.peer_address}) tried to connect; refused: already in a chat")
        return True

    def _activate(self, conn: Connection, hello: Hello, peer_id: str, session_id: str) -> None:
        if self._stopped or (self._conn is not None and self._peer_id != peer_id):
            conn.abort()  # quitting, or another peer won the race while this one was asked
            return
        old = self._conn
        if old is not None and old is not conn:
            for task in self._conn_tasks:
                task.cancel()
            old.abort()
            self.transfers_engine.on_disconnected()  # what ran on the old connection resumes below
        resumed = peer_id == self._last_peer_id
        self._conn = conn
        self._activated_at = asyncio.get_running_loop().time()
        self._peer_id = peer_id
        self._last_peer_id = peer_id
        self._session_id = session_id
        self._peer_quit = False
        self._state = "connected"
        self._peer = self.trust.peer_info(conn, hello, peer_id)
        self.trust.remember(self._peer, peer_id)
        now = asyncio.get_running_loop().time()
        self._heartbeat = Heartbeat(self.settings.heartbeat_interval, self.settings.heartbeat_timeout)
        self._heartbeat.frame_received(now)
        self._heartbeat.frame_sent(now)
        self._conn_tasks = [
            asyncio.create_task(self._read_loop(conn), name="reader"),
            asyncio.create_task(self._heartbeat_loop(conn), name="heartbeat"),
        ]
        if old is None:
            self.emit(Connected(self._peer, resumed=resumed))
        self.chat.connected(conn, peer_id, show_history=True)
        self.transfers_engine.on_connected(conn, peer_id)

    async def _read_loop(self, conn: Connection) -> None:
        reason, by_peer = "connection lost", False
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await conn.recv()
                self._heartbeat.frame_received(loop.time())
                if isinstance(frame, FileChunk):
                    await self.transfers_engine.on_chunk(frame)
                    continue
                if isinstance(frame, Bye):
                    reason, by_peer = frame.reason, True
                    break
                self._handle(conn, frame)
        except ConnectionClosed as exc:
            reason = f"connection lost: {exc.reason}"
        except ProtocolError as exc:
            self._fail(conn, exc.code, exc.message)
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
            rtt = self._heartbeat.pong_received(frame.ts, now)
            self._rtt_ms = rtt * 1000
            self.emit(RttMeasured(self._rtt_ms))
        elif isinstance(frame, Nick):
            old = self._peer.nickname
            if frame.nickname == old:
                return  # nothing changed: no event, no write to the known-peers file
            self._peer = replace(self._peer, nickname=frame.nickname)
            self.trust.remember(self._peer, self._peer_id)
            self.emit(NickChanged(old, frame.nickname, by_peer=True))
        elif isinstance(frame, Error):
            self.notice(f"the peer reported an error: {frame.message}", "error")
            conn.close()
        elif isinstance(frame, (Hello, Ready, Busy)):
            raise ProtocolError("unexpected_frame", f"{type(frame).__name__} after the handshake")
        else:
            self.transfers_engine.on_frame(conn, frame)

    async def _heartbeat_loop(self, conn: Connection) -> None:
        loop = asyncio.get_running_loop()
        hb = self._heartbeat
        while not conn.is_closing:
            now = loop.time()
            if hb.expired(now):
                conn.abort()
                self._lost(conn, f"connection lost: no heartbeat for {self.settings.heartbeat_timeout:g} s", False)
                return
            if hb.ping_due(now):
                with contextlib.suppress(ConnectionClosed):
                    conn.send(Ping(now))
                hb.frame_sent(now)
            await asyncio.sleep(max(0.01, hb.next_deadline(now) - now))

    def _lost(self, conn: Connection, reason: str, by_peer: bool) -> None:
        if conn is not self._conn:
            return
        conn.abort()
        for task in self._conn_tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._conn_tasks = []
        self._conn = None
        self._peer_id = None
        nick = self._peer.nickname if self._peer else "peer"
        self.transfers_engine.on_disconnected()
        if self._stopped:
            return
        quit_by_peer = by_peer and reason == "quit"
        will_reconnect = self._dial_target is not None and not quit_by_peer
        text = f"{nick} left ({reason})" if by_peer else reason
        self._state = "reconnecting" if will_reconnect else "listening"
        self.emit(Disconnected(text, by_peer=by_peer, will_reconnect=will_reconnect))
        if will_reconnect:
            if self._dial_task is not None:
                self._dial_task.cancel()
            self._dial_task = self._spawn(self._dial_loop(self._dial_target, first_delay=0.2), "reconnect")

    def create_invite(self) -> tuple[str, str]:
        """A new one-time invite line for a peer, and a line saying what it allows."""
        if not self.trust.tls or self._listener is None:
            raise ValueError("invites need TLS and a running listener")
        public = self._port_mapper.public_address if self._port_mapper is not None else None
        return make_invite(self.invites, self.own_fingerprint, self._listener.port, self.relays, public)

    # -- chat API ------------------------------------------------------------------
    def send_text(self, body: str, *, action: bool = False) -> str:
        if self.chat is None:
            raise ValueError("not started yet")
        return self.chat.send_text(body, action)

    def change_nick(self, nickname: str) -> None:
        nickname = validate_nickname(nickname)
        old, self._nickname = self._nickname, nickname
        if self._conn is not None:
            with contextlib.suppress(ConnectionClosed):
                self._conn.send(Nick(nickname))
        self.emit(NickChanged(old, nickname, by_peer=False))
        if self.lan is not None:
            self._spawn(self.lan.renounce(), "lan-announce")

    def ping(self) -> None:
        if self._conn is None:
            self.notice("not connected", "warning")
            return
        self._conn.send(Ping(asyncio.get_running_loop().time()))

    def verify_peer(self) -> None:
        if self._conn is None or not self.trust.verify(self._peer_id):
            self.notice("nothing to verify: no encrypted peer connected", "warning")
            return
        self._peer = replace(self._peer, verified=True)
        self.notice(f"{self._peer.nickname} is now marked verified")

    def answer_identity(self, accept: bool) -> None:
        self.trust.answer(accept)

    # -- files ---------------------------------------------------------------------
    async def offer_files(self, paths: list[Path]) -> list[int]:
        return await self.transfers_engine.offer(paths)

    def accept(self, transfer_id: int, save_as: Path | None = None) -> None:
        self.transfers_engine.accept(transfer_id, save_as)

    def decline(self, transfer_id: int, reason: str = "declined") -> None:
        self.transfers_engine.decline(transfer_id, reason)

    def cancel(self, transfer_id: int) -> None:
        self.transfers_engine.cancel(transfer_id)

    # -- for the engine and trust helpers --------------------------------------------
    @property
    def peer_id(self) -> str | None:
        return self._peer_id

    @property
    def last_peer_id(self) -> str | None:
        return self._last_peer_id

    @property
    def connection(self) -> Connection | None:
        return self._conn
