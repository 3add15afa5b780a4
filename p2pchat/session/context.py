"""What the session's parts (chat, transfers, trust) may see of it.

The parts get these two narrow views instead of the `Session`: a way to report to
the front end, and the connection of the moment with whom it is. `Session`
provides both; tests give the parts small stand-ins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from p2pchat.net.connection import Connection, ConnectionClosed

if TYPE_CHECKING:
    from p2pchat.session.events import Event, PeerInfo


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...

    def notice(self, text: str, level: str = "info") -> None: ...


class PeerLink(Protocol):
    """Who talks to whom: the live connection (None between connections), the peer it is
    with, the peer before, and our own nickname."""

    @property
    def connection(self) -> Connection | None: ...

    @property
    def peer(self) -> PeerInfo | None: ...

    @property
    def peer_id(self) -> str | None: ...

    @property
    def last_peer_id(self) -> str | None: ...

    @property
    def nickname(self) -> str: ...

    @property
    def own_fingerprint(self) -> str: ...


def addressee(link: PeerLink) -> str | None:
    """Whom something is for: the peer of the moment, or the last one while disconnected
    (None before anyone connected)."""
    return link.peer_id or link.last_peer_id


def send(link: PeerLink, frame) -> bool:
    """Send on the live connection; False if there is none or it just closed."""
    conn = link.connection
    if conn is None:
        return False
    try:
        conn.send(frame)
        return True
    except ConnectionClosed:
        return False
