"""Chat messages, delivered exactly once over whichever connection is live.

Every outgoing message stays in `unacked` until the peer acknowledges it, and is
re-sent, in order, after a reconnect (or, from the history, after a restart).
The receiver drops ids it has already shown but acknowledges them again; the
history answers which those are (its unique key), so no id is kept in memory for
good: a long session costs the same memory at its millionth message as at its first.
A message goes on the wire only once it is stored, and is acknowledged only once
it is stored, so a crash at any moment means a re-send, never a loss.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable

from p2pchat.history import StoredMessage
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.protocol import MAX_TEXT_BYTES, Ack, Text, new_message_id
from p2pchat.session.context import PeerLink, Reporter, addressee
from p2pchat.session.events import (
    ChatMessage,
    HistoryLoaded,
    MessageDelivered,
    MessageReceived,
    MessageSent,
)
from p2pchat.session.store import HistoryStore

HISTORY_SHOWN = 50  # earlier messages shown when a peer connects
# Messages written before any peer ever connected are filed under this id until
# the first peer connects, in this run or a later one: that peer receives them.
UNADDRESSED = ""


class Chat:
    def __init__(
        self, report: Reporter, link: PeerLink, history: HistoryStore, clock: Callable[[], float]
    ) -> None:
        self.report = report
        self.link = link
        self.history = history
        self.clock = clock
        self.unacked: OrderedDict[str, Text] = OrderedDict()
        # Whom each un-acked message is for: the peer of the moment, or the last one while
        # disconnected (None before anyone connected: the first peer gets it).
        self._for: dict[str, str | None] = {}
        self._peers_loaded: set[str] = set()

    # -- sending ---------------------------------------------------------------------
    def send_text(self, body: str, action: bool) -> str:
        if not body.strip():
            raise ValueError("empty message")
        size = len(body.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise ValueError(f"message too long ({size:,} bytes; the limit is {MAX_TEXT_BYTES:,})")
        frame = Text(new_message_id(), self.clock(), body, action)
        self.unacked[frame.id] = frame
        self._for[frame.id] = addressee(self.link)
        conn = self.link.connection
        message = ChatMessage(
            frame.id, self.link.nickname, body, frame.ts, True, action, "sent" if conn else "pending"
        )
        self._store(message)
        if conn is not None:  # else it is pending: it goes out when the peer is back
            with contextlib.suppress(ConnectionClosed):
                conn.send(frame)
        self.report.emit(MessageSent(message))
        return frame.id

    def on_ack(self, frame: Ack) -> None:
        if self.unacked.pop(frame.id, None) is not None:
            self._for.pop(frame.id, None)
            self.history.set_state(self.link.peer_id, frame.id, "delivered")
            self.report.emit(MessageDelivered(frame.id))

    # -- receiving -------------------------------------------------------------------
    def on_text(self, conn: Connection, frame: Text) -> None:
        peer = self.link.peer
        message = ChatMessage(frame.id, peer.nickname, frame.body, frame.ts, False, frame.action, "delivered")
        # Stored only if new: a re-sent id is already in the history. If storing fails,
        # nothing is acknowledged and the re-send is shown.
        if self._store(message):
            self.report.emit(MessageReceived(message))
        conn.send(Ack(frame.id))

    # -- a (re)connected peer ----------------------------------------------------------
    def connected(self, conn: Connection, peer_id: str, show_history: bool) -> None:
        """The session with `peer_id` is up on `conn`: catch up, then re-send in order."""
        if peer_id not in self._peers_loaded:
            self._peers_loaded.add(peer_id)
            if show_history:
                self._show_history(peer_id)
        self._adopt_unaddressed(peer_id)
        self._adopt_queued(peer_id)
        for message_id, frame in self.unacked.items():
            if self._for.get(message_id) in (None, peer_id):  # never another peer's messages
                self._for[message_id] = peer_id
                conn.send(frame)

    def _show_history(self, peer_id: str) -> None:
        earlier = tuple(
            _shown(m) for m in self.history.recent(peer_id, limit=HISTORY_SHOWN) if m.id not in self.unacked
        )
        if earlier:
            self.report.emit(HistoryLoaded(earlier))

    def earlier(self, message_id: str, outgoing: bool, including: bool, limit: int) -> list[ChatMessage]:
        """Messages with the peer of the moment (or the last one) before `message_id`."""
        peer_id = addressee(self.link)
        if peer_id is None:
            return []
        return [_shown(m) for m in self.history.before(peer_id, message_id, outgoing, including, limit)]

    def _adopt_unaddressed(self, peer_id: str) -> None:
        """Messages written before anyone connected now belong to this first peer."""
        self.history.reassign(UNADDRESSED, peer_id)

    def _adopt_queued(self, peer_id: str) -> None:
        """Messages queued for this peer in an earlier run go out first, in order."""
        earlier = [m for m in self.history.pending(peer_id) if m.id not in self.unacked]
        if not earlier:
            return
        merged: OrderedDict[str, Text] = OrderedDict()
        for m in earlier:
            merged[m.id] = Text(m.id, m.timestamp, m.body, m.action)
            self._for[m.id] = peer_id
            self.report.emit(
                MessageSent(ChatMessage(m.id, m.sender, m.body, m.timestamp, True, m.action, "pending"))
            )
        merged.update(self.unacked)
        self.unacked = merged

    # -- the history ---------------------------------------------------------------------
    def _store(self, message: ChatMessage) -> bool:
        """Write the message to the history; False if it was there already."""
        peer_id = addressee(self.link) or UNADDRESSED
        return self.history.add(peer_id, StoredMessage(
            message.id, message.sender, message.body, message.timestamp,
            message.outgoing, message.action, message.state,
        ))

    def close(self) -> None:
        self.history.close()


def _shown(m: StoredMessage) -> ChatMessage:
    return ChatMessage(m.id, m.sender, m.body, m.timestamp, m.outgoing, m.action, m.state)
