"""What to try to reach a peer, and in what order, decided without I/O.

From the dial target, our identity, the last peer, where the LAN says that peer is, the
relays and `now`: the direct addresses (the LAN's first), the relays with every token that
may find the peer there, and the identity each connection must show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from p2pchat.protocol.invite import Invite, relay_token
from p2pchat.protocol.transit import RelayAddress, derived_token, pair_token, tls_client_over_relay


class Address(Protocol):  # a net.address.PeerAddress, without importing the socket layer
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class Target(Protocol):  # a reach.target.DialTarget
    @property
    def fingerprint(self) -> str | None: ...

    @property
    def direct(self) -> Sequence[Address]: ...

    @property
    def relays(self) -> Sequence[RelayAddress]: ...

    @property
    def invite(self) -> Invite | None: ...

    @property
    def named(self) -> bool: ...


@dataclass(frozen=True)
class RelayToken:
    token: str
    tls_client: bool  # our TLS role on a connection glued with this token


def known_peer_token(own_id: str, peer: str, secret: bytes | None) -> RelayToken:
    """The token two known peers meet under: from their pair secret, or (while one of them has
    not yet seen the other's key) derived from the two fingerprints alone."""
    token = pair_token(secret, own_id, peer) if secret else derived_token(own_id, peer)
    return RelayToken(token, tls_client_over_relay(own_id, peer, invited=None))


@dataclass(frozen=True)
class DialPlan:
    """What to try: `direct` at once, then the `relays` (each with every token)."""

    direct: list[Address]
    relays: list[RelayAddress]
    tokens: list[RelayToken]  # empty: the relays cannot be used for this peer
    pinned_id: str | None  # the identity the user named, if any
    peer: str | None  # whom we expect: the one named, or the last peer
    lan_hosts: frozenset[tuple[str, int]]  # direct addresses the LAN gave (pinned to `peer`)
    typed_hosts: frozenset[tuple[str, int]] = frozenset()  # addresses typed with the fingerprint

    def refusal_is_final(self, *, relayed: bool, host: str, port: int) -> bool:
        """A wrong key ends the dialing only at an address the user typed with its fingerprint;
        anywhere else (a relay, the LAN, an invite's addresses) it is one failed path."""
        return not relayed and (host, port) in self.typed_hosts

    def expected(self, *, relayed: bool, host: str, port: int) -> str | None:
        """The identity a connection must show: the one named, or (on a relay or a LAN
        address, where anyone may answer) the peer we look for."""
        routed = relayed or (host, port) in self.lan_hosts
        return self.pinned_id or (self.peer if routed else None)


def plan(
    target: Target,
    *,
    own_id: str,
    tls: bool,
    last_peer: str | None,
    lan: Callable[[str], Sequence[Address]],
    relays: Sequence[RelayAddress],
    now: float,
    pair_secret: Callable[[str], bytes | None] = lambda peer: None,
    kept_relays: Callable[[str], Sequence[RelayAddress]] = lambda peer: (),
) -> DialPlan:
    """`lan(fingerprint)`: where the local network (or the peer itself, over an earlier
    session) says that identity listens; `pair_secret(fingerprint)`: the secret we share with
    that known peer, if any; `kept_relays(fingerprint)`: the relays kept with it (from the
    invite that introduced it)."""
    peer = target.fingerprint or last_peer
    tokens: list[RelayToken] = []
    via: list[RelayAddress] = []
    # Relays only for a target that names whom it wants: a bare HOST:PORT is that host, and
    # asking the relays for the last peer could connect someone other than the host typed.
    named = target.fingerprint
    if tls and named and named != own_id:
        via = list(dict.fromkeys([*target.relays, *relays, *kept_relays(named)]))
        tokens.append(known_peer_token(own_id, named, pair_secret(named)))
        invite = target.invite
        if invite is not None and not invite.expired(now):
            tokens.append(RelayToken(relay_token(invite.secret), True))
    # Where the LAN (or the peer) says this peer is comes first (pinned to it, as a relay is).
    on_lan = list(lan(peer)) if peer else []
    direct = list({(a.host, a.port): a for a in [*on_lan, *target.direct]}.values())
    typed = frozenset((a.host, a.port) for a in target.direct) if target.named else frozenset()
    lan_hosts = frozenset((a.host, a.port) for a in on_lan)
    return DialPlan(direct, via, tokens, target.fingerprint, peer, lan_hosts, typed - lan_hosts)
