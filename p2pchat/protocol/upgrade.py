"""Moving a relayed session onto a direct connection (the idea of libp2p's DCUtR), without I/O.

Over the relayed session the initiator (the side whose fingerprint sorts lower) sends
CANDIDATES; the other answers with its own at once, which gives the initiator the round trip
over the relay. Both then compute the same `plan()`:

- `Punch`: both routers keep port numbers. The initiator sends SYNC and dials half a round trip
  later, the other dials when SYNC arrives: both SYNs leave at about the same moment from each
  side's listening port, each router sees its own side open the flow, and TCP's simultaneous
  open joins them.
- `Reverse`: one side is reachable (its router forwards the port, or it has no NAT): the
  other side simply dials it.
- `NotPossible`: why not, as the user will read it.

An attempt that fails (a dial that times out, a lost frame) is retried up to `ATTEMPTS` times
in all. Nothing here reads a clock or touches a socket: every call takes `now` and returns the
decisions for the caller to carry out, and `deadline` says when to call `timer()`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from p2pchat.protocol.frames import MAX_CANDIDATES, Candidates, Sync
from p2pchat.protocol.stun import Mapping

ATTEMPTS = 3
ANSWER_TIMEOUT = 10.0  # seconds for the peer's CANDIDATES, SYNC, or its dial to arrive
RETRY_AFTER = 1.0  # seconds between a failed attempt and the next
MAX_TARGETS = 2  # addresses of the peer dialed in one attempt
REACHABLE = frozenset({"mapped"})  # kinds of candidate a peer can be dialed at without a punch


# -- decisions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    frame: Candidates | Sync


@dataclass(frozen=True)
class Dial:
    """Dial `targets` (host, port) at monotonic time `at`, from the listening port when
    `simultaneous` (both sides dial at once); report `connected()` or `dial_failed()`."""

    targets: tuple[tuple[str, int], ...]
    at: float
    simultaneous: bool


@dataclass(frozen=True)
class GiveUp:
    """No direct path: `reason` completes "direct: not possible, ..."."""

    reason: str


Decision = Send | Dial | GiveUp


# -- plans -------------------------------------------------------------------------
@dataclass(frozen=True)
class Punch:
    targets: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Reverse:
    we_dial: bool
    targets: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class NotPossible:
    reason: str


def dialable(host: str) -> bool:
    """An address a peer may make us dial: none of this machine's own, no broadcast."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not (
        address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local
        or address.is_reserved or str(address) == "255.255.255.255"
    )


def _public(candidates: Candidates) -> str | None:
    return next((c.host for c in candidates.addresses if c.kind == "public"), None)


def _targets(candidates: Candidates, kinds: set[str]) -> tuple[tuple[str, int], ...]:
    found = [(c.host, c.port) for c in candidates.addresses[:MAX_CANDIDATES] if c.kind in kinds and dialable(c.host)]
    return tuple(dict.fromkeys(found))[:MAX_TARGETS]


def redial_targets(peer: Candidates) -> tuple[tuple[str, int], ...]:
    """Where to try the peer directly when reconnecting, before the relays: its forwarded port
    and its public address (a router may still hold the punched flow)."""
    return _targets(peer, {"mapped", "public"})


def plan(own: Candidates, peer: Candidates, *, initiator: bool) -> Punch | Reverse | NotPossible:
    """What both sides do, each computing it from its own point of view (the same outcome)."""
    own_reachable = any(c.kind in REACHABLE for c in own.addresses)
    peer_targets = _targets(peer, set(REACHABLE))
    if peer_targets and (initiator or not own_reachable):
        return Reverse(True, peer_targets)
    if own_reachable:
        return Reverse(False, ())
    for nat, whose in ((own.nat, "your"), (peer.nat, "the other side's")):
        if nat == Mapping.SYMMETRIC:
            return NotPossible(f"{whose} router changes ports (symmetric NAT)")
        if nat == Mapping.CONSISTENT:
            return NotPossible(f"{whose} router does not keep port numbers")
    own_public, peer_public = _public(own), _public(peer)
    if own_public is None:
        return NotPossible("your public address is unknown (STUN is off or did not answer)")
    if peer_public is None:
        return NotPossible("the other side's public address is unknown (its STUN is off or did not answer)")
    same_router = own_public == peer_public  # behind one router: its LAN addresses are the way
    targets = _targets(peer, {"local"} if same_router else {"public"})
    if not targets:
        return NotPossible("the other side named no address to dial")
    return Punch(targets) if not same_router else Reverse(initiator, targets if initiator else ())


