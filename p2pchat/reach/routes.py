"""The ways to a peer besides the address typed: transit relays (dialed and waited on), the
router's port mapping, and the local network's announcements.

`Routes` keeps them for the session: it starts and closes them, puts them in /info and in
invites, and says how to reach a dial target (`plan`, from the pure `reach.plan`). It sees the
session through narrow ports only, as `Caller` and `RelayWaiter` do.
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from p2pchat.net.address import PeerAddress
from p2pchat.net.connection import Connection
from p2pchat.net.interfaces import local_addresses
from p2pchat.protocol.invite import INVITE_LIFETIME
from p2pchat.protocol.transit import RelayAddress, new_side, parse_relays
from p2pchat.reach.invites import make_invite
from p2pchat.reach.lan import LanPeers
from p2pchat.reach.lan_peer import LanPeer
from p2pchat.reach.plan import plan
from p2pchat.reach.port_mapping import PortMapper
from p2pchat.reach.ports import Credentials, Handshake, Notice, PresenceView, Spawn
from p2pchat.reach.race import ReachPlan
from p2pchat.reach.relay_wait import RelayWaiter
from p2pchat.reach.target import DialTarget
from p2pchat.settings import Settings


class Routes:
    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        presence: PresenceView,
        *,
        notice: Notice,
        spawn: Spawn,
        handshake: Handshake,
        nickname: Callable[[], str],
        listening_port: Callable[[], int | None],
        dial_target: Callable[[], DialTarget | None],
        found: Callable[[str], None],
        lan_peers_changed: Callable[[list[LanPeer]], None],
        clock: Callable[[], float],
        learned: Callable[[str], list[PeerAddress]] = lambda peer: [],
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.presence = presence
        self._notice = notice
        self._spawn = spawn
        self._handshake = handshake  # for a peer arriving through a relay we wait on
        self._nickname = nickname
        self._listening_port = listening_port
        self._dial_target = dial_target  # what the caller dials, if anything
        self._found = found  # the peer we want is on the LAN at this address: call it there
        self._lan_peers_changed = lan_peers_changed
        self._clock = clock
        self._learned = learned  # a peer's own direct addresses, told over an earlier session
        self.side = new_side()  # ours on every relay: our own connections never pair up
        self.relays: list[RelayAddress] = []  # from the `relay` setting, checked in configure()
        self._relay_waiter: RelayWaiter | None = None
        self._port_mapper: PortMapper | None = None
        self.lan: LanPeers | None = None  # when discoverable: who announces p2pchat on the LAN
        self._lan_seen: set[str] = set()  # fingerprints on the LAN at the last change

    def configure(self) -> None:
        """Read the relay setting; ValueError says what is wrong with it."""
        self.relays = parse_relays(self.settings.relay)

    def start(self) -> None:
        """Once listening: map the port, announce on the LAN, wait on the relays."""
        self._map_port()
        self._discover()
        if self.relays and not self.credentials.tls:
            self._notice("relays are not used without TLS: the relay could read and change the chat", "warning")
        elif self.credentials.tls:  # with no relay set, it waits on those kept with a known peer
            self._relay_waiter = RelayWaiter(
                self.credentials, self.relays, self.side, peer=self.relay_peer,
                chatting=lambda: self.presence.connected, kept=self.kept_relays,
                handshake=self._handshake, spawn=self._spawn, notice=self._notice,
                timeout=self.settings.handshake_timeout,
            )
            self._relay_waiter.start()

    async def close(self) -> None:
        if self._relay_waiter is not None:
            await self._relay_waiter.close()
        if self._port_mapper is not None:
            await self._port_mapper.close()
        if self.lan is not None:
            await self.lan.close()

    def info(self) -> dict[str, str]:
        """The /info lines about relays, the port mapping and the LAN."""
        lines = {}
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

    def invite(self, port: int, lifetime: int = INVITE_LIFETIME) -> tuple[str, str]:
        """A new one-time invite line, with the public address the router gave us if any."""
        public = self.public_mapping
        return make_invite(self.credentials.invites, self.credentials.own_id, port, self.relays, public,
                           bind=self.settings.bind, lifetime=lifetime)

    @property
    def public_mapping(self) -> tuple[str, int] | None:
        """The public address and port the router forwards to our listener, if it does."""
        return self._port_mapper.public_address if self._port_mapper is not None else None

    def renamed(self) -> None:
        """Our nickname changed: the LAN hears the new one."""
        if self.lan is not None:
            self._spawn(self.lan.reannounce(), "lan-announce")

    # -- dialing -------------------------------------------------------------------------
    def plan(self, target: DialTarget) -> tuple[ReachPlan, Callable[[Connection], str | None]]:
        """How to reach the target, and the identity a connection it opens must show."""
        credentials = self.credentials
        routes = plan(
            target, own_id=credentials.own_id, tls=credentials.tls, last_peer=self.presence.last_peer_id,
            pair_secret=credentials.pair_secret,
            lan=lambda peer: [*(self.lan.addresses_of(peer) if self.lan is not None else []), *self._learned(peer)],
            relays=self.relays, kept_relays=self.kept_relays, now=self._clock(),
        )

        def pinned(conn: Connection) -> str | None:
            return routes.expected(relayed=bool(conn.relay), host=conn.peer_host, port=conn.peer_port)

        def check(conn: Connection) -> None:
            final = routes.refusal_is_final(relayed=bool(conn.relay), host=conn.peer_host, port=conn.peer_port)
            credentials.check_expected(conn, pinned(conn), final=final)

        reach_plan = ReachPlan(
            routes.direct, routes.relays, routes.tokens, credentials.client_context(),
            credentials.server_context(), self.side, self.settings.handshake_timeout, check,
        )
        return reach_plan, pinned

    def kept_relays(self, peer: str) -> tuple[RelayAddress, ...]:
        """The relays kept with a known peer: where the invite that introduced it said it waits."""
        known = self.credentials.known
        record = known.get(peer) if known is not None else None
        return record.relays if record is not None else ()

    def relay_peer(self) -> str | None:
        """The peer whose derived token we wait for on the relays: the last one (or, after a
        start, the most recently seen known one) while no chat is up and we are not dialing."""
        presence, credentials = self.presence, self.credentials
        if presence.connected or self._dial_target() is not None or not credentials.tls:
            return None
        if presence.last_peer_id is not None:
            return presence.last_peer_id
        known = credentials.known.all() if credentials.known is not None else []
        return known[0].fingerprint if known else None

    # -- background ------------------------------------------------------------------------
    @property
    def _loopback_only(self) -> bool:
        """Listening on loopback only: nothing to forward, nobody on the LAN to tell."""
        bind = self.settings.bind
        return bind.startswith("127.") or bind == "::1"

    def _map_port(self) -> None:
        """Ask the router to forward the port, in the background."""
        if not self.settings.port_mapping or self._loopback_only:
            return

        def mapped(mapping) -> None:
            public = self._port_mapper.public_address
            if public is not None:
                self._notice(f"reachable from the internet at {public[0]}:{public[1]} "
                               f"(port forwarded by the router, {mapping.method})")

        self._port_mapper = PortMapper(self._listening_port(), mapped)
        self._port_mapper.start()

    def _discover(self) -> None:
        """Announce ourselves on the LAN and watch who else does, in the background."""
        bind, credentials = self.settings.bind, self.credentials
        if not self.settings.discoverable or not credentials.tls or self._loopback_only:
            return

        def announcement() -> tuple[str, str, int, list[str]]:
            addresses = local_addresses() if bind in ("::", "0.0.0.0", "") else [bind]
            return self._nickname(), credentials.own_id, self._listening_port(), addresses

        def known(fingerprint: str) -> bool:
            return credentials.known is not None and credentials.known.get(fingerprint) is not None

        self.lan = LanPeers(credentials.own_id, known, self.lan_changed, announcement)
        self.lan.start()

    def lan_changed(self, peers: list[LanPeer]) -> None:
        self._lan_peers_changed(peers)
        # The peer we would reconnect to (or are dialing, or wait for on the relays).
        target = self._dial_target()
        wanted = (self.presence.last_peer_id or (target.fingerprint if target else None)
                  or (self.relay_peer() if self._relay_waiter is not None else None))
        seen, appeared = {p.fingerprint for p in peers}, None
        if wanted in seen - self._lan_seen:
            appeared = next(p for p in peers if p.fingerprint == wanted)
        self._lan_seen = seen
        if appeared is not None:
            # The last peer is on this network: dial it there now rather than wait for the relay.
            logger.info("{} appeared on the local network at {}:{}", appeared.nickname, appeared.host, appeared.port)
            self._found(appeared.address)
