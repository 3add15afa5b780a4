"""The states and kinds the session reports, each in one place with what follows from it."""

from __future__ import annotations

from p2pchat.textenum import TextEnum


class TransferState(TextEnum):
    OFFERED = "offered"  # waiting for the receiver's answer
    WAITING = "waiting"  # offered while disconnected: goes out when the peer is back
    PREPARING = "preparing"  # accepted; the receiver looks for a partial file to resume
    ACTIVE = "active"  # bytes are moving
    VERIFYING = "verifying"  # all bytes sent or received; the hash is being checked
    INTERRUPTED = "interrupted"  # the connection dropped; resumes when the peer is back
    DONE = "done"
    FAILED = "failed"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Nothing more will happen to this transfer."""
        return self in _FINAL_TRANSFER

    @property
    def live(self) -> bool:
        return not self.final

    @property
    def moving(self) -> bool:
        """Accepted and under way: a disk or the link is busy with it."""
        return self in _MOVING_TRANSFER

    @property
    def open(self) -> bool:
        """An offer the other side still holds open: not answered yet, or under way. Counted
        against the open-offer cap."""
        return self is TransferState.OFFERED or self.moving

    @property
    def running(self) -> bool:
        """Work that quitting now would interrupt: under way, or waiting to go out."""
        return self is TransferState.WAITING or self.moving


_FINAL_TRANSFER = frozenset({TransferState.DONE, TransferState.FAILED, TransferState.DECLINED, TransferState.CANCELLED})
_MOVING_TRANSFER = frozenset({TransferState.PREPARING, TransferState.ACTIVE, TransferState.VERIFYING})


class SessionState(TextEnum):
    IDLE = "idle"  # made, not started
    LISTENING = "listening"  # waiting for a peer
    DIALING = "dialing"  # trying to reach the address given
    RECONNECTING = "reconnecting"  # trying to reach the peer again after a lost connection
    CONNECTED = "connected"
    STOPPED = "stopped"

    @property
    def final(self) -> bool:
        return self is SessionState.STOPPED

    @property
    def live(self) -> bool:
        """A peer is connected."""
        return self is SessionState.CONNECTED


class PromptKind(TextEnum):
    UNKNOWN = "unknown"  # an identity never seen before
    CHANGED = "changed"  # a known name or address shows another key


class NoticeLevel(TextEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def problem(self) -> bool:
        """Worth a warning in the log."""
        return self is not NoticeLevel.INFO
