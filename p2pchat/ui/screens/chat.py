"""The chat itself: the log, the transfers panel, the input and the status, and what each
session event shows there (one handler per event type, found in a table).

Typed lines go to the `CommandRunner`; the dialogs this screen opens are a new peer's
identity (by itself) and a file offer (on F2 only).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from p2pchat import commands
from p2pchat.bindings import describe_unknown, unknown_binding_ids
from p2pchat.display import files_line, nick_changed_line, offer_line, peer_whereabouts, result_line
from p2pchat.paths import get_paths
from p2pchat.session.api import SessionAPI
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
from p2pchat.ui.command_runner import CommandRunner
from p2pchat.ui.host import ChatHost
from p2pchat.ui.paste_file import message_limit, save_paste, too_long
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.screens.identity import IdentityScreen
from p2pchat.ui.screens.offer import OfferAnswer, OfferScreen
from p2pchat.ui.text import clean
from p2pchat.ui.widgets.chat_input import ChatInput, quote_path
from p2pchat.ui.widgets.draft import HELP as DRAFT_HELP
from p2pchat.ui.widgets.draft import DraftEditor
from p2pchat.ui.widgets.footer import ChatFooter
from p2pchat.ui.widgets.message_log import Entry, MessageLog
from p2pchat.ui.widgets.status import StatusBar, StatusSnapshot, TitleBar
from p2pchat.ui.widgets.transfers import TransfersPanel

EVENT_BATCH = 500  # session events handled between two looks at the keyboard
# Events that never change the status bar: skipping it keeps floods of messages cheap.
CHAT_EVENTS = (MessageReceived, MessageSent, MessageDelivered, HistoryLoaded, TransferUpdated)


class SessionEvents(Message):
    """Session events are waiting in the screen's backlog."""


