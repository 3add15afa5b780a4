"""Typed events the session reports to a front end.

A front end registers one callback (`Session(on_event=...)`); every event is a
frozen dataclass below. Callbacks run on the session's event loop and must not block.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from p2pchat.reach.lan_peer import LanPeer
from p2pchat.session.states import NoticeLevel, PromptKind, SessionState, TransferState

__all__ = ["LanPeer", "NoticeLevel", "PromptKind", "SessionState", "TransferState"]  # with the events below


@dataclass(frozen=True)
class PeerInfo:
    nickname: str
    address: str  # "host:port" as seen on the socket
    fingerprint: str  # full identity fingerprint ("" without TLS: an instance id is used)
    short_fingerprint: str
    encrypted: bool
    verified: bool = False
    known: bool = False  # seen before (TOFU record exists)
    route: str = "direct"  # or "via relay HOST:PORT"


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class LanPeersChanged(Event):
    peers: tuple[LanPeer, ...]  # known peers first, then by nickname


@dataclass(frozen=True)
class Listening(Event):
    host: str
    port: int
    note: str = ""  # e.g. "port 8080 was taken, listening on 43127 instead"


@dataclass(frozen=True)
class Dialing(Event):
    address: str
    attempt: int
    retry_in: float | None = None  # seconds until the next attempt, None while trying
    reason: str = ""  # why the last attempt failed


@dataclass(frozen=True)
class Connected(Event):
    peer: PeerInfo
    resumed: bool = False  # a reconnect of an earlier session with the same identity


@dataclass(frozen=True)
class Disconnected(Event):
    reason: str  # human readable: "bob left (quit)", "connection lost: no heartbeat for 15 s"
    by_peer: bool = False  # the peer said bye
    will_reconnect: bool = False


@dataclass(frozen=True)
class Reconnecting(Event):
    retry_in: float
    attempt: int


@dataclass(frozen=True)
class ChatMessage:
    id: str
    sender: str  # nickname at the time
    body: str
    timestamp: float
    outgoing: bool
    action: bool = False  # /me
    state: str = "sent"  # pending | sent | delivered | failed (outgoing only)


@dataclass(frozen=True)
class MessageReceived(Event):
    message: ChatMessage


@dataclass(frozen=True)
class MessageSent(Event):
    message: ChatMessage  # state "sent", or "pending" while disconnected


@dataclass(frozen=True)
class MessageDelivered(Event):
    id: str


@dataclass(frozen=True)
class HistoryLoaded(Event):
    messages: tuple[ChatMessage, ...]


@dataclass(frozen=True)
class NickChanged(Event):
    old: str
    new: str
    by_peer: bool


@dataclass(frozen=True)
class RttMeasured(Event):
    rtt_ms: float


@dataclass(frozen=True)
class IdentityPrompt(Event):
    """The user must decide about a peer's identity; answer with Session.answer_identity()."""

    peer: PeerInfo
    kind: PromptKind
    expected_fingerprint: str = ""  # for "changed": the fingerprint on record

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PromptKind(self.kind))


@dataclass(frozen=True)
class IdentityPromptExpired(Event):
    """Close the IdentityPrompt: nobody answered it in time and the peer was refused, or
    (`withdrawn`) the peer hung up first, e.g. it refused us; a notice says that."""

    peer: PeerInfo
    withdrawn: bool = False


@dataclass(frozen=True)
class TransferInfo:
    """One file, or one batch (a folder or several files sent with one /send) as a whole."""

    id: int
    name: str  # display name: `report.pdf`; for a batch `photos/` or `3 files`
    size: int  # bytes, all files of a batch together
    direction: str  # "send" | "receive"
    state: TransferState  # offered | waiting | preparing | active | verifying | interrupted | done | failed | declined | cancelled
    done: int = 0
    speed: float = 0.0  # bytes per second, smoothed
    eta: float | None = None  # seconds
    path: Path | None = None  # final path once done (receiver), source path (sender)
    reason: str = ""
    resumed_from: int = 0  # bytes already there when this run of it started (all files of a batch)
    file_count: int = 1  # files in a batch (1 for a file on its own)
    files_done: int = 0  # of those, how many are finished (done or not)
    listing: tuple[tuple[str, int], ...] = ()  # a batch: its first files (name inside it, size)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", TransferState(self.state))


@dataclass(frozen=True)
class TransferOffered(Event):
    """The peer offers a file; answer with Session.accept/decline."""

    transfer: TransferInfo


@dataclass(frozen=True)
class TransferUpdated(Event):
    """State change or progress (at most about 10 a second per transfer)."""

    transfer: TransferInfo


@dataclass(frozen=True)
class Notice(Event):
    """A system line for the log: information, warnings and errors alike."""

    text: str
    level: NoticeLevel = NoticeLevel.INFO

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", NoticeLevel(self.level))


@dataclass(frozen=True)
class Stopped(Event):
    """The session has shut down; no more events follow."""

    reason: str = ""


@dataclass(frozen=True)
class CodeInvite:
    """What /invite shows (not an event: `SessionAPI.invite()` returns it): the code first, or
    None and why there is none, then the invite line and what it allows."""

    code: str | None
    line: str
    summary: str
    no_code: str = ""  # one line
