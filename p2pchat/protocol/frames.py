"""The frames of the wire protocol as plain immutable values, and the protocol's constants."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

MAGIC = b"P2PC"
PROTOCOL_VERSION = 1
HEADER_SIZE = 5  # u32 payload length + u8 type
MAX_FRAME = 1 << 20  # largest payload a peer may send
CHUNK_OVERHEAD = HEADER_SIZE + 16  # header + u64 tid + u64 offset in front of a chunk's data
MAX_CHUNK_DATA = MAX_FRAME - 16
MAX_TEXT_BYTES = 65536
MAX_NICK = 32
MAX_CANDIDATES = 8  # addresses in one CANDIDATES frame


class FrameType(IntEnum):
    HELLO = 0x01
    READY = 0x02
    TEXT = 0x10
    ACK = 0x11
    NICK = 0x12
    FILE_OFFER = 0x20
    FILE_ACCEPT = 0x21
    FILE_DECLINE = 0x22
    FILE_CHUNK = 0x23
    FILE_DONE = 0x24
    FILE_RESULT = 0x25
    FILE_CANCEL = 0x26
    PING = 0x30
    PONG = 0x31
    CANDIDATES = 0x50
    SYNC = 0x51
    BUSY = 0x40
    BYE = 0x41
    ERROR = 0x42


@dataclass(frozen=True, slots=True)
class Hello:
    version: int
    nickname: str
    id: str
    caps: tuple[str, ...]
    session: str | None
    invite: str | None = None  # an invite's secret, sent only to the inviter it names
    TYPE: ClassVar[FrameType] = FrameType.HELLO

    def __post_init__(self) -> None:
        # A list given by the caller becomes a tuple, so equal frames compare equal.
        object.__setattr__(self, "caps", tuple(self.caps))


@dataclass(frozen=True, slots=True)
class Ready:
    session: str | None
    TYPE: ClassVar[FrameType] = FrameType.READY


@dataclass(frozen=True, slots=True)
class Text:
    id: str
    ts: float
    body: str
    action: bool = False
    TYPE: ClassVar[FrameType] = FrameType.TEXT


@dataclass(frozen=True, slots=True)
class Ack:
    id: str
    TYPE: ClassVar[FrameType] = FrameType.ACK


@dataclass(frozen=True, slots=True)
class Nick:
    nickname: str
    TYPE: ClassVar[FrameType] = FrameType.NICK


@dataclass(frozen=True, slots=True)
class OfferBatch:
    """What one /send of a folder or several files offers: the files arrive as one question."""

    id: int  # the sender's id for the whole batch, stable across reconnects
    files: int  # how many files this round of offers carries (those not finished yet)
    size: int  # their bytes together
    name: str  # what to call the batch: `photos/` or `3 files`


@dataclass(frozen=True, slots=True)
class FileOffer:
    tid: int
    name: str
    size: int
    key: str
    batch: OfferBatch | None = None  # absent on the wire for a file sent on its own
    number: int | None = None  # the transfer's number both sides show (absent from older peers)
    TYPE: ClassVar[FrameType] = FrameType.FILE_OFFER


@dataclass(frozen=True, slots=True)
class FileAccept:
    tid: int
    offset: int
    TYPE: ClassVar[FrameType] = FrameType.FILE_ACCEPT


@dataclass(frozen=True, slots=True)
class FileDecline:
    tid: int
    reason: str
    TYPE: ClassVar[FrameType] = FrameType.FILE_DECLINE


@dataclass(frozen=True, slots=True, repr=False)
class FileChunk:
    tid: int
    offset: int
    data: bytes | memoryview  # decoded chunks are memoryviews: no copy of the payload
    TYPE: ClassVar[FrameType] = FrameType.FILE_CHUNK

    def __repr__(self) -> str:
        return f"FileChunk(tid={self.tid}, offset={self.offset}, data=<{len(self.data)} bytes>)"


SHA256, BLAKE3 = "sha256", "blake3"  # FILE_DONE's two hash fields; "blake3" is a HELLO cap too


@dataclass(frozen=True, slots=True)
class FileDone:
    """The whole file's hash: `sha256`, or `blake3` instead where both HELLOs had that cap."""

    tid: int
    sha256: str | None = None
    blake3: str | None = None
    TYPE: ClassVar[FrameType] = FrameType.FILE_DONE

    @property
    def digest(self) -> tuple[str, str]:
        """(hash name, hex digits): the field that is set, and its value."""
        return (BLAKE3, self.blake3) if self.blake3 is not None else (SHA256, self.sha256 or "")


@dataclass(frozen=True, slots=True)
class FileResult:
    tid: int
    ok: bool
    reason: str
    TYPE: ClassVar[FrameType] = FrameType.FILE_RESULT


@dataclass(frozen=True, slots=True)
class FileCancel:
    tid: int
    reason: str
    TYPE: ClassVar[FrameType] = FrameType.FILE_CANCEL


@dataclass(frozen=True, slots=True)
class Ping:
    ts: float
    TYPE: ClassVar[FrameType] = FrameType.PING


@dataclass(frozen=True, slots=True)
class Pong:
    ts: float
    TYPE: ClassVar[FrameType] = FrameType.PONG


@dataclass(frozen=True, slots=True)
class Candidate:
    """An address a peer may be reached at directly: `kind` says how the sender knows it."""

    host: str  # an IP address, as text
    port: int
    kind: str  # "public" (seen by STUN), "mapped" (the router forwards it), "local" (an interface)


@dataclass(frozen=True, slots=True)
class Candidates:
    """The sender's direct addresses, to try to move a relayed session onto a direct path."""

    attempt: int
    nat: str  # the sender's router as STUN saw it (protocol/stun.py's Mapping names)
    addresses: tuple[Candidate, ...]
    held: float = 0.0  # seconds an answer waited after the frame it answers arrived
    TYPE: ClassVar[FrameType] = FrameType.CANDIDATES

    def __post_init__(self) -> None:
        object.__setattr__(self, "addresses", tuple(self.addresses))


@dataclass(frozen=True, slots=True)
class Sync:
    """Dial now: the initiator dials half a round trip after sending it."""

    attempt: int
    TYPE: ClassVar[FrameType] = FrameType.SYNC


@dataclass(frozen=True, slots=True)
class Busy:
    reason: str
    TYPE: ClassVar[FrameType] = FrameType.BUSY


@dataclass(frozen=True, slots=True)
class Bye:
    reason: str
    TYPE: ClassVar[FrameType] = FrameType.BYE


@dataclass(frozen=True, slots=True)
class Error:
    code: str
    message: str
    TYPE: ClassVar[FrameType] = FrameType.ERROR


Frame = (
    Hello
    | Ready
    | Text
    | Ack
    | Nick
    | FileOffer
    | FileAccept
    | FileDecline
    | FileChunk
    | FileDone
    | FileResult
    | FileCancel
    | Ping
    | Pong
    | Candidates
    | Sync
    | Busy
    | Bye
    | Error
)

FRAME_CLASSES: tuple[type[Frame], ...] = Frame.__args__
