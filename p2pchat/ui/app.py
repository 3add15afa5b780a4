"""The full-screen chat: a Textual app driven by a `SessionAPI` and its events."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from p2pchat import commands
from p2pchat.display import offer_line, pick_transfer, result_line, transfer_lines
from p2pchat.paths import get_paths
from p2pchat.session.api import SessionAPI
from p2pchat.session.events import (
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
from p2pchat.settings import Settings
from p2pchat.ui.palette import ChatCommandsProvider
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.screens.connect import ConnectChoice, ConnectScreen
from p2pchat.ui.screens.help import HelpScreen
from p2pchat.ui.screens.identity import IdentityScreen
from p2pchat.ui.screens.offer import OfferAnswer, OfferScreen
from p2pchat.ui.share import own_address, stored_fingerprint
from p2pchat.ui.text import clean
from p2pchat.ui.widgets.chat_input import ChatInput
from p2pchat.ui.widgets.draft import HELP as DRAFT_HELP
from p2pchat.ui.widgets.draft import DraftEditor
from p2pchat.ui.widgets.message_log import MessageLog
from p2pchat.ui.widgets.status import StatusBar, StatusSnapshot, TitleBar
from p2pchat.ui.widgets.transfers import (
    LIVE_STATES,
    TransfersPanel,
)

SessionFactory = Callable[[Settings], SessionAPI]
# Events that never change the status bar: skipping it keeps floods of messages cheap.
CHAT_EVENTS = (MessageReceived, MessageSent, MessageDelivered, HistoryLoaded, TransferUpdated)
# Transfers that quitting would interrupt: ctrl+q asks first while one of these exists.
RUNNING_STATES = {"waiting", "preparing", "active", "verifying"}
QUIT_TIMEOUT = 3.0
EVENT_BATCH = 500  # session events handled between two looks at the keyboard  # seconds to wait for the bye before leaving anyway


class SessionEvents(Message):
    """Session events are waiting in the app's backlog."""


def _real_session_factory(settings: Settings) -> SessionAPI:
    # Imported late, after the first frame: the UI tests never need them, and start-up is
    # faster without the network stack and the logger.
    from p2pchat.log import setup_logging
    from p2pchat.session import Session

    setup_logging(settings, get_paths())
    return Session(settings)


class ChatApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "p2pchat"
    COMMANDS = App.COMMANDS | {ChatCommandsProvider}

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+l", "clear", "Clear", id="app.clear"),
        Binding("ctrl+o", "send_file", "Send file", id="app.send_file"),
        Binding("f2", "answer_offer", "Answer offer", id="app.answer_offer"),
        Binding("f3", "copy_address", "Copy address", id="app.copy_address"),
        Binding("pageup", "log_page(-1)", "Page up", show=False, id="app.page_up"),
        Binding("pagedown", "log_page(1)", "Page down", show=False, id="app.page_down"),
    ]

    def get_driver_class(self):
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver":  # imported here: it needs termios (not on Windows)
            from p2pchat.ui.driver import ContinuableLinuxDriver

            return ContinuableLinuxDriver
        return driver

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory | None = None,
        clock: Callable[[], float] = time.time,
        *,
        show_connect_screen: bool = False,
        keymap: dict[str, str] | None = None,
        cursor_blink: bool = True,
        address_for: Callable[[int], str] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.session: SessionAPI | None = None
        self.input_cursor_blink = cursor_blink
        self._session_factory = session_factory or _real_session_factory
        self._show_connect_screen = show_connect_screen and settings.connect is None
        self._keymap = keymap if keymap is not None else dict(settings.keymap)
        self._focused = True
        self._status = StatusSnapshot(nickname=settings.nickname)
        self._reconnect_at: float | None = None
        self.start_error = ""  # why the session could not start, printed after the app closes
        self._last_dial_reason = ""  # the log repeats a failed dial only when the reason changes
        self._reported: set[int] = set()  # transfers whose outcome is in the log
        self._offer_screens: dict[int, OfferScreen] = {}
        self._event_backlog: deque[Event] = deque()
        self._events_posted = False
        self._address_for = address_for or self._stored_address
        self._ping_sent = False  # the next round trip measured is the answer to /ping
        self._quit_confirmed = False

    # -- layout ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        yield MessageLog(clock=self.clock, id="log")
        yield Static("▼ new messages below (End or PageDown)", id="new-below")
        answer_key = self._key_for("app.answer_offer", "f2").upper()
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
        yield Footer()

    @property
    def log_view(self) -> MessageLog:
        return self.query_one("#log", MessageLog)

    @property
    def chat_input(self) -> ChatInput:
        return self.query_one("#input", ChatInput)

    @property
    def transfers_panel(self) -> TransfersPanel:
        return self.query_one("#transfers", TransfersPanel)

    def on_mount(self) -> None:
        try:
            self.theme = self.settings.theme
        except Exception:
            self.theme = "textual-dark"
        if self._keymap:
            self.set_keymap(self._keymap)
        self.chat_input.cursor_blink = self.input_cursor_blink
        self.chat_input.focus()
        self.watch(self.log_view, "unseen", self._show_unseen)
        self.set_interval(1.0, self._tick)
        self._refresh_status()
        if self._show_connect_screen:
            self._open_connect_screen()
        else:  # the first frame goes out before the network stack is even imported
            self.call_after_refresh(self._begin)

    def _open_connect_screen(self, error: str = "") -> None:
        settings = self.settings
        screen = ConnectScreen(
            port=settings.port,
            peer=settings.connect,
            nickname=settings.nickname,
            address_for=self._address_for,
            error=error,
        )
        self.push_screen(screen, self._connect_chosen)

    def _stored_address(self, port: int) -> str:
        """Your address before the session starts: the key is read from the identity folder."""
        fingerprint = stored_fingerprint() if self.settings.tls else ""
        return own_address(port, fingerprint, tls=self.settings.tls, bind=self.settings.bind)

    def _connect_chosen(self, choice: ConnectChoice | None) -> None:
        if choice is None:
            self.exit(0)
            return
        self.settings = replace(
            self.settings,
            port=choice.port,
            connect=choice.peer,
            nickname=choice.nickname,
            port_explicit=True,
        )
        self._status.nickname = choice.nickname
        self._begin()

    def _begin(self) -> None:
        self.session = self._session_factory(self.settings)
        self.session.on_event = self._post_event
        self._refresh_status()
        self._start_session()

    def _post_event(self, event: Event) -> None:
        # One queued message stands for any number of events: a flood of messages then
        # costs a list entry each, not a Textual message each.
        self._event_backlog.append(event)
        if not self._events_posted:
            self._events_posted = True
            self.post_message(SessionEvents())

    def on_session_events(self, _: SessionEvents) -> None:
        self._events_posted = False
        backlog = self._event_backlog
        for _ in range(min(len(backlog), EVENT_BATCH)):
            self._handle_event(backlog.popleft())
        if backlog and not self._events_posted:  # let keys and paint in before the rest
            self._events_posted = True
            self.post_message(SessionEvents())

    @work(exclusive=True, exit_on_error=False, group="session")
    async def _start_session(self) -> None:
        assert self.session is not None
        try:
            await self.session.start()
        except Exception as error:  # port taken, unreadable identity...
            if not self._show_connect_screen:
                # Started from the command line: leave with the reason, like any CLI error.
                self.start_error = str(error)
                self.exit(1, return_code=1)
                return
            self.log_view.add_system(f"cannot start: {error}", "error")
            self.session = None
            self._open_connect_screen(f"Cannot start: {error}")  # let the user pick another port
        self._refresh_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.log_view.add_system(f"{event.worker.name}: {error}", "error")
            self._refresh_status()

    # -- session events ---------------------------------------------------------------
    def _handle_event(self, event: Event) -> None:
        log = self.log_view
        if isinstance(event, MessageReceived):
            msg = event.message
            log.add_message(
                msg.sender, msg.body, outgoing=False, timestamp=msg.timestamp, action=msg.action
            )
            self._alert(msg.sender, msg.body)
        elif isinstance(event, MessageSent):
            msg = event.message
            if not log.set_state(msg.id, msg.state):
                log.add_message(
                    msg.sender,
                    msg.body,
                    outgoing=True,
                    timestamp=msg.timestamp,
                    action=msg.action,
                    state=msg.state,
                    message_id=msg.id,
                )
        elif isinstance(event, MessageDelivered):
            log.set_state(event.id, "delivered")
        elif isinstance(event, HistoryLoaded):
            history = [
                log.message_entry(
                    msg.sender,
                    msg.body,
                    outgoing=msg.outgoing,
                    timestamp=msg.timestamp,
                    action=msg.action,
                    state=msg.state if msg.outgoing else "",
                    message_id=msg.id,
                )
                for msg in event.messages
            ]
            if history:
                log.add_history(history, "earlier messages above")
        elif isinstance(event, Listening):
            host = f"[{event.host}]" if ":" in event.host else event.host
            text = f"listening on {host}:{event.port}"
            log.add_system(f"{text} ({event.note})" if event.note else text)
        elif isinstance(event, Dialing):
            self._status.peer_address = event.address  # the status names whom we call
            # The status bar counts down to each retry; the log only says what changed.
            if event.retry_in is None:
                if event.attempt == 1:
                    self._last_dial_reason = ""
                    log.add_system(f"calling {event.address}")
            elif event.reason != self._last_dial_reason:
                self._last_dial_reason = event.reason
                log.add_system(f"{event.reason or 'no answer from ' + event.address}; retrying")
        elif isinstance(event, Connected):
            self._reconnect_at = None
            peer = event.peer
            verb = "reconnected to" if event.resumed else "connected to"
            security = "encrypted" if peer.encrypted else "UNENCRYPTED"
            log.add_system(f"{verb} {peer.nickname} at {peer.address} ({security})")
            if not peer.encrypted:
                log.add_system(
                    "this connection is not encrypted: anyone on the path can read it", "warning"
                )
        elif isinstance(event, Disconnected):
            log.add_system(event.reason, "system" if event.by_peer else "warning")
        elif isinstance(event, Reconnecting):
            self._reconnect_at = self.clock() + event.retry_in
        elif isinstance(event, NickChanged):
            who = "peer" if event.by_peer else "you"
            log.add_system(f"{event.old} is now known as {event.new} ({who})")
        elif isinstance(event, RttMeasured):
            pass  # read from session.rtt_ms below
        elif isinstance(event, IdentityPrompt):
            self.push_screen(IdentityScreen(event), self._identity_answered)
        elif isinstance(event, IdentityPromptExpired):
            if isinstance(self.screen, IdentityScreen):
                self.screen.dismiss(None)  # too late to answer: the peer was refused
            log.add_system(f"no answer in time: {clean(event.peer.nickname, single_line=True)} was refused", "warning")
        elif isinstance(event, TransferOffered):
            self._transfer_offered(event.transfer)
        elif isinstance(event, TransferUpdated):
            self._transfer_updated(event.transfer)
        elif isinstance(event, Notice):
            log.add_system(event.text, event.level)
        elif isinstance(event, Stopped):
            log.add_system(
                f"session stopped{': ' + event.reason if event.reason else ''}", "warning"
            )
        if isinstance(event, RttMeasured):
            self._status.rtt_ms = event.rtt_ms
            if self._ping_sent:
                self._ping_sent = False
                log.add_system(f"round trip to {self._peer_name()}: {event.rtt_ms:.1f} ms")
        if not isinstance(event, CHAT_EVENTS):
            self._refresh_status()

    def _alert(self, sender: str, body: str) -> None:
        if self._focused and self.log_view.following:
            return
        if self.settings.bell:
            self.bell()
        preview = clean(f"{sender}: {body}", single_line=True)
        self.notify(preview[:200], title="New message", markup=False)

    def _identity_answered(self, accept: bool | None) -> None:
        if accept is None:
            return  # the question expired: the session already refused the peer
        if self.session is not None:
            self.session.answer_identity(bool(accept))
        self.log_view.add_system("peer identity accepted" if accept else "peer identity refused")

    def _peer_name(self) -> str:
        return self.session.peer.nickname if self.session and self.session.peer else "peer"

    def _transfer_offered(self, info: TransferInfo) -> None:
        # The offer waits in the log and the transfers panel: a dialog that opened by
        # itself would take the keys the user is typing (and could accept the file).
        self.transfers_panel.update_transfer(info)
        line = offer_line(info, self._peer_name())
        if not self.settings.auto_accept_files:
            key = self._key_for("app.answer_offer", "f2")
            line += f": {key.upper()} to answer, or /accept {info.id}, /decline {info.id}"
        self.log_view.add_system(line)

    def _key_for(self, binding_id: str, default: str) -> str:
        return self._keymap.get(binding_id, default)

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

    def _transfer_updated(self, info: TransferInfo) -> None:
        self.transfers_panel.update_transfer(info)
        if info.state in LIVE_STATES or info.id in self._reported:
            return
        self._reported.add(info.id)
        screen = self._offer_screens.pop(info.id, None)
        if screen is not None and screen.is_active:
            screen.dismiss(None)  # the offer was withdrawn or answered elsewhere
        level = "error" if info.state == "failed" else "system"
        self.log_view.add_system(result_line(info), level)

    # -- status -----------------------------------------------------------------------
    def _refresh_status(self) -> None:
        status = self._status
        session = self.session
        if session is not None:
            status.state = session.state
            status.nickname = session.nickname
            status.listening_port = session.listening_port
            status.rtt_ms = session.rtt_ms if session.rtt_ms is not None else status.rtt_ms
            peer = session.peer
            if peer is not None:
                status.peer_nickname = peer.nickname
                status.peer_address = peer.address
                status.encrypted = peer.encrypted
                status.verified = peer.verified
                status.short_fingerprint = peer.short_fingerprint
                status.route = peer.route
            elif status.state != "reconnecting":
                status.encrypted = None
                status.rtt_ms = None
        status.retry_in = (
            self._reconnect_at - self.clock()
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
            self._refresh_status()

    def _show_unseen(self, unseen: int) -> None:
        self.query_one("#new-below").display = unseen > 0

    # -- focus ------------------------------------------------------------------------
    def on_app_blur(self, _: events.AppBlur) -> None:
        self._focused = False

    def on_app_focus(self, _: events.AppFocus) -> None:
        self._focused = True

    # -- input ------------------------------------------------------------------------
    def on_input_submitted(self, event: ChatInput.Submitted) -> None:
        if event.input.id != "input":
            return
        event.stop()
        line = event.value
        if not line.strip():
            return
        self.chat_input.remember(line)
        self.log_view.follow()  # what you just wrote is at the bottom: show it
        self.handle_line(line)

    def on_chat_input_multi_line_draft(self, event: ChatInput.MultiLineDraft) -> None:
        self._show_draft(True)
        self.query_one("#draft", DraftEditor).begin(event.text)

    def _show_draft(self, shown: bool) -> None:
        # The draft takes the input's place: one place to type at a time.
        self.query_one("#draft").display = shown
        self.query_one("#draft-help").display = shown
        self.chat_input.display = not shown
        (self.query_one("#draft") if shown else self.chat_input).focus()

    def on_draft_editor_send(self, event: DraftEditor.Send) -> None:
        if not event.text.strip():
            return
        self._show_draft(False)
        self.chat_input.remember(event.text)
        self.log_view.follow()
        self._send(event.text)

    def on_draft_editor_put_aside(self, event: DraftEditor.PutAside) -> None:
        self._show_draft(False)
        if event.text.strip():
            self.chat_input.remember(event.text)
            self.log_view.add_system("draft put aside: Up brings it back")

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
        if line.endswith(" "):
            self.chat_input.value = line
            self.chat_input.cursor_position = len(line)
            self.chat_input.focus()
        else:
            self.handle_line(line)

    def handle_line(self, line: str) -> None:
        """Run a command or send a message; bad commands are answered locally."""
        try:
            command = commands.parse(line)
        except commands.CommandError as error:
            self.log_view.add_system(str(error), "error")
            return
        if command is None:
            self._send(commands.as_message(line))
            return
        name = command.name
        handler = getattr(self, f"_command_{name}", None)
        if handler is None:
            self.log_view.add_system(f"/{command.name} is not available here", "error")
            return
        needs_session = name not in ("help", "quit", "clear")
        if needs_session and self.session is None:
            self.log_view.add_system("the session has not started yet", "error")
            return
        handler(command)

    def _send(self, body: str, action: bool = False) -> None:
        if self.session is None:
            self.log_view.add_system("the session has not started yet", "error")
            return
        try:
            self.session.send_text(body, action=action)
        except Exception as error:  # the session refuses (too long, stopped...)
            self.log_view.add_system(f"not sent: {error}", "error")

    # -- commands -----------------------------------------------------------------------
    def _command_help(self, command: commands.Command) -> None:
        if command.args:
            self.log_view.add_system(commands.help_text(command.args[0]))
        else:
            self.action_help()

    def _command_quit(self, command: commands.Command) -> None:
        self.run_worker(self.action_quit(), group="quit")

    def _command_send(self, command: commands.Command) -> None:
        paths = [Path(arg).expanduser() for arg in command.args]
        self._offer(paths)

    @work(exit_on_error=False, group="offer")
    async def _offer(self, paths: list[Path]) -> None:
        assert self.session is not None
        try:
            await self.session.offer_files(paths)
        except Exception as error:
            self.log_view.add_system(f"cannot send: {error}", "error")

    def _pick_transfer(self, command: commands.Command) -> int | None:
        assert self.session is not None
        try:
            return pick_transfer(self.session.transfers, command.name, command.args[0] if command.args else None)
        except ValueError as error:
            self.log_view.add_system(str(error), "error")
            return None

    def _apply(self, action: Callable[[int], Any], transfer_id: int, done: str) -> None:
        try:
            action(transfer_id)
        except (KeyError, ValueError) as error:
            self.log_view.add_system(str(error), "error")  # the session's message names the transfer
            return
        screen = self._offer_screens.pop(transfer_id, None)
        if screen is not None and screen.is_active:
            screen.dismiss(None)
        self.log_view.add_system(f"{done} transfer #{transfer_id}")

    def _command_accept(self, command: commands.Command) -> None:
        transfer_id = self._pick_transfer(command)
        if transfer_id is not None:
            self._apply(self.session.accept, transfer_id, "accepted")  # type: ignore[union-attr]

    def _command_decline(self, command: commands.Command) -> None:
        transfer_id = self._pick_transfer(command)
        if transfer_id is not None:
            self._apply(self.session.decline, transfer_id, "declined")  # type: ignore[union-attr]

    def _command_cancel(self, command: commands.Command) -> None:
        transfer_id = self._pick_transfer(command)
        if transfer_id is not None:
            self._apply(self.session.cancel, transfer_id, "cancelled")  # type: ignore[union-attr]

    def _command_transfers(self, command: commands.Command) -> None:
        assert self.session is not None
        for line in transfer_lines(self.session.transfers):
            self.log_view.add_system(line)

    def _command_nick(self, command: commands.Command) -> None:
        assert self.session is not None
        name = command.rest.strip() if command.rest else " ".join(command.args)
        try:
            self.session.change_nick(name)
        except ValueError as error:
            self.log_view.add_system(f"/nick: {error}", "error")
            return
        self.settings = replace(self.settings, nickname=self.session.nickname)
        self._refresh_status()

    def _command_me(self, command: commands.Command) -> None:
        action = command.rest.strip() if command.rest else " ".join(command.args)
        self._send(action, action=True)

    def _command_info(self, command: commands.Command) -> None:
        assert self.session is not None
        for key, value in self.session.info().items():
            self.log_view.add_system(f"{key}: {value}")
        address = self._own_address()
        if address:
            key = self._key_for("app.copy_address", "f3").upper()
            self.log_view.add_system(
                f"your address: {address} ({key} copies it; /invite makes a one-time line that "
                "also works through relays)"
            )

    def _own_address(self) -> str:
        session = self.session
        if session is None:
            return ""
        return own_address(session.listening_port, session.own_fingerprint, tls=self.settings.tls,
                           bind=self.settings.bind)

    def _command_ping(self, command: commands.Command) -> None:
        assert self.session is not None
        if self.session.peer is not None:
            self._ping_sent = True
            self.log_view.add_system(f"ping sent to {self._peer_name()}")
        self.session.ping()  # without a peer the session says so

    def _command_verify(self, command: commands.Command) -> None:
        session = self.session
        assert session is not None
        code = session.short_code
        if not code or session.peer is None:
            self.log_view.add_system("/verify needs an encrypted connection to a peer", "error")
            return
        body = Text("Read this code to your peer by phone or in person:\n\n    ")
        body.append(clean(code, single_line=True), style="bold")
        body.append("\n\nDoes it match the code they see?")
        self.push_screen(
            ConfirmScreen("Verify your peer", body, "It matches", "It does not", default=False),
            self._verify_answered,
        )

    def _verify_answered(self, matches: bool | None) -> None:
        if self.session is None:
            return
        if matches:
            self.session.verify_peer()  # which says so in the log
        else:
            self.log_view.add_system("codes do not match: do not trust this connection", "warning")
        self._refresh_status()

    def _command_clear(self, command: commands.Command) -> None:
        self.log_view.clear()

    def _command_invite(self, command: commands.Command) -> None:
        assert self.session is not None
        try:
            line, summary = self.session.create_invite()
        except ValueError as error:
            self.log_view.add_system(f"/invite: {error}", "error")
            return
        self.copy_to_clipboard(line)
        self.log_view.add_system(f"invite ({summary}); your peer pastes it into p2pchat --connect "
                                 "or the connect screen (copied to the clipboard if the terminal allows):")
        self.log_view.add_system(line)

    def _command_connect(self, command: commands.Command) -> None:
        address = command.args[0] if command.args else ""
        self._connect(address)

    @work(exit_on_error=False, group="connect")
    async def _connect(self, address: str) -> None:
        assert self.session is not None
        try:
            await self.session.connect(address)
        except Exception as error:
            self.log_view.add_system(f"cannot connect to {address}: {error}", "error")

    # -- actions ------------------------------------------------------------------------
    async def action_quit(self) -> None:
        session = self.session
        running = [t for t in session.transfers if t.state in RUNNING_STATES] if session else []
        if running and not self._quit_confirmed:
            if isinstance(self.screen, ConfirmScreen) and self.screen.id == "quit-confirm":
                self._quit_confirmed = True  # ctrl+q again on the question: quit
            else:
                self._ask_before_quitting(len(running))
                return
        if session is not None and session.state != "stopped":
            try:
                await asyncio.wait_for(session.quit(), QUIT_TIMEOUT)
            except Exception:
                pass  # leaving anyway: the peer notices the closed connection
        self.exit(0)

    def _ask_before_quitting(self, running: int) -> None:
        files, them = ("1 file is", "it") if running == 1 else (f"{running} files are", "them")
        body = Text(
            f"{files} still moving. Quitting interrupts {them}; /send {them} again after restarting "
            "and the transfer resumes where it stopped. (ctrl+q again quits.)"
        )
        screen = ConfirmScreen("Quit p2pchat?", body, "Quit", "Keep running", default=False)
        screen.id = "quit-confirm"
        self.push_screen(screen, self._quit_answered)

    def _quit_answered(self, quit: bool | None) -> None:
        if quit:
            self._quit_confirmed = True
            self.run_worker(self.action_quit(), group="quit")

    def action_copy_address(self) -> None:
        address = self._own_address()
        if not address:
            self.notify("Your address is known once p2pchat listens on a port.", markup=False)
            return
        self.copy_to_clipboard(address)
        self.notify(address, title="Copied to the clipboard", markup=False)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        # Textual saves into ~/Downloads (the palette's Screenshot too) and fails when that
        # folder does not exist: use the download folder, created if needed.
        folder = Path(path) if path else self.settings.download_dir or get_paths().downloads_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self.notify(f"screenshot not saved: {error}", severity="error", markup=False)
            return None
        return super().deliver_screenshot(filename, str(folder), time_format)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys = [
            (self._keymap.get(b.id or "", b.key), b.description)
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.description
        ]
        keys += [
            ("ctrl+p", "Command palette"),
            ("up / down", "Your earlier lines"),
            ("tab", "Complete"),
        ]
        self.push_screen(HelpScreen(commands.help_text(), keys))

    def action_clear(self) -> None:
        self.log_view.clear()

    def action_send_file(self) -> None:
        self.run_palette_line("/send ")

    def action_log_end(self) -> None:
        self.log_view.follow()

    def action_log_page(self, direction: int) -> None:
        if direction < 0:
            self.log_view.action_page_up()
        else:
            self.log_view.action_page_down()


def run_app(settings: Settings, *, show_connect_screen: bool | None = None) -> int:
    """Run the chat until the user quits; the exit code for the process.

    Without `show_connect_screen`, the connect screen opens when nothing on the
    command line said whom to call or where to listen.
    """
    if show_connect_screen is None:
        show_connect_screen = settings.connect is None and not settings.port_explicit
    app = ChatApp(settings, show_connect_screen=show_connect_screen)
    result = app.run()
    if app.start_error:
        print(f"p2pchat: error: {app.start_error}", file=sys.stderr)
    return int(result or 0)
