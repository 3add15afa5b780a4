"""What the app shows for each session event: one handler per event type, found in a table.

A mixin of `ChatApp`: the handlers write to its log, transfers panel and status, and open
its dialogs (a new peer's identity; a file offer, on F2 only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from p2pchat.display import offer_line, result_line
from p2pchat.paths import get_paths
from p2pchat.session.events import (
    ChatMessage,
    Connected,
    Dialing,
    Disconnected,
    Event,
    HistoryLoaded,
    IdentityPrompt,
    IdentityPromptExpired,
    Listening,
    MessageDelivered,
    MessageReceived,
    MessageSent,
    NickChanged,
    Notice,
    Reconnecting,
    RttMeasured,
    Stopped,
    TransferInfo,
    TransferOffered,
    TransferUpdated,
)
from p2pchat.ui.screens.identity import IdentityScreen
from p2pchat.ui.screens.offer import OfferAnswer, OfferScreen
from p2pchat.ui.text import clean
from p2pchat.ui.widgets.message_log import Entry
from p2pchat.ui.widgets.transfers import LIVE_STATES

# Events that never change the status bar: skipping it keeps floods of messages cheap.
CHAT_EVENTS = (MessageReceived, MessageSent, MessageDelivered, HistoryLoaded, TransferUpdated)


class SessionEventView:
    def _handle_event(self, event: Event) -> None:
        handler = EVENT_HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        if not isinstance(event, CHAT_EVENTS):
            self._refresh_status()

    # -- messages -------------------------------------------------------------------------
    def _on_message_received(self, event: MessageReceived) -> None:
        msg = event.message
        self.log_view.add_message(
            msg.sender, msg.body, outgoing=False, timestamp=msg.timestamp, action=msg.action, message_id=msg.id
        )
        self._alert(msg.sender, msg.body)

    def _on_message_sent(self, event: MessageSent) -> None:
        msg = event.message
        if not self.log_view.set_state(msg.id, msg.state):
            self.log_view.add_message(
                msg.sender, msg.body, outgoing=True, timestamp=msg.timestamp, action=msg.action,
                state=msg.state, message_id=msg.id,
            )

    def _on_message_delivered(self, event: MessageDelivered) -> None:
        self.log_view.set_state(event.id, "delivered")

    def _on_history_loaded(self, event: HistoryLoaded) -> None:
        history = self._history_entries(event.messages)
        if history:
            self.log_view.add_history(history, "earlier messages above")

    def _history_entries(self, messages: Iterable[ChatMessage]) -> list[Entry]:
        log = self.log_view
        return [
            log.message_entry(
                msg.sender, msg.body, outgoing=msg.outgoing, timestamp=msg.timestamp, action=msg.action,
                state=msg.state if msg.outgoing else "", message_id=msg.id,
            )
            for msg in messages
        ]

    def _earlier_entries(self, message_id: str, outgoing: bool, including: bool, limit: int) -> list[Entry]:
        """Messages before one in the log, from the history (the log pages them in)."""
        if self.session is None:
            return []
        return self._history_entries(self.session.earlier_messages(message_id, outgoing, including, limit))

    def _alert(self, sender: str, body: str) -> None:
        if self._focused and self.log_view.following:
            return
        if self.settings.bell:
            self.bell()
        preview = clean(f"{sender}: {body}", single_line=True)
        self.notify(preview[:200], title="New message", markup=False)

    # -- the connection ---------------------------------------------------------------------
    def _on_listening(self, event: Listening) -> None:
        host = f"[{event.host}]" if ":" in event.host else event.host
        text = f"listening on {host}:{event.port}"
        self.log_view.add_system(f"{text} ({event.note})" if event.note else text)

    def _on_dialing(self, event: Dialing) -> None:
        self._status.peer_address = event.address  # the status names whom we call
        # The status bar counts down to each retry; the log only says what changed.
        if event.retry_in is None:
            if event.attempt == 1:
                self._last_dial_reason = ""
                self.log_view.add_system(f"calling {event.address}")
        elif event.reason != self._last_dial_reason:
            self._last_dial_reason = event.reason
            self.log_view.add_system(f"{event.reason or 'no answer from ' + event.address}; retrying")

    def _on_connected(self, event: Connected) -> None:
        self._reconnect_at = None
        peer = event.peer
        verb = "reconnected to" if event.resumed else "connected to"
        security = "encrypted" if peer.encrypted else "UNENCRYPTED"
        self.log_view.add_system(f"{verb} {peer.nickname} at {peer.address} ({security})")
        if not peer.encrypted:
            self.log_view.add_system("this connection is not encrypted: anyone on the path can read it", "warning")

    def _on_disconnected(self, event: Disconnected) -> None:
        self.log_view.add_system(event.reason, "system" if event.by_peer else "warning")

    def _on_reconnecting(self, event: Reconnecting) -> None:
        self._reconnect_at = self.clock() + event.retry_in

    def _on_nick_changed(self, event: NickChanged) -> None:
        who = "peer" if event.by_peer else "you"
        self.log_view.add_system(f"{event.old} is now known as {event.new} ({who})")

    def _on_rtt_measured(self, event: RttMeasured) -> None:
        self._status.rtt_ms = event.rtt_ms
        if self._ping_sent:
            self._ping_sent = False
            self.log_view.add_system(f"round trip to {self._peer_name()}: {event.rtt_ms:.1f} ms")

    def _on_notice(self, event: Notice) -> None:
        self.log_view.add_system(event.text, event.level)

    def _on_stopped(self, event: Stopped) -> None:
        self.log_view.add_system(f"session stopped{': ' + event.reason if event.reason else ''}", "warning")

    def _peer_name(self) -> str:
        return self.session.peer.nickname if self.session and self.session.peer else "peer"

    # -- identity -----------------------------------------------------------------------------
    def _on_identity_prompt(self, event: IdentityPrompt) -> None:
        self.push_screen(IdentityScreen(event), self._identity_answered)

    def _on_identity_prompt_expired(self, event: IdentityPromptExpired) -> None:
        if isinstance(self.screen, IdentityScreen):
            self.screen.dismiss(None)  # too late to answer: the peer was refused
        name = clean(event.peer.nickname, single_line=True)
        self.log_view.add_system(f"no answer in time: {name} was refused", "warning")

    def _identity_answered(self, accept: bool | None) -> None:
        if accept is None:
            return  # the question expired: the session already refused the peer
        if self.session is not None:
            self.session.answer_identity(bool(accept))
        self.log_view.add_system("peer identity accepted" if accept else "peer identity refused")

    # -- transfers ----------------------------------------------------------------------------
    def _on_transfer_offered(self, event: TransferOffered) -> None:
        # The offer waits in the log and the transfers panel: a dialog that opened by
        # itself would take the keys the user is typing (and could accept the file).
        info = event.transfer
        self.transfers_panel.update_transfer(info)
        line = offer_line(info, self._peer_name())
        if not self.settings.auto_accept_files:
            key = self._key_for("app.answer_offer", "f2")
            line += f": {key.upper()} to answer, or /accept {info.id}, /decline {info.id}"
        self.log_view.add_system(line)

    def action_answer_offer(self) -> None:
        """Open the dialog for the oldest offer still waiting for an answer."""
        if self.session is None:
            return
        waiting = [
            t
            for t in self.session.transfers
            if t.direction == "receive" and t.state == "offered" and t.id not in self._reported
        ]
        if not waiting:
            self.log_view.add_system("no file offer is waiting for an answer")
            return
        info = min(waiting, key=lambda t: t.id)
        if info.id in self._offer_screens:
            return
        downloads = self.settings.download_dir or get_paths().downloads_dir
        screen = OfferScreen(info, self._peer_name(), downloads)
        self._offer_screens[info.id] = screen
        self.push_screen(screen, lambda answer: self._offer_answered(info.id, answer))

    def _offer_answered(self, transfer_id: int, answer: OfferAnswer | None) -> None:
        self._offer_screens.pop(transfer_id, None)
        if self.session is None or transfer_id in self._reported:
            return  # withdrawn (cancelled, peer gone) while the dialog was open
        try:
            if answer is not None and answer.accept:
                self.session.accept(transfer_id, answer.save_as)
            else:
                self.session.decline(transfer_id)
        except ValueError as error:  # e.g. a save-as path that cannot be used
            self.log_view.add_system(str(error), "error")

    def _close_offer_screen(self, transfer_id: int) -> None:
        screen = self._offer_screens.pop(transfer_id, None)
        if screen is not None and screen.is_active:
            screen.dismiss(None)  # the offer was withdrawn or answered elsewhere

    def _on_transfer_updated(self, event: TransferUpdated) -> None:
        info: TransferInfo = event.transfer
        self.transfers_panel.update_transfer(info)
        if info.state in LIVE_STATES or info.id in self._reported:
            return
        self._reported.add(info.id)
        self._close_offer_screen(info.id)
        level = "error" if info.state == "failed" else "system"
        self.log_view.add_system(result_line(info), level)


EVENT_HANDLERS: dict[type, Callable[[Any, Any], None]] = {
    MessageReceived: SessionEventView._on_message_received,
    MessageSent: SessionEventView._on_message_sent,
    MessageDelivered: SessionEventView._on_message_delivered,
    HistoryLoaded: SessionEventView._on_history_loaded,
    Listening: SessionEventView._on_listening,
    Dialing: SessionEventView._on_dialing,
    Connected: SessionEventView._on_connected,
    Disconnected: SessionEventView._on_disconnected,
    Reconnecting: SessionEventView._on_reconnecting,
    NickChanged: SessionEventView._on_nick_changed,
    RttMeasured: SessionEventView._on_rtt_measured,
    IdentityPrompt: SessionEventView._on_identity_prompt,
    IdentityPromptExpired: SessionEventView._on_identity_prompt_expired,
    TransferOffered: SessionEventView._on_transfer_offered,
    TransferUpdated: SessionEventView._on_transfer_updated,
    Notice: SessionEventView._on_notice,
    Stopped: SessionEventView._on_stopped,
}
