"""The full-screen chat: a Textual app driven by a `SessionAPI` and its events.

The app starts and stops the session and holds what every screen shares (settings, keys,
the session). The chat itself, and what each session event shows, is `ChatScreen`
(screens/chat.py); what a typed line does is the `CommandRunner` (command_runner.py); the
connect screen, when nothing said whom to call, is pushed with a callback that starts the
session with its answer.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from p2pchat import commands
from p2pchat.display import own_address
from p2pchat.net.bind import early_port
from p2pchat.paths import get_paths
from p2pchat.session.api import SessionAPI
from p2pchat.session.events import TransferInfo
from p2pchat.settings import Settings
from p2pchat.ui.palette import ChatCommandsProvider
from p2pchat.ui.screens.chat import ChatScreen
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.screens.connect import ConnectChoice, ConnectScreen, LanFactory, real_lan_factory
from p2pchat.ui.screens.help import HelpScreen, key_lines
from p2pchat.ui.screens.identity import Question
from p2pchat.ui.screens.offer import OfferScreen
from p2pchat.ui.share import SENT_TO_CLIPBOARD
from p2pchat.ui.text import clean
from p2pchat.ui.typing_burst import forward_typed_burst, is_typed_character
from p2pchat.ui.widgets.chat_input import ChatInput
from p2pchat.ui.widgets.message_log import MessageLog
from p2pchat.ui.widgets.transfers import TransfersPanel

SessionFactory = Callable[[Settings], SessionAPI]
QUIT_TIMEOUT = 3.0  # seconds to wait for the bye before leaving anyway


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

    def get_driver_class(self) -> type[Driver]:
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
        lan_factory: LanFactory | None = None,
        address_for: Callable[[int], str] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.session: SessionAPI | None = None
        self.input_cursor_blink = cursor_blink
        self.terminal_focused = True
        self.start_error = ""  # why the session could not start, printed after the app closes
        self._session_factory = session_factory or _real_session_factory
        self._lan_factory = lan_factory or real_lan_factory
        self._show_connect_screen = show_connect_screen and settings.connect is None
        self.keymap = keymap if keymap is not None else dict(settings.keymap)
        self._address_for = address_for  # tests fix the host; None: guessed from the routes
        self._quit_confirmed = False
        self.chat = ChatScreen(self, cursor_blink=cursor_blink)
        if (port := early_port()) is not None and not self._show_connect_screen:
            self.chat.listening_early(port)  # the command line bound it: the first frame says so

    def get_default_screen(self) -> Screen:
        return self.chat

    # -- what the chat screen asks of the app (ui.host.ChatHost) ------------------------
    def key_for(self, binding_id: str, default: str) -> str:
        return self.keymap.get(binding_id, default)

    def address_for(self, port: int) -> str:
        if self._address_for is not None:
            return self._address_for(port)
        fingerprint = self.session.own_fingerprint if self.session is not None else ""
        return own_address(port, fingerprint, tls=self.settings.tls, bind=self.settings.bind)

    # The chat's widgets, as the app's (what most callers hold is the app).
    @property
    def log_view(self) -> MessageLog:
        return self.chat.log_view

    @property
    def chat_input(self) -> ChatInput:
        return self.chat.chat_input

    @property
    def transfers_panel(self) -> TransfersPanel:
        return self.chat.transfers_panel

    def handle_line(self, line: str) -> None:
        self.chat.commands.handle_line(line)

    def run_palette_line(self, line: str) -> None:
        self.chat.run_palette_line(line)

    async def on_event(self, event: events.Event) -> None:
        typed = is_typed_character(event, from_terminal=True)  # before handling forwards it
        await super().on_event(event)
        if typed:
            forward_typed_burst(self)  # the keys typed right behind it: as one edit

    # -- start ------------------------------------------------------------------------
    def on_mount(self) -> None:
        try:
            self.theme = self.settings.theme
        except Exception:  # the chat screen's log says so
            self.theme = "textual-dark"
        if self.keymap:
            self.set_keymap(self.keymap)
        if self._show_connect_screen:
            self._open_connect_screen()
        else:  # the first frame goes out before the network stack is even imported
            self.call_after_refresh(self._begin)

    def _open_connect_screen(self, error: str = "") -> None:
        settings = self.settings
        screen = ConnectScreen(
            port=settings.port,
            port_explicit=settings.port_explicit,
            peer=settings.connect,
            nickname=settings.nickname,
            error=error,
            lan_factory=self._lan_factory if settings.discoverable else None,
            codes=bool(settings.rendezvous),
        )
        self.push_screen(screen, self._connect_chosen)

    def _connect_chosen(self, choice: ConnectChoice | None) -> None:
        if choice is None:
            self.exit(0)
            return
        self.settings = replace(
            self.settings,
            port=choice.port,
            connect=choice.peer,
            nickname=choice.nickname,
            port_explicit=choice.port_explicit,
        )
        self._begin()

    def _begin(self) -> None:
        self.session = self._session_factory(self.settings)
        self.session.on_event = self.chat.post_event
        self._start_session()  # which shows the status once the session listens (not "idle" first)

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
            # The form is where to choose again: the reason, without command-line advice.
            self._open_connect_screen(f"Cannot start: {getattr(error, 'reason', error)}")
        self.chat.refresh_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.log_view.add_system(f"{event.worker.name}: {error}", "error")
            self.chat.refresh_status()

    # -- focus ------------------------------------------------------------------------
    def on_app_blur(self, _: events.AppBlur) -> None:
        self.terminal_focused = False

    def on_app_focus(self, _: events.AppFocus) -> None:
        self.terminal_focused = True

    # -- actions ------------------------------------------------------------------------
    async def action_quit(self) -> None:
        session = self.session
        running = [t for t in session.transfers if t.state.running] if session else []
        if running and not self._quit_confirmed:
            screen: Screen[Any] = self.screen
            if isinstance(screen, ConfirmScreen) and screen.id == "quit-confirm":
                self._quit_confirmed = True  # ctrl+q again on the question: quit
            else:
                self._ask_before_quitting(running)
                return
        if session is not None and session.state != "stopped":
            try:
                await asyncio.wait_for(session.quit(), QUIT_TIMEOUT)
            except Exception:
                pass  # leaving anyway: the peer notices the closed connection
        self.exit(0)

    def _ask_before_quitting(self, running: list[TransferInfo]) -> None:
        peer = clean(self.chat.peer_name(), single_line=True)
        body = Text(quit_warning(running, peer) + " (ctrl+q again quits.)")
        screen = ConfirmScreen("Quit p2pchat?", body, "Quit", "Keep running", default=False, warning=True)
        screen.id = "quit-confirm"
        self.push_screen(screen, self._quit_answered)

    def _quit_answered(self, quit: bool | None) -> None:
        if quit:
            self._quit_confirmed = True
            self.run_worker(self.action_quit(), group="quit")

    def action_copy_address(self) -> None:
        address = self.chat.commands.own_address()
        if not address:
            self.notify("Your address is known once p2pchat listens on a port.", markup=False)
            return
        # OSC 52 asks the terminal to copy; nothing says whether it did (tmux without
        # set-clipboard drops it): the address is in the log too, to copy by hand.
        self.copy_to_clipboard(address)
        self.log_view.add_system(f"your address for your peer, {SENT_TO_CLIPBOARD}; if it is not in your "
                                 "clipboard, copy it from the next line:")
        self.log_view.add_system(address)  # a line of its own: whole when the terminal is wide enough
        self.notify(address, title="S" + SENT_TO_CLIPBOARD[1:], markup=False)

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
        keymap = self.keymap
        keys = key_lines(self.BINDINGS, keymap) + [("ctrl+p", "Command palette")]
        keys += key_lines(ChatInput.BINDINGS, keymap, " (message box)")
        keys += [("tab", "Focus a new peer's question, to answer it")]
        keys += key_lines(Question.BINDINGS, keymap, " (new peer question)")
        keys += key_lines(OfferScreen.BINDINGS, keymap, " (file offer)")
        keys += key_lines(ConfirmScreen.BINDINGS, keymap, " (/verify, quit and other questions)")
        self.push_screen(HelpScreen(commands.overview(), keys))

    def action_clear(self) -> None:
        self.log_view.clear()

    def action_send_file(self) -> None:
        self.run_palette_line("/send ")

    def action_answer_offer(self) -> None:
        self.chat.answer_offer()

    def action_log_end(self) -> None:
        self.log_view.follow()

    def action_log_page(self, direction: int) -> None:
        if direction < 0:
            self.log_view.action_page_up()
        else:
            self.log_view.action_page_down()


def quit_warning(running: list[TransferInfo], peer: str) -> str:
    """What quitting does to the transfers still moving, and what brings each kind back."""

    def counted(transfers: list[TransferInfo], verb: str) -> tuple[str, str]:
        if len(transfers) == 1:
            return f"1 file is still {verb}", "it"
        return f"{len(transfers)} files are still {verb}", "them"

    sending = [t for t in running if t.direction == "send"]
    receiving = [t for t in running if t.direction != "send"]
    said = []
    if sending:
        files, them = counted(sending, "being sent")
        said.append(f"{files}; quitting interrupts {them}. After restarting, p2pchat offers {them} again "
                    f"once {peer} is connected, and the transfer resumes where it stopped.")
    if receiving:
        files, them = counted(receiving, "arriving")
        said.append(f"{files}; quitting interrupts {them}, and what has arrived is kept. After restarting, "
                    f"connect to {peer} again: {peer}'s p2pchat, if still running, offers {them} again, and "
                    "accepting resumes where it stopped.")
    return " ".join(said)


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
