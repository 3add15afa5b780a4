"""What the dialing side may see of the session: narrow ports, never the `Session`.

The session's presence satisfies `PresenceView`; the service provides the rest as callables.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from p2pchat.identity.known import KnownPeers
from p2pchat.net.connection import Connection
from p2pchat.reach.invites import Invites

# Carries a fresh connection through the handshake (it becomes the session, or raises).
Handshake = Callable[[Connection, "str | None"], Coroutine[Any, Any, None]]
# Runs a coroutine as a background task of the session, named for the log.
Spawn = Callable[[Coroutine[Any, Any, Any], str], asyncio.Task]
Notice = Callable[..., None]  # notice(text, level="info")


class PresenceView(Protocol):
    """Where the session stands, read-only."""

    @property
    def stopped(self) -> bool: ...

    @property
    def connected(self) -> bool: ...

    @property
    def handshaking(self) -> bool: ...  # a connection is in its handshake

    @property
    def last_peer_id(self) -> str | None: ...


class DialReport(Protocol):
    """What the caller tells the session about its attempts (it updates its state and tells
    the front end)."""

    def dialing(self, target: str, attempt: int) -> None: ...

    def retrying(self, target: str, attempt: int, delay: float, reason: str) -> None: ...

    def gave_up(self) -> None: ...

    def notice(self, text: str, level: str = "info") -> None: ...


class Credentials(Protocol):
    """Our identity as dialing and waiting need it: TLS contexts, the identity check, the
    known peers and the invites handed out."""

    tls: bool
    own_id: str
    known: KnownPeers | None
    invites: Invites

    def client_context(self) -> ssl.SSLContext | None: ...

    def server_context(self) -> ssl.SSLContext | None: ...

    def check_expected(self, conn: Connection, expected: str | None) -> None: ...  # PeerRefused
