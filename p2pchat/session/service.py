"""The session: the one service a front end talks to.

It is the composition root: it builds the parts and wires them through narrow ports. It owns
the listener and the background tasks, keeps exactly one live connection to one peer, and
reports what happens as events. Where the session stands (state, peer, claims) is `Presence`,
which decides each transition without I/O. The rest is delegated: dialing to `Caller`, the ways besides the address typed (relays, port mapping, the LAN) to
`Routes`, the handshake to `Greeter` (its I/O) and `session/handshake/machine.py` (its decisions), the
live connection to `LiveConnection` (reader and heartbeat), and what happens on it
to `Chat` (messages, exactly once), `Transfers` (files) and `Trust` (identities).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from p2pchat.net.bind import PortInUse, open_listening_socket, take_early
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.net.interfaces import is_this_machine
from p2pchat.net.listener import Listener
from p2pchat.paths import Paths, get_paths
from p2pchat.protocol import Bye, Heartbeat, Hello, Nick, Ping, ProtocolError, validate_nickname
from p2pchat.protocol.invite import INVITE_LIFETIME
from p2pchat.protocol.transit import RelayAddress
from p2pchat.reach.caller import Caller
from p2pchat.reach.direct import DirectPath
from p2pchat.reach.invites import Invites
from p2pchat.reach.routes import Routes
from p2pchat.reach.target import DialTarget, parse_target
from p2pchat.running import clear_listening, record_listening
from p2pchat.session.chat import Chat
from p2pchat.session.codes import CodeInvite, Codes
from p2pchat.session.events import (
    ChatMessage,
    Event,
    LanPeer,
    LanPeersChanged,
    NickChanged,
    Notice,
    NoticeLevel,
    PeerInfo,
    RttMeasured,
    SessionState,
    TransferUpdated,
)
from p2pchat.session.handshake.greeting import Greeter, say_bye
from p2pchat.session.handshake.machine import IDENTITY_REFUSED, PeerRefused
from p2pchat.session.live import LiveConnection
from p2pchat.session.presence import Presence
from p2pchat.session.store import open_history
from p2pchat.session.tasks import Tasks
from p2pchat.session.transfers import Transfers
from p2pchat.session.trust import Trust
from p2pchat.session.unfinished import (
    Unfinished,
    describe_left_send,
    load_unfinished,
    save_unfinished,
)
from p2pchat.settings import Settings
from p2pchat.transfer.folders import waiting_downloads
from p2pchat.transfer.hashing import agreed_hash

RELAY_GRACE = 5.0  # seconds a relayed connection stays open after the session moved off it
UNFINISHED_EVERY = 2.0  # seconds: a running send's percent is written to the record at most this often


class StartError(Exception):
    """The session could not start (port in use, bad identity...): one line for the user.

    `reason` is what went wrong; the message adds `advice` in command-line terms, which a
    front end with a form of its own may leave out."""

    def __init__(self, reason: str, advice: str = "") -> None:
        super().__init__(f"{reason}; {advice}" if advice else reason)
        self.reason = reason


def _other_port(source: str) -> str:
    """How to choose another port, where the taken one came from (a `load_settings` source)."""
    if source.startswith("file "):
        where = f"the settings file {source[5:]}: choose another there (p2pchat config set port N)"
    elif source.startswith("env "):
        where = f"the environment ({source[4:]}): choose another there"
    else:
        return "choose another with --port N, or --port 0 for any free port"
    return f"it comes from {where}, or run with --port N (--port 0: any free port)"


def emit_all(emit: Callable[[Event], None], events: list[Event]) -> None:
    for event in events:
        emit(event)


class DialReport:
    """What the caller reports, turned into the presence's transitions and their events."""

    def __init__(self, presence: Presence, emit: Callable[[Event], None], notice: Callable[..., None],
                 ended: Callable[[], None]) -> None:
        self.presence = presence
        self._emit = emit
        self.notice = notice
        self._ended = ended  # the call is over for good

    def dialing(self, target: str, attempt: int) -> None:
        emit_all(self._emit, self.presence.dialing(target, attempt))

    def retrying(self, target: str, attempt: int, delay: float, reason: str) -> None:
        emit_all(self._emit, self.presence.retrying(target, attempt, delay, reason))

    def gave_up(self) -> None:
        self._ended()
        emit_all(self._emit, self.presence.refused())


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
        self.clock = clock
        self._nickname = validate_nickname(settings.nickname)
        self._listener: Listener | None = None
        self._conn: Connection | None = None  # the live connection, while presence.connected
        self._tasks = Tasks(lambda name, exc: self.notice(f"internal error in {name}: {exc}", "error"))
        self._conn_tasks: list[asyncio.Task] = []
        self._live: LiveConnection | None = None
        self.chat: Chat | None = None  # made by start(), with the history
        self._rtt_ms: float | None = None
        self.unfinished = Unfinished()  # what this run has under way, for the next one
        self._unfinished_later: asyncio.TimerHandle | None = None  # a send's new percent, written soon
        self._left_sends: dict = {}  # sends an earlier run did not finish, offered when their peer is back
        self.trust = Trust(
            self, self, tls=settings.tls, accept_unknown=settings.accept_unknown, paths=self.paths,
            interactive=interactive,
        )
        self.presence = Presence(self.trust.own_id)  # the lifecycle: state, peer, session, claims
        self.routes = Routes(  # relays, the router's port mapping, the LAN
            settings, self.trust, self.presence, notice=self.notice, spawn=self._spawn,
            handshake=self._on_inbound, nickname=lambda: self._nickname,
            listening_port=lambda: self.listening_port, dial_target=lambda: self.caller.target,
            found=lambda address: self.caller.call_found(address),
            lan_peers_changed=lambda peers: self.emit(LanPeersChanged(tuple(peers))), clock=clock,
            learned=lambda peer: self.direct.addresses_of(peer),
        )
        self.caller = Caller(  # what we dial, and the dial loop
            self.presence, DialReport(
                self.presence, self.emit, self.notice, lambda: self._remember_unfinished(self.unfinished.call_ended())), plan=self.routes.plan, handshake=self._dialed_handshake,
            spawn=self._spawn, listening_port=lambda: self.listening_port, reconnect_cap=settings.reconnect,
        )
        self._introduced: dict[str, tuple[RelayAddress, ...]] = {}  # fingerprint -> relays, from a code's user
        self.codes = Codes(  # short codes through a mailbox server
            settings, self.trust.invites, self.trust.own_id, invite=self._invite_line, notice=self.notice,
            spawn=self._spawn, introduced=lambda guest: self._introduced.update({guest.fingerprint: guest.relays}),
        )
        self.direct = DirectPath(  # our public address; a relayed session moved to a direct path
            settings.stun, self.trust, handshake=self._on_inbound, live_connection=lambda: self._conn,
            listening_port=lambda: self.listening_port, public_mapping=lambda: self.routes.public_mapping,
            peer_nickname=lambda: self.presence.peer.nickname if self.presence.peer else "the peer",
            notice=self.notice, spawn=self._spawn, handshake_timeout=settings.handshake_timeout, clock=clock,
        )
        self.transfers_engine = Transfers(self, self, settings, self.paths.downloads_dir)
        self._greeter = Greeter(
            self.trust, self, self, timeout=settings.handshake_timeout, standing=lambda: self.presence.standing,
            target=lambda: self.caller.target,
            activate=self._activate, met_itself=self.caller.met_itself,
        )

    # -- read-only state ---------------------------------------------------------
    @property
    def interactive(self) -> bool:
        """The front end answers IdentityPrompt events."""
        return self.trust.interactive

    @interactive.setter
    def interactive(self, value: bool) -> None:
        self.trust.interactive = value

    @property
    def nickname(self) -> str:
        return self._nickname

    @property
    def listening_port(self) -> int | None:
        return self._listener.port if self._listener else None

    @property
    def peer(self) -> PeerInfo | None:
        return self.presence.peer

    @property
    def state(self) -> SessionState:
        return self.presence.state

    @property
    def rtt_ms(self) -> float | None:
        return self._rtt_ms

    @property
    def own_fingerprint(self) -> str:
        return self.trust.own_id

    @property
    def short_code(self) -> str:
        return self.trust.short_code(self.presence.peer_id) if self.presence.connected else ""

    @property
    def transfers(self):
        return self.transfers_engine.infos()

    @property
    def invites(self) -> Invites:
        return self.trust.invites

    @property
    def connected(self) -> bool:
        return self.presence.connected

    @property
    def unacked_count(self) -> int:
        return len(self.chat.unacked) if self.chat else 0

    def info(self) -> dict[str, str]:
        lines = {
            "you": f"{self._nickname} ({self.trust.describe_own()})",
            "listening": f"port {self.listening_port}" if self._listener else "not listening",
            "state": self.presence.state.value,
            "log file": str(self.paths.log_file),
        }
        peer = self.presence.peer
        if self._conn is not None and peer is not None:
            relayed = peer.route != "direct"  # the relay's address is not the peer's
            lines["peer"] = peer.nickname if relayed else f"{peer.nickname} at {peer.address}"
            lines.update(self.direct.info(peer.route))
            lines.update(self.trust.describe_connection(self._conn, self.presence.peer_id))
            if self._rtt_ms is not None:
                lines["round trip"] = f"{self._rtt_ms:.1f} ms"
        lines.update(self.routes.info())
        return lines

    @property
    def lan_peers(self) -> list[LanPeer]:
        return self.routes.lan_peers

    @property
    def dial_target(self) -> DialTarget | None:
        """What the user asked to dial (and a drop redials), if anything."""
        return self.caller.target

    # -- events ------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if isinstance(event, TransferUpdated):
            self._send_changed(event)
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            logger.exception("front end failed to handle {}", type(event).__name__)

    def notice(self, text: str, level: str = "info") -> None:
        notice = Notice(text, NoticeLevel(level))
        logger.log("WARNING" if notice.level.problem else "INFO", text)
        self.emit(notice)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        return self._tasks.spawn(coro, name)

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        try:
            self.trust.load()
        except Exception as exc:  # unreadable key, bad permissions, corrupt known peers
            raise StartError(str(exc)) from exc
        self.presence.own_id = self.trust.own_id
        try:
            self.routes.configure()
        except ValueError as exc:
            raise StartError(f"relay setting: {exc}") from None
        history = self.paths.history_file if self.settings.save_history else None
        self.chat = Chat(self, self, open_history(history, self.notice), self.clock)
        self._listen()
        self.routes.start()
        left = load_unfinished(self.paths.unfinished_file)
        self.unfinished.sends, self._left_sends = dict(left.sends), dict(left.sends)
        if self.settings.connect:
            try:
                await self.connect(self.settings.connect)
            except ValueError as exc:
                raise StartError(str(exc)) from None
        else:
            self._call_again(left)
        for send in list(self._left_sends.values()):  # said now, offered when the peer is back
            exists = Path(send.path).exists()
            self.notice(describe_left_send(send, self._known_name(send.peer), exists, connected=False))
            if not exists:
                del self._left_sends[send.path]
                self._remember_unfinished(self.unfinished.forget_send(send.path))
        downloads = await asyncio.to_thread(waiting_downloads, self.transfers_engine.downloads_dir)
        for download in downloads:  # and the other way: what we were receiving
            peer = self._known_name(download.peer_id)
            self.notice(f"{download.name} from {peer} stopped at {download.percent}% "
                        f"when p2pchat stopped: it resumes when {peer} offers it again")

    def _call_again(self, left: Unfinished) -> None:
        """Started with no peer named after a run that ended mid-chat without a goodbye: call
        the peer that run had dialed."""
        target = left.redial_target()
        if target is None:
            return
        self.unfinished.called(left.peer, left.addresses)
        with_whom = f" with {self._known_name(left.peer)}" if left.peer else ""
        self.notice(f"the last chat{with_whom} ended without a goodbye (p2pchat stopped): calling again")
        self.caller.call(target, why="reconnect")

    def _known_name(self, peer_id: str | None) -> str:
        known = self.trust.known.get(peer_id) if peer_id and self.trust.known is not None else None
        return known.nickname if known is not None else "the peer"

    def _remember_unfinished(self, changed: bool, *, soon: bool = False) -> None:
        """Write the record if it `changed`: at once, or with `soon` within UNFINISHED_EVERY
        (a running send's new percent: each write replaces a file, which took the event loop
        6 ms on average with the disk busy with the transfer, 20-40 times a transfer)."""
        if not changed:
            return
        if soon:
            if self._unfinished_later is None:
                self._unfinished_later = asyncio.get_running_loop().call_later(
                    UNFINISHED_EVERY, self._remember_unfinished, True)
            return
        if self._unfinished_later is not None:
            self._unfinished_later.cancel()
            self._unfinished_later = None
        save_unfinished(self.paths.unfinished_file, self.unfinished)

    def _send_changed(self, event: TransferUpdated) -> None:
        info = event.transfer
        if info.path is not None:
            self._left_sends.pop(str(info.path), None)  # sent again in this run
        progress = info.state == "active" and str(info.path) in self.unfinished.sends  # a new percent
        changed = self.unfinished.send_changed(info, self.presence.peer_id or self.presence.last_peer_id)
        self._remember_unfinished(changed, soon=progress)

    def _offer_left_sends(self, peer_id: str, nickname: str) -> None:
        """The peer is back: the sends an earlier run left unfinished go out again."""
        paths = []
        for send in self.unfinished.sends_for(peer_id, self._left_sends):
            exists = Path(send.path).exists()
            self.notice(describe_left_send(send, nickname, exists), "info" if exists else "warning")
            if exists:
                paths.append(Path(send.path))
            else:
                self._remember_unfinished(self.unfinished.forget_send(send.path))
        if paths:
            self._spawn(self._offer_again(paths), "offer-again")

    async def _offer_again(self, paths: list[Path]) -> None:
        try:
            await self.offer_files(paths)
        except (ValueError, OSError) as exc:
            self.notice(f"not offered again: {exc}", "warning")

    def _listen(self) -> None:
        settings = self.settings
        note = ""
        try:
            sock = take_early(settings.bind, settings.port) or open_listening_socket(settings.bind, settings.port)
        except PortInUse:
            if settings.port_explicit:
                raise StartError(
                    f"port {settings.port} is already in use (is another p2pchat running?)",
                    _other_port(settings.port_source),
                ) from None
            sock = open_listening_socket(settings.bind, 0)
            note = f"port {settings.port} is in use"
        except OSError as exc:
            raise StartError(f"cannot listen on {settings.bind}:{settings.port}: {exc.strerror or exc}") from None
        self._listener = Listener(
            sock, self.trust.server_context(), self._on_inbound,
            lambda address, text: self.notice(f"{address}: {text}", "warning"),
            handshake_timeout=settings.handshake_timeout,
        )
        self._listener.start()
        record_listening(self.paths.running_file, self._listener.port)  # for `p2pchat invite` beside us
        emit_all(self.emit, self.presence.listening(settings.bind, self._listener.port, note))  # the note is shown with it
        if note:
            logger.warning(note)

    async def connect(self, address: str) -> None:
        """Dial `address` (retrying until it answers) while still listening."""
        target = parse_target(address)
        if target.code is not None:
            target = await self.codes.meet(target.code)
        if target.fingerprint and target.fingerprint == self.own_fingerprint:
            raise ValueError("that is your own address or invite: give it to your peer")
        if self._conn is not None:  # the chat goes on; only the address to redial changes
            port = self.listening_port
            if any(a.port == port and is_this_machine(a.host) for a in target.direct):
                # Found later only when the link drops and the redial meets our own key.
                raise ValueError(f"{address} is this p2pchat itself (it listens on port {port}): "
                                 "/connect takes your peer's address")
            peer = self.presence.peer
            self.caller.retarget(target, peer.nickname if peer else "the peer")
            return
        self.caller.call(target)

    async def quit(self, reason: str = "quit") -> None:
        if self.presence.stopped:
            return
        stopped = self.presence.stop(reason)
        self.caller.stop()
        conn = self._conn
        for task in self._conn_tasks:
            # Nothing is read from here on: a chunk arriving as the part files close would fail
            # the download on both sides, where quitting only interrupts it (it resumes later).
            task.cancel()
        await self.transfers_engine.shutdown(keep_parts=True)
        if conn is not None:
            conn.discard_incoming()  # the peer may still be sending: it must hear our BYE
            with contextlib.suppress(ConnectionClosed, OSError, RuntimeError):
                conn.send(Bye(reason))
            await conn.close_after_goodbye()
            self.trust.seen(self.presence.last_peer_id)
        self._remember_unfinished(self.unfinished.call_ended() or self._unfinished_later is not None)
        if self._listener is not None:
            await self._listener.close()
            clear_listening(self.paths.running_file)
        await self.routes.close()
        await self._tasks.cancel_all()  # the connection's reader and heartbeat among them
        if self.chat is not None:
            with contextlib.suppress(Exception):
                self.chat.close()
        emit_all(self.emit, stopped)

    async def wait_delivered(self, timeout: float) -> bool:
        """Wait until every sent message is acknowledged and every file we send has
        arrived; False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.unacked_count or self.transfers_engine.sending():
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    # -- handshake -----------------------------------------------------------------
    async def _on_inbound(self, conn: Connection, expected: str | None = None) -> None:
        """A connection that reached us (on the listener or a relay we wait on): its handshake,
        with every failure handled here."""
        if self.presence.stopped:
            conn.abort()
            return
        try:
            await self._greeter.handshake(conn, expected)
        except PeerRefused as exc:
            conn.abort()
            if str(exc):
                self.notice(str(exc), "error")
        except (ConnectionClosed, ProtocolError, asyncio.TimeoutError, OSError) as exc:
            logger.info("inbound connection from {} dropped: {}", conn.peer_address, exc)
            conn.abort()
        except asyncio.CancelledError:  # quitting mid-handshake
            say_bye(conn)
            raise

    async def _dialed_handshake(self, conn: Connection, expected: str | None) -> None:
        """A connection we dialed: its handshake (the caller handles how it fails)."""
        try:
            await self._greeter.handshake(conn, expected)
        except asyncio.CancelledError:  # quitting, or dialing elsewhere, mid-handshake
            if self.presence.stopped:
                say_bye(conn)
            else:
                conn.abort()
            raise

    # -- the live session --------------------------------------------------------
    def _activate(self, conn: Connection, hello: Hello, peer_id: str, session_id: str) -> None:
        if self.presence.stopped:
            say_bye(conn)  # the handshake finished as we quit: the peer learns why
            return
        old = self._conn
        if old is not None and old is not conn:
            if old.relay and not conn.relay and peer_id == self.presence.peer_id:
                self._retire(old)  # moving to a direct path: what the relay still carries arrives
            else:
                for task in self._conn_tasks:
                    task.cancel()
                old.abort()
            self.transfers_engine.on_disconnected()  # what ran on the old connection resumes below
        self._conn = conn
        conn.file_hash = agreed_hash(hello.caps)
        self._rtt_ms = None  # measured again on this connection
        now = asyncio.get_running_loop().time()
        peer = self.trust.peer_info(conn, hello, peer_id)
        events = self.presence.activated(peer, peer_id, session_id, now)
        self.trust.remember(peer, peer_id, self._relays_learnt(peer_id))
        heartbeat = Heartbeat(self.settings.heartbeat_interval, self.settings.heartbeat_timeout)
        heartbeat.frame_received(now)
        heartbeat.frame_sent(now)
        live = LiveConnection(
            conn, heartbeat, chat=self.chat, transfers=self.transfers_engine, report=self,
            on_rtt=self._rtt_measured, on_nick=self._peer_renamed, on_lost=self._lost,
            on_upgrade=self.direct.receive,
        )
        self._live = live
        self._conn_tasks = [
            self._spawn(live.read_loop(), "reader"),
            self._spawn(live.heartbeat_loop(self.settings.heartbeat_timeout), "heartbeat"),
        ]
        emit_all(self.emit, events)
        self.chat.connected(conn, peer_id, show_history=True)
        self.transfers_engine.on_connected(conn, peer_id)
        self.direct.session_up(conn, hello, peer_id)
        target = self.caller.target
        if target is not None and target.direct and (conn.dialed or target.fingerprint == peer_id):
            # We reached the peer we called: a restart after a crash calls it again.
            self._remember_unfinished(self.unfinished.called(
                peer_id if self.trust.tls else None, [str(address) for address in target.direct]))
        if events:
            self._offer_left_sends(peer_id, peer.nickname)

    def _relays_learnt(self, peer_id: str) -> tuple[RelayAddress, ...]:
        """Where an invite or a code said this peer waits: kept with it to find it again."""
        target = self.caller.target
        learnt = target.relays_of(peer_id) if target is not None else ()
        return learnt or self._introduced.pop(peer_id, ())

    def _retire(self, old: Connection) -> None:
        """The relayed connection a session moved away from: its reader goes on for a while, for
        chat already on the way (files resume on the new connection), then it is closed."""
        _reader, *others = self._conn_tasks
        for task in others:
            task.cancel()
        if self._live is not None:
            self._live.retire()
        asyncio.get_running_loop().call_later(RELAY_GRACE, old.close)

    def _rtt_measured(self, rtt: float) -> None:
        self._rtt_ms = rtt * 1000
        self.emit(RttMeasured(self._rtt_ms))

    def _peer_renamed(self, nickname: str) -> None:
        events = self.presence.renamed(nickname)
        if events:  # else nothing changed: no event, no write to the known-peers file
            self.trust.remember(self.presence.peer, self.presence.peer_id)
        emit_all(self.emit, events)

    def _lost(self, conn: Connection, reason: str, by_peer: bool) -> None:
        if conn is not self._conn:
            return
        conn.abort()
        for task in self._conn_tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._conn_tasks = []
        self._conn = None
        self._rtt_ms = None  # that link's round trip says nothing about the next
        self.trust.seen(self.presence.peer_id)
        self.direct.stop()
        events = self.presence.lost(reason, by_peer=by_peer, redial=self.caller.target is not None)
        if by_peer and reason == "quit":
            self._remember_unfinished(self.unfinished.call_ended())
        self.transfers_engine.on_disconnected()
        emit_all(self.emit, events)
        if events and self.presence.state is SessionState.RECONNECTING:
            target, peer = self.caller.target, self.presence.last_peer_id
            if target is not None and self.trust.tls and peer is not None:
                target = target.pinned_to(peer)  # the peer it reached: its relays count now
            self.caller.call(target, first_delay=0.2, why="reconnect")

    def create_invite(self) -> tuple[str, str]:
        """A new one-time invite line for a peer, and a line saying what it allows."""
        return self._invite_line(INVITE_LIFETIME)

    def _invite_line(self, lifetime: int) -> tuple[str, str]:
        if not self.trust.tls or self._listener is None:
            raise ValueError("invites need TLS and a running listener")
        return self.routes.invite(self._listener.port, lifetime)

    async def invite(self) -> CodeInvite:
        """A code for a peer to type (if a rendezvous server answers) and the invite line."""
        return await self.codes.offer()

    # -- chat API ------------------------------------------------------------------
    def send_text(self, body: str, *, action: bool = False) -> str:
        if self.chat is None:
            raise ValueError("not started yet")
        return self.chat.send_text(body, action)

    def earlier_messages(self, message_id: str, outgoing: bool, including: bool, limit: int) -> list[ChatMessage]:
        return self.chat.earlier(message_id, outgoing, including, limit) if self.chat else []

    def change_nick(self, nickname: str) -> None:
        nickname = validate_nickname(nickname)
        old, self._nickname = self._nickname, nickname
        if self._conn is not None:
            with contextlib.suppress(ConnectionClosed):
                self._conn.send(Nick(nickname))
        self.emit(NickChanged(old, nickname, by_peer=False))
        self.routes.renamed()

    def ping(self) -> None:
        if self._conn is None:
            self.notice("not connected", "warning")
            return
        self._conn.send(Ping(asyncio.get_running_loop().time()))

    def verify_peer(self) -> None:
        if self._conn is None or not self.trust.verify(self.presence.peer_id):
            self.notice("nothing to verify: no encrypted peer connected", "warning")
            return
        self.presence.verified()
        self.notice(f"{self.presence.peer.nickname} is now marked verified")

    def distrust_peer(self) -> None:
        conn, peer_id = self._conn, self.presence.peer_id
        if conn is None or peer_id is None:
            self.notice("not connected", "warning")
            return
        self.caller.stop()
        self.caller.target = None  # not called again: the peer dialing us meets the question
        self.trust.forget(peer_id)
        with contextlib.suppress(ConnectionClosed, OSError, RuntimeError):
            conn.send(Bye(IDENTITY_REFUSED))  # which stops a peer that dialed from dialing again
        self._lost(conn, f"disconnected from {self.presence.peer.nickname}; its key is forgotten", by_peer=False)

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

    # -- the PeerLink its parts see ------------------------------------------------------
    @property
    def peer_id(self) -> str | None:
        return self.presence.peer_id

    @property
    def last_peer_id(self) -> str | None:
        return self.presence.last_peer_id

    @property
    def connection(self) -> Connection | None:
        return self._conn
