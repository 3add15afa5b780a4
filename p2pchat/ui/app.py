"""The full-screen chat: a Textual app driven by a `SessionAPI` and its events.

The connect screen it may start with is driven from connect_flow.py, what each session event
shows is in event_view.py, and what a typed line does in app_commands.py.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from p2pchat import commands
from p2pchat.paths import get_paths
from p2pchat.session.api import SessionAPI
from p2pchat.session.events import (
    Event,
)
from p2pchat.settings import Settings
from p2pchat.ui.app_commands import AppCommands
from p2pchat.ui.connect_flow import ConnectFlow, LanFactory, real_lan_factory
from p2pchat.ui.event_view import SessionEventView
from p2pchat.ui.palette import ChatCommandsProvider
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.screens.help import HelpScreen
from p2pchat.ui.screens.offer import OfferScreen
from p2pchat.ui.text import clean
from p2pchat.ui.widgets.chat_input import ChatInput
from p2pchat.ui.widgets.draft import HELP as DRAFT_HELP
from p2pchat.ui.widgets.draft import DraftEditor
from p2pchat.ui.widgets.message_log import MessageLog
from p2pchat.ui.widgets.status import StatusBar, StatusSnapshot, TitleBar
from p2pchat.ui.widgets.transfers import (
    TransfersPanel,
)

SessionFactory = Callable[[Settings], SessionAPI]
# Transfers that quitting would interrupt: ctrl+q asks first while one of these exists.
RUNNING_STATES = {"waiting", "preparing", "active", "verifying"}
QUIT_TIMEOUT = 3.0  # seconds to wait for the bye before leaving anyway
EVENT_BATCH = 500  # session events handled between two looks at the keyboard


class SessionEvents(Message):
    """Session events are waiting in the app's backlog."""


def _real_session_factory(settings: Settings) -> SessionAPI:
    # Imported late, after the first frame: the UI tests never need them, and start-up is
    # faster without the network stack and the logger.
    from p2pchat.log import setup_logging
    from p2pchat.session import Session

    setup_logging(settings, get_paths())
    return Session(settings)


class ChatApp(ConnectFlow, SessionEventView, AppCommands, App[int]):
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
        lan_factory: LanFactory | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.session: SessionAPI | None = None
        self.input_cursor_blink = cursor_blink
        self._session_factory = session_factory or _real_session_factory
        self._lan_factory = lan_factory or real_lan_factory
        self._lan_watch = None  # the connect screen's view of the LAN, while it is open
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
        yield MessageLog(
            clock=self.clock, scrollback=self.settings.scrollback, earlier=self._earlier_entries, id="log"
        )
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

    def _key_for(self, binding_id: str, default: str) -> str:
        return self._keymap.get(binding_id, default)

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