class ChatScreen(Screen[None]):
    def __init__(self, host: ChatHost, *, cursor_blink: bool = True) -> None:
        super().__init__(id="chat")
        self.host = host
        self.commands = CommandRunner(host, self)
        self._cursor_blink = cursor_blink
        self._status = StatusSnapshot(nickname=host.settings.nickname)
        self._reconnect_at: float | None = None
        self._last_dial_reason = ""  # the log repeats a failed dial only when the reason changes
        self._reported: set[int] = set()  # transfers whose outcome is in the log
        self._offer_screens: dict[int, OfferScreen] = {}
        self._event_backlog: deque[Event] = deque()
        self._events_posted = False
        self.ping_sent = False  # the next round trip measured is the answer to /ping

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        yield MessageLog(
            clock=self.host.clock, scrollback=self.host.settings.scrollback, earlier=self._earlier_entries, id="log"
        )
        yield Static("▼ new messages below (End or PageDown)", id="new-below")
        answer_key = self.host.key_for("app.answer_offer", "f2").upper()
        yield TransfersPanel(id="transfers", answer_hint=f"{answer_key} to answer")
        yield Static("", id="completions")
        yield Static(DRAFT_HELP, id="draft-help")
        yield DraftEditor(id="draft")
        yield ChatInput(
            complete_command=commands.complete,
            placeholder="Type a message, /help for commands",
            id="input",
        )
        yield StatusBar(id="status")
        yield ChatFooter()

    @property
    def log_view(self) -> MessageLog:
        return self.query_one("#log", MessageLog)

    @property
    def chat_input(self) -> ChatInput:
        return self.query_one("#input", ChatInput)

    @property
    def transfers_panel(self) -> TransfersPanel:
        return self.query_one("#transfers", TransfersPanel)

    @property
    def session(self) -> SessionAPI | None:  # the app's, None until it starts
        return self.host.session

    def listening_early(self, port: int) -> None:
        """The command line bound `port` before the app was loaded: the status says so until
        the session, which takes that socket, has started."""
        self._status.state, self._status.listening_port = "listening", port

    def on_mount(self) -> None:
        if unknown := unknown_binding_ids(self.host.keymap):  # a typo in the settings: say so, go on
            self.log_view.add_system(f"keymap {describe_unknown(unknown, list_known=False)}; ignored", "warning")
        if (wanted := self.host.settings.theme) != self.app.theme:  # not one of Textual's
            known = ", ".join(sorted(self.app.available_themes))
            self.log_view.add_system(f"theme {wanted!r} is unknown, using {self.app.theme} (themes: {known})", "warning")
        self.chat_input.cursor_blink = self._cursor_blink
        self.chat_input.focus()
        self.watch(self.log_view, "unseen", self._show_unseen)
        self.set_interval(1.0, self._tick)
        self.refresh_status()

    # -- session events -------------------------------------------------------------------
    def post_event(self, event: Event) -> None:
        """The session's callback. One queued message stands for any number of events: a
        flood of messages then costs a list entry each, not a Textual message each."""
        self._event_backlog.append(event)
        if not self._events_posted:
            self._events_posted = True
            self.post_message(SessionEvents())

    def on_session_events(self, message: SessionEvents) -> None:
        self._events_posted = False
        backlog = self._event_backlog
        for _ in range(min(len(backlog), EVENT_BATCH)):
            self.handle_event(backlog.popleft())
        if backlog and not self._events_posted:  # let keys and paint in before the rest
            self._events_posted = True
            self.post_message(SessionEvents())

    def handle_event(self, event: Event) -> None:
        handler = EVENT_HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        if not isinstance(event, CHAT_EVENTS):
            self.refresh_status()

    # -- status -----------------------------------------------------------------------
    def refresh_status(self) -> None:
        status = self._status
        session = self.session
        if session is not None:
            status.state = session.state
            status.nickname = session.nickname
            status.listening_port = session.listening_port
            status.rtt_ms = session.rtt_ms if session.rtt_ms is not None else status.rtt_ms
            peer = session.peer
            if peer is None:
                status.rtt_ms = None  # a round trip of a link that is gone is no longer true
            if peer is not None:
                status.peer_nickname = peer.nickname
                status.peer_address = peer.address
                status.encrypted = peer.encrypted
                status.verified = peer.verified
                status.short_fingerprint = peer.short_fingerprint
                status.route = peer.route
            elif status.state != "reconnecting":
                status.encrypted = None
                if status.state != "dialing":  # nobody called: a peer's address (often a dead port) is past
                    status.peer_nickname = status.peer_address = status.short_fingerprint = status.route = ""
        else:
            status.nickname = self.host.settings.nickname
        status.retry_in = (
            self._reconnect_at - self.host.clock()
            if self._reconnect_at is not None and status.state == "reconnecting"
            else None
        )
        self.query_one("#status", StatusBar).show(status)
        connected = session is not None and session.peer is not None
        self.query_one("#title", TitleBar).show(
            status.nickname, status.peer_nickname if connected else "", status.state
        )

    def _tick(self) -> None:
        if self._reconnect_at is not None:
            self.refresh_status()

    def _show_unseen(self, unseen: int) -> None:
        self.query_one("#new-below").display = unseen > 0

    # -- input ------------------------------------------------------------------------
    def on_input_submitted(self, event: ChatInput.Submitted) -> None:
        if event.input.id != "input":
            return
        event.stop()
        line = event.value
        if not line.strip():
            return
        if commands.is_message(line) and too_long(commands.as_message(line)):
            self.chat_input.value = line  # kept: a message too long to send is not thrown away
            self.chat_input.cursor_position = len(line)
            self._offer_as_file(commands.as_message(line))
            return
        self.chat_input.remember(line)
        self.log_view.follow()  # what you just wrote is at the bottom: show it
        self.commands.handle_line(line)

    def on_chat_input_multi_line_draft(self, event: ChatInput.MultiLineDraft) -> None:
        self._show_draft(True)
        self.query_one("#draft", DraftEditor).begin(event.text, keys_follow=True)

    async def on_chat_input_hand_over(self, event: ChatInput.HandOver) -> None:
        await self.query_one("#draft", DraftEditor).take_keys(event.keys)

    def _show_draft(self, shown: bool) -> None:
        # The draft takes the input's place: one place to type at a time.
        self.query_one("#draft").display = shown
        self.query_one("#draft-help").display = shown
        self.chat_input.display = not shown
        (self.query_one("#draft") if shown else self.chat_input).focus()

    def on_draft_editor_send(self, event: DraftEditor.Send) -> None:
        if not event.text.strip():
            return
        if too_long(event.text):
            self._offer_as_file(event.text)  # the draft stays as it is
            return
        self._show_draft(False)
        self.chat_input.remember(event.text)
        self.log_view.follow()
        self.commands.send(event.text)

    def on_draft_editor_put_aside(self, event: DraftEditor.PutAside) -> None:
        self._show_draft(False)
        if event.text.strip():
            self.chat_input.remember(event.text)
            self.log_view.add_system("draft put aside: Up brings it back")

    def _offer_as_file(self, text: str) -> None:
        size = too_long(text)
        body = Text(
            f"This message has {size:,} bytes; one message may have {message_limit():,}.\n\n"
            "Send it as a file instead? It is saved as a .txt file in p2pchat's own folder and "
            "offered to your peer with /send."
        )
        question = ConfirmScreen("Too long for a message", body, "Send as a file", "Keep editing")
        self.app.push_screen(question, lambda send: self._send_as_file(text) if send else None)

    def _send_as_file(self, text: str) -> None:
        try:
            path = save_paste(text, get_paths().pastes_dir, self.host.clock())
        except OSError as error:
            self.log_view.add_system(f"could not save the message to a file: {error}", "error")
            return
        if self.query_one("#draft").display:
            self._show_draft(False)
        self.chat_input.value = ""
        self.log_view.follow()
        self.commands.handle_line(f"/send {quote_path(str(path))}")

    def on_chat_input_scroll_to_newest(self, _: ChatInput.ScrollToNewest) -> None:
        self.log_view.follow()

    def on_chat_input_completions(self, event: ChatInput.Completions) -> None:
        # Shown beside the input, not in the chat log, until the input changes.
        names = event.options
        shown = "  ".join(names[:200]) + (f"  … {len(names) - 200} more" if len(names) > 200 else "")
        completions = self.query_one("#completions", Static)
        completions.update(Text(clean(shown)))
        completions.display = True

    def on_input_changed(self, event: ChatInput.Changed) -> None:
        if event.input.id == "input":
            self.query_one("#completions").display = False

    def run_palette_line(self, line: str) -> None:
        """A line from the command palette: run it, or (ending in a space) finish typing it."""
        if line.endswith(" "):
            self.chat_input.value = line
            self.chat_input.cursor_position = len(line)
            self.chat_input.focus()
        else:
            self.commands.handle_line(line)

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
        if self.host.terminal_focused and self.log_view.following:
            return
        if self.host.settings.bell:
            self.app.bell()
        preview = clean(f"{sender}: {body}", single_line=True)
        self.notify(preview[:200], title="New message", markup=False)

    # -- the connection ---------------------------------------------------------------------
    def _on_listening(self, event: Listening) -> None:
        # A wildcard bind address ([::]) is no address to give anyone: the port, and the
        # address for the peer on the next line.
        host = f"[{event.host}]" if ":" in event.host else event.host
        wildcard = event.host in ("", "::", "0.0.0.0")
        text = f"listening on port {event.port}" if wildcard else f"listening on {host}:{event.port}"
        self.log_view.add_system(f"{text} ({event.note})" if event.note else text)
        if address := self.commands.own_address():
            key = self.host.key_for("app.copy_address", "f3").upper()
            self.log_view.add_system(f"your address for your peer: {address} ({key} copies it)")

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
        self._status.rtt_ms = None  # a round trip of the link before is no measure of this one
        peer = event.peer
        verb = "reconnected to" if event.resumed else "connected to"
        security = "encrypted" if peer.encrypted else "UNENCRYPTED"
        self.log_view.add_system(f"{verb} {peer.nickname} {peer_whereabouts(peer)} ({security})")
        if not peer.encrypted:
            self.log_view.add_system("this connection is not encrypted: anyone on the path can read it", "warning")

    def _on_disconnected(self, event: Disconnected) -> None:
        self.log_view.add_system(event.reason, "system" if event.by_peer else "warning")

    def _on_reconnecting(self, event: Reconnecting) -> None:
        self._reconnect_at = self.host.clock() + event.retry_in

    def _on_nick_changed(self, event: NickChanged) -> None:
        self.log_view.add_system(nick_changed_line(event.old, event.new, event.by_peer))

    def _on_rtt_measured(self, event: RttMeasured) -> None:
        self._status.rtt_ms = event.rtt_ms
        if self.ping_sent:
            self.ping_sent = False
            self.log_view.add_system(f"round trip to {self.peer_name()}: {event.rtt_ms:.1f} ms")

    def _on_notice(self, event: Notice) -> None:
        self.log_view.add_system(event.text, event.level)

    def _on_stopped(self, event: Stopped) -> None:
        self.log_view.add_system(f"session stopped{': ' + event.reason if event.reason else ''}", "warning")

    def peer_name(self) -> str:
        session = self.session
        return session.peer.nickname if session is not None and session.peer is not None else "peer"

    # -- identity -----------------------------------------------------------------------------
    def _on_identity_prompt(self, event: IdentityPrompt) -> None:
        self.app.push_screen(IdentityScreen(event, self.host.keymap), self._identity_answered)

    def _on_identity_prompt_expired(self, event: IdentityPromptExpired) -> None:
        question: Screen[Any] = self.app.screen
        if isinstance(question, IdentityScreen):
            question.dismiss(None)  # too late to answer: the peer was refused, or is gone
        if event.withdrawn:
            return  # the session's notice says why (the peer refused us, or hung up)
        name = clean(event.peer.nickname, single_line=True)
        self.log_view.add_system(f"no answer in time: {name} was refused", "warning")

    def _identity_answered(self, accept: bool | None) -> None:
        if accept is None:
            return  # the question expired: the session already refused the peer
        if self.session is not None:
            self.session.answer_identity(bool(accept))
        if accept:  # a refusal is said by the session, with the peer's name
            self.log_view.add_system("peer identity accepted")

    # -- transfers ----------------------------------------------------------------------------
    def _on_transfer_offered(self, event: TransferOffered) -> None:
        # The offer waits in the log and the transfers panel: a dialog that opened by
        # itself would take the keys the user is typing (and could accept the file).
        info = event.transfer
        self._reported.discard(info.id)  # a number the peer used before, now for a new offer
        self.transfers_panel.update_transfer(info)
        line = offer_line(info, self.peer_name())
        if not self.host.settings.auto_accept_files:
            key = self.host.key_for("app.answer_offer", "f2")
            line += f": {key.upper()} to answer, or /accept {info.id}, /decline {info.id}"
        self.log_view.add_system(line)
        if listed := files_line(info):
            self.log_view.add_system(listed)

    def answer_offer(self) -> None:
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
        downloads = self.host.settings.download_dir or get_paths().downloads_dir
        screen = OfferScreen(info, self.peer_name(), downloads)
        self._offer_screens[info.id] = screen
        self.app.push_screen(screen, lambda answer: self._offer_answered(screen, answer))

    def _offer_answered(self, screen: OfferScreen, answer: OfferAnswer | None) -> None:
        transfer_id = screen.transfer.id
        if self._offer_screens.get(transfer_id) is screen:
            del self._offer_screens[transfer_id]
        if self.session is None or screen.withdrawn or transfer_id in self._reported:
            return  # withdrawn (cancelled, peer gone) while the dialog was open
        try:
            if answer is not None and answer.accept:
                self.session.accept(transfer_id, answer.save_as)
            else:
                self.session.decline(transfer_id)
        except ValueError as error:  # e.g. a save-as path that cannot be used
            self.log_view.add_system(str(error), "error")

    def close_offer_screen(self, transfer_id: int) -> None:
        screen = self._offer_screens.pop(transfer_id, None)
        if screen is not None:
            screen.withdrawn = True  # its number may soon name another offer
            if screen.is_active:
                screen.dismiss(None)  # the offer was withdrawn or answered elsewhere

    def _on_transfer_updated(self, event: TransferUpdated) -> None:
        info: TransferInfo = event.transfer
        self.transfers_panel.update_transfer(info)
        if info.state.live:
            self._reported.discard(info.id)  # a number reused for a new transfer
            return
        if info.id in self._reported:
            return
        self._reported.add(info.id)
        self.close_offer_screen(info.id)
        level = "error" if info.state == "failed" else "system"
        self.log_view.add_system(result_line(info), level)


EVENT_HANDLERS: dict[type, Callable[[Any, Any], None]] = {
    MessageReceived: ChatScreen._on_message_received,
    MessageSent: ChatScreen._on_message_sent,
    MessageDelivered: ChatScreen._on_message_delivered,
    HistoryLoaded: ChatScreen._on_history_loaded,
    Listening: ChatScreen._on_listening,
    Dialing: ChatScreen._on_dialing,
    Connected: ChatScreen._on_connected,
    Disconnected: ChatScreen._on_disconnected,
    Reconnecting: ChatScreen._on_reconnecting,
    NickChanged: ChatScreen._on_nick_changed,
    RttMeasured: ChatScreen._on_rtt_measured,
    IdentityPrompt: ChatScreen._on_identity_prompt,
    IdentityPromptExpired: ChatScreen._on_identity_prompt_expired,
    TransferOffered: ChatScreen._on_transfer_offered,
    TransferUpdated: ChatScreen._on_transfer_updated,
    Notice: ChatScreen._on_notice,
    Stopped: ChatScreen._on_stopped,
}
