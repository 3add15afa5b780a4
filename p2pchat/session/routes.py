"""The ways to a peer besides the address typed: transit relays (dialed and waited on), the
router's port mapping, and the local network's announcements.

`Routes` keeps them for the session: it starts and closes them, puts them in /info and in
invites, and says how to reach a dial target (`plan`). It works on the `Session` it is given,
as `RelayWaiter` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from loguru import logger

from p2pchat.net.connection import Connection
from p2pchat.net.interfaces import local_addresses
from p2pchat.protocol.invite import relay_token
from p2pchat.protocol.transit import (
    RelayAddress,
    derived_token,
    new_side,
    parse_relays,
    tls_client_over_relay,
)
from p2pchat.session.events import LanPeer, LanPeersChanged
from p2pchat.session.invites import make_invite
from p2pchat.session.lan import LanPeers
from p2pchat.session.port_mapping import PortMapper
from p2pchat.session.reach import ReachPlan, RelayToken
from p2pchat.session.relay_wait import RelayWaiter
from p2pchat.session.target import DialTarget

if TYPE_CHECKING:
    from p2pchat.session.core import Session


class Routes:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.side = new_side()  # ours on every relay: our own connections never pair up
        self.relays: list[RelayAddress] = []  # from the `relay` setting, checked in configure()
        self._relay_waiter: RelayWaiter | None = None
        self._port_mapper: PortMapper | None = None
        self.lan: LanPeers | None = None  # when discoverable: who announces p2pchat on the LAN
        self._lan_seen: set[str] = set()  # fingerprints on the LAN at the last change

    def configure(self) -> None:
        """Read the relay setting; ValueError says what is wrong with it."""
        self.relays = parse_relays(self.session.settings.relay)

    def start(self) -> None:
        """Once listening: map the port, announce on the LAN, wait on the relays."""
        session = self.session
        self._map_port()
        self._discover()
        if self.relays and not session.trust.tls:
            session.notice("relays are not used without TLS: the relay could read and change the chat", "warning")
        elif self.relays:
            self._relay_waiter = RelayWaiter(session, self.relays, self.side)
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
        elif not self.session.settings.discoverable:
            lines["local network"] = "not announced (discoverable = false)"
        return lines

    @property
    def lan_peers(self) -> list[LanPeer]:
        return self.lan.peers() if self.lan is not None else []

    def invite(self, port: int, **lifetime: int) -> tuple[str, str]:
        """A new one-time invite line, with the public address the router gave us if any."""
        session = self.session
        public = self._port_mapper.public_address if self._port_mapper is not None else None
        return make_invite(session.invites, session.own_fingerprint, port, self.relays, public,
                           bind=session.settings.bind, **lifetime)

    def renamed(self) -> None:
        """Our nickname changed: the LAN hears the new one."""
        if self.lan is not None:
            self.session._spawn(self.lan.renounce(), "lan-announce")

    # -- dialing -------------------------------------------------------------------------
    def plan(self, target: DialTarget) -> tuple[ReachPlan, Callable[[Connection], str | None]]:
        """How to reach the target, and the identity a connection it opens must show."""
        session, trust = self.session, self.session.trust
        own = session.own_fingerprint
        peer = target.fingerprint or session.last_peer_id
        tokens, relays = [], []
        if trust.tls and peer and peer != own:
            relays = list(dict.fromkeys([*target.relays, *self.relays]))
            tokens.append(RelayToken(derived_token(own, peer), tls_client_over_relay(own, peer, invited=None)))
            invite = target.invite
            if invite is not None and not invite.expired(session.clock()):
                tokens.append(RelayToken(relay_token(invite.secret), True))

        # Where the LAN says this peer is comes first (and is pinned to it, as a relay is).
        on_lan = self.lan.addresses_of(peer) if self.lan is not None and peer else []
        lan_hosts = {(a.host, a.port) for a in on_lan}
        direct = list({(a.host, a.port): a for a in [*on_lan, *target.direct]}.values())

        def pinned(conn: Connection) -> str | None:
            routed = conn.relay or (conn.peer_host, conn.peer_port) in lan_hosts
            return target.fingerprint or (peer if routed else None)

        def check(conn: Connection) -> None:
            trust.check_expected(conn, pinned(conn))

        plan = ReachPlan(
            direct, relays, tokens, trust.client_context(), trust.server_context(), self.side,
            session.settings.handshake_timeout, check,
        )
        return plan, pinned

    def relay_peer(self) -> str | None:
        """The peer whose derived token we wait for on the relays: the last one (or, after a
        start, the most recently seen known one) while no chat is up and we are not dialing."""
        session, trust = self.session, self.session.trust
        if session.connected or session.dial_target is not None or not trust.tls:
            return None
        if session.last_peer_id is not None:
            return session.last_peer_id
        known = trust.known.all() if trust.known is not None else []
        return known[0].fingerprint if known else None

    # -- background ------------------------------------------------------------------------
    @property
    def _loopback_only(self) -> bool:
        """Listening on loopback only: nothing to forward, nobody on the LAN to tell."""
        bind = self.session.settings.bind
        return bind.startswith("127.") or bind == "::1"

    def _map_port(self) -> None:
        """Ask the router to forward the port, in the background."""
        session = self.session
        if not session.settings.port_mapping or self._loopback_only:
            return

        def mapped(mapping) -> None:
            public = self._port_mapper.public_address
            if public is not None:
                session.notice(f"reachable from the internet at {public[0]}:{public[1]} "
                               f"(port forwarded by the router, {mapping.method})")

        self._port_mapper = PortMapper(session.listening_port, mapped)
        self._port_mapper.start()

    def _discover(self) -> None:
        """Announce ourselves on the LAN and watch who else does, in the background."""
        session = self.session
        bind = session.settings.bind
        if not session.settings.discoverable or not session.trust.tls or self._loopback_only:
            return

        def announcement() -> tuple[str, str, int, list[str]]:
            addresses = local_addresses() if bind in ("::", "0.0.0.0", "") else [bind]
            return session.nickname, session.own_fingerprint, session.listening_port, addresses

        def known(fingerprint: str) -> bool:
            return session.trust.known is not None and session.trust.known.get(fingerprint) is not None

        self.lan = LanPeers(session.own_fingerprint, known, self.lan_changed, announcement)
        self.lan.start()

    def lan_changed(self, peers: list[LanPeer]) -> None:
        session = self.session
        session.emit(LanPeersChanged(tuple(peers)))
        # The peer we would reconnect to (or are dialing, or wait for on the relays).
        target = session.dial_target
        wanted = (session.last_peer_id or (target.fingerprint if target else None)
                  or (self.relay_peer() if self._relay_waiter is not None else None))
        seen, appeared = {p.fingerprint for p in peers}, None
        if wanted in seen - self._lan_seen:
            appeared = next(p for p in peers if p.fingerprint == wanted)
        self._lan_seen = seen
        if appeared is not None:
            # The last peer is on this network: dial it there now rather than wait for the relay.
            logger.info("{} appeared on the local network at {}:{}", appeared.nickname, appeared.host, appeared.port)
            session.caller.call_found(appeared.address)