# -- the exchange --------------------------------------------------------------------
class Upgrade:
    """One relayed session's attempts at a direct connection, for either role.

    States: idle -> exchanging (initiator: CANDIDATES sent) / syncing (responder: waiting for
    SYNC) -> dialing -> direct; awaiting (the peer dials us); between (an attempt failed);
    failed (`reason` says why).
    """

    def __init__(self, own: Candidates, *, initiator: bool) -> None:
        self.own = own
        self.initiator = initiator
        self.state = "idle"
        self.attempt = 0
        self.deadline: float | None = None
        self.reason: str | None = None
        self.rtt: float | None = None  # over the relay, as the initiator measured it
        self._sent_at = 0.0
        self._plan: Punch | Reverse | NotPossible | None = None
        self._answered = False  # the peer answered at least once

    @property
    def finished(self) -> bool:
        return self.state in ("direct", "failed")

    def start(self, now: float) -> list[Decision]:
        """The relayed session is up: the initiator opens the first attempt."""
        if not self.initiator or self.state != "idle":
            return []
        return self._open_attempt(now)

    def receive(self, frame: Candidates | Sync, now: float, arrived: float | None = None) -> list[Decision]:
        """The peer's next frame; `arrived`: when it came in, if it waited to be handled (an
        answer says how long it was held, so the initiator's round trip leaves that out)."""
        if self.finished:
            return []
        if isinstance(frame, Candidates):
            return self._on_candidates(frame, now, now if arrived is None else arrived)
        if isinstance(frame, Sync) and not self.initiator and self.state == "syncing" and frame.attempt == self.attempt:
            return self._dial(now, simultaneous=True)
        return []  # late or out of turn: a lost attempt's frame

    def timer(self, now: float) -> list[Decision]:
        if self.deadline is None or now < self.deadline or self.finished:
            return []
        if self.state == "between":
            if self.initiator:
                return self._open_attempt(now)
            return self._fail("the other side stopped trying")
        return self._attempt_failed(now)  # exchanging, syncing, awaiting: nothing came in time

    def dial_failed(self, now: float) -> list[Decision]:
        if self.state != "dialing":
            return []
        return self._attempt_failed(now)

    def connected(self) -> list[Decision]:
        """The direct connection carries the session now."""
        self.state, self.deadline = "direct", None
        return []

    # -- steps ---------------------------------------------------------------------------
    def _own_frame(self, held: float = 0.0) -> Candidates:
        return Candidates(self.attempt, self.own.nat, self.own.addresses, round(max(0.0, held), 6))

    def _open_attempt(self, now: float) -> list[Decision]:
        self.attempt += 1
        self.state, self._sent_at, self.deadline = "exchanging", now, now + ANSWER_TIMEOUT
        return [Send(self._own_frame())]

    def _on_candidates(self, peer: Candidates, now: float, arrived: float) -> list[Decision]:
        if self.initiator:
            if self.state != "exchanging" or peer.attempt != self.attempt:
                return []
            rtt = self.rtt = max(0.0, arrived - self._sent_at - peer.held)
            decisions: list[Decision] = []
        else:
            if peer.attempt <= self.attempt:
                return []
            self.attempt = peer.attempt
            decisions = [Send(self._own_frame(held=now - arrived))]
        self._answered = True
        self._plan = chosen = plan(self.own, peer, initiator=self.initiator)
        if isinstance(chosen, NotPossible):
            return decisions + self._fail(chosen.reason)
        if isinstance(chosen, Reverse):
            if chosen.we_dial:
                return decisions + self._dial(now, simultaneous=False)
            self.state, self.deadline = "awaiting", now + ANSWER_TIMEOUT
            return decisions
        if self.initiator:  # Punch: dial when the SYNC has travelled half-way
            return [Send(Sync(self.attempt)), *self._dial(now + rtt / 2, simultaneous=True)]
        self.state, self.deadline = "syncing", now + ANSWER_TIMEOUT
        return decisions

    def _dial(self, at: float, *, simultaneous: bool) -> list[Decision]:
        assert isinstance(self._plan, (Punch, Reverse))  # only a plan that dials gets here
        self.state, self.deadline = "dialing", None
        return [Dial(self._plan.targets, at, simultaneous)]

    def _attempt_failed(self, now: float) -> list[Decision]:
        if self.attempt >= ATTEMPTS:
            if not self._answered:
                return self._fail("the other side did not answer")
            return self._fail(f"{ATTEMPTS} attempts to connect directly failed")
        wait = RETRY_AFTER if self.initiator else ANSWER_TIMEOUT + 2 * RETRY_AFTER
        self.state, self.deadline = "between", now + wait
        return []

    def _fail(self, reason: str) -> list[Decision]:
        self.state, self.deadline, self.reason = "failed", None, reason
        return [GiveUp(reason)]
