"""The session's lifecycle, without I/O: where it stands and what each change tells the front end.

`Presence` is the one record of the state, the peer, the session and the handshakes under
way. Its `standing` is the very `Standing` the handshake decides by (and adds its claims to),
not a copy. Each transition updates the record and returns the events to emit; the service
carries out the I/O around it. Time comes in as `now`.
"""

from __future__ import annotations

from dataclasses import replace

from p2pchat.session.events import (
    Connected,
    Dialing,
    Disconnected,
    Event,
    Listening,
    NickChanged,
    PeerInfo,
    Reconnecting,
    Stopped,
)
from p2pchat.session.handshake.machine import IDENTITY_REFUSED, Standing
from p2pchat.session.states import SessionState


class Presence:
    def __init__(self, own_id: str = "") -> None:
        self.state = SessionState.IDLE
        self.standing = Standing(own_id)
        self._peer: PeerInfo | None = None  # kept after a drop: the nickname says who left
        self.stopped = False

    # -- what the session and the handshake read ----------------------------------------
    @property
    def own_id(self) -> str:
        return self.standing.own_id

    @own_id.setter
    def own_id(self, value: str) -> None:  # known once the identity is loaded
        self.standing.own_id = value

    @property
    def connected(self) -> bool:
        return self.standing.live_peer is not None

    @property
    def peer(self) -> PeerInfo | None:
        """The peer of the live session (None between sessions)."""
        return self._peer if self.connected else None

    @property
    def peer_id(self) -> str | None:
        return self.standing.live_peer

    @property
    def last_peer_id(self) -> str | None:
        return self.standing.last_peer

    @property
    def session_id(self) -> str | None:
        return self.standing.session_id

    @property
    def activated_at(self) -> float:
        return self.standing.live_since

    @property
    def claims(self) -> set[str]:
        """Peers with a connection in its handshake (the handshake adds and removes them)."""
        return self.standing.claims

    @property
    def handshaking(self) -> bool:
        return bool(self.standing.claims)

    # -- transitions ------------------------------------------------------------------------
    def listening(self, host: str, port: int, note: str = "") -> list[Event]:
        self.state = SessionState.LISTENING
        return [Listening(host, port, note)]

    def _calling_state(self) -> SessionState:
        return SessionState.DIALING if self.last_peer_id is None else SessionState.RECONNECTING

    def dialing(self, target: str, attempt: int) -> list[Event]:
        """An attempt to reach `target` starts."""
        self.state = self._calling_state()
        return [Dialing(target, attempt)]

    def retrying(self, target: str, attempt: int, delay: float, reason: str) -> list[Event]:
        """The attempt failed; the next one starts in `delay` seconds."""
        self.state = self._calling_state()
        events: list[Event] = [Dialing(target, attempt, retry_in=delay, reason=reason)]
        if self.last_peer_id is not None:
            events.append(Reconnecting(delay, attempt))
        return events

    def refused(self) -> list[Event]:
        """Dialing stopped for good (the peer refused, or it was ourselves): back to waiting."""
        self.state = SessionState.LISTENING
        return []

    def activated(self, peer: PeerInfo, peer_id: str, session_id: str, now: float) -> list[Event]:
        """A handshake made `peer` the live session (a replacement connection says nothing)."""
        replacing = self.connected
        resumed = peer_id == self.last_peer_id
        before = self._peer  # the last peer's info, kept after it left
        self.standing.live_peer = peer_id
        self.standing.last_peer = peer_id
        self.standing.session_id = session_id
        self.standing.live_since = now
        self._peer = peer
        self.state = SessionState.CONNECTED
        if replacing:
            return []
        events: list[Event] = [Connected(peer, resumed=resumed)]
        if resumed and before is not None and before.nickname != peer.nickname:
            events.append(NickChanged(before.nickname, peer.nickname, by_peer=True))  # renamed while away
        return events

    def renamed(self, nickname: str) -> list[Event]:
        """The peer took another nickname."""
        old = self._peer
        if old is None or nickname == old.nickname:
            return []  # nothing changed: nothing to tell
        self._peer = replace(old, nickname=nickname)
        return [NickChanged(old.nickname, nickname, by_peer=True)]

    def verified(self) -> None:
        if self._peer is not None:
            self._peer = replace(self._peer, verified=True)

    def lost(self, reason: str, *, by_peer: bool, redial: bool) -> list[Event]:
        """The live connection ended; `redial`: a dial target is there to call again. After
        this, `state` is RECONNECTING when the caller should dial."""
        self.standing.live_peer = None
        if self.stopped:
            return []
        will_reconnect = redial and not (by_peer and reason in ("quit", IDENTITY_REFUSED))
        nick = self._peer.nickname if self._peer else "peer"
        self.state = SessionState.RECONNECTING if will_reconnect else SessionState.LISTENING
        text = f"{nick} left ({reason})" if by_peer else reason
        return [Disconnected(text, by_peer=by_peer, will_reconnect=will_reconnect)]

    def stop(self, reason: str) -> list[Event]:
        """Quitting: nothing starts from now on. The events go out once everything is closed."""
        self.stopped = True
        self.state = SessionState.STOPPED
        return [Stopped(reason)]
