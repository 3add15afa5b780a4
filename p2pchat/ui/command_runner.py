"""What the app does with a typed line: a message, or a slash command.

The session-level commands go through `p2pchat.dispatch`, shared with plain mode; the
`CommandRunner` is the app's `dispatch.FrontEnd` (it shows what they say in the chat log).
The commands that need the app's own screens or wording are here: help, quit, clear,
/verify, /invite, /ping.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import Any, Protocol

from rich.text import Text
from textual.app import App

from p2pchat import commands, dispatch
from p2pchat.display import invite_lines, offered_line
from p2pchat.session.api import SessionAPI
from p2pchat.session.events import TransferInfo
from p2pchat.settings import Settings
from p2pchat.ui.host import ChatHost
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.share import SENT_TO_CLIPBOARD
from p2pchat.ui.text import clean
from p2pchat.ui.widgets.message_log import MessageLog

OWN_COMMANDS = ("help", "quit", "clear")  # these work before the session has started


class ChatView(Protocol):
    """The runner's view of the chat screen that owns it."""

    ping_sent: bool  # the next round trip measured answers /ping

    @property
    def app(self) -> App[Any]: ...

    @property
    def log_view(self) -> MessageLog: ...

    def run_worker(self, work: Awaitable[Any], *, group: str = ..., exit_on_error: bool = ...) -> Any: ...

    def close_offer_screen(self, transfer_id: int) -> None: ...

    def refresh_status(self) -> None: ...

    def peer_name(self) -> str: ...


class CommandRunner:
    def __init__(self, host: ChatHost, chat: ChatView) -> None:
        self.host = host
        self.chat = chat

    @property
    def settings(self) -> Settings:
        return self.host.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.host.settings = settings

    def handle_line(self, line: str) -> None:
        """Run a command or send a message; bad commands are answered locally."""
        try:
            command = commands.parse(line)
        except commands.CommandError as error:
            self.show(str(error), "error")
            return
        if command is None:
            self.send(commands.as_message(line))
            return
        name = command.name
        handler = getattr(self, f"_command_{name}", None)
        if handler is None and name not in dispatch.SESSION_COMMANDS:
            self.show(f"/{command.name} is not available here", "error")
            return
        session = self.host.session
        if name in OWN_COMMANDS:
            handler(command)
        elif session is None:
            self.show("the session has not started yet", "error")
        elif handler is not None:
            handler(session, command)
        elif (pending := dispatch.run(self, session, command)) is not None:
            # It waits on the network: the keyboard does not.
            self.chat.run_worker(pending, exit_on_error=False, group=name)

    def send(self, body: str, action: bool = False) -> None:
        if self.host.session is None:
            self.show("the session has not started yet", "error")
            return
        try:
            self.host.session.send_text(body, action=action)
        except Exception as error:  # the session refuses (too long, stopped...)
            self.show(f"not sent: {error}", "error")

    def own_address(self) -> str:
        """Your address for your peer; "" until the session listens."""
        session = self.host.session
        if session is None or not session.listening_port:
            return ""
        return self.host.address_for(session.listening_port)

    # -- what the shared commands say (dispatch.FrontEnd) -----------------------------------
    def show(self, text: str, level: str = "system") -> None:
        self.chat.log_view.add_system(text, level)

    def offered(self, transfers: list[TransferInfo]) -> None:
        self.show(offered_line(transfers))  # the panel shows them too; the log keeps the record

    def answered(self, transfer_id: int, done: str) -> None:
        self.chat.close_offer_screen(transfer_id)
        if done == "accepted":  # a decline or a cancel ends it: its result line says so
            self.show(f"{done} transfer #{transfer_id}")

    def renamed(self) -> None:
        if self.host.session is not None:
            self.settings = replace(self.settings, nickname=self.host.session.nickname)
        self.chat.refresh_status()

    def more_info(self) -> list[str]:
        address = self.own_address()
        if not address:
            return []
        key = self.host.key_for("app.copy_address", "f3").upper()
        return [f"your address: {address} ({key} copies it; /invite makes a one-time line that also works through relays)"]

    # -- the app's own commands ---------------------------------------------------------------
    def _command_help(self, command: commands.Command) -> None:
        if command.args:
            self.show(commands.help_text(command.args[0]))
        else:
            self.chat.run_worker(self.chat.app.run_action("help"), group="help")

    def _command_quit(self, command: commands.Command) -> None:
        self.chat.run_worker(self.chat.app.run_action("quit"), group="quit")

    def _command_clear(self, command: commands.Command) -> None:
        self.chat.log_view.clear()

    def _command_ping(self, session: SessionAPI, command: commands.Command) -> None:
        if session.peer is not None:
            self.chat.ping_sent = True
            self.show(f"ping sent to {self.chat.peer_name()}")
        session.ping()  # without a peer the session says so

    def _command_verify(self, session: SessionAPI, command: commands.Command) -> None:
        code = session.short_code
        if not code or session.peer is None:
            self.show("/verify needs an encrypted connection to a peer", "error")
            return
        body = Text("Read this code to your peer by phone or in person:\n\n    ")
        body.append(clean(code, single_line=True), style="bold")
        body.append("\n\nDoes it match the code they see?")
        # It opens over the message box: a line typed right after /verify must stay a line.
        question = ConfirmScreen(
            "Verify your peer", body, "It matches", "It does not", default=None, typing_below=True
        )
        self.chat.app.push_screen(question, self._verify_answered)

    def _verify_answered(self, matches: bool | None) -> None:
        session = self.host.session
        if session is None or session.peer is None or matches is None:
            return  # closed unanswered, or the peer left meanwhile
        if matches:
            session.verify_peer()  # which says so in the log
            self.chat.refresh_status()
            return
        name = clean(session.peer.nickname, single_line=True)
        self.show("codes do not match: do not trust this connection", "warning")
        body = Text(
            f"Someone may be intercepting this connection, or one of you misread the code.\n\n"
            f"Disconnect from {name} and forget its key? If it connects again, you are asked "
            "whether to trust it, as for a new peer."
        )
        question = ConfirmScreen(
            "The codes do not match", body, "Disconnect and forget", "Keep chatting", default=False, warning=True
        )
        self.chat.app.push_screen(question, self._distrust_answered)

    def _distrust_answered(self, distrust: bool | None) -> None:
        session = self.host.session
        if distrust and session is not None:
            session.distrust_peer()  # which says so in the log
        self.chat.refresh_status()

    def _command_invite(self, session: SessionAPI, command: commands.Command) -> None:
        self.chat.run_worker(self._show_invite(session), exit_on_error=False, group="invite")

    async def _show_invite(self, session: SessionAPI) -> None:
        try:
            offer = await session.invite()  # up to 5 s when the rendezvous server is away
        except ValueError as error:
            self.show(f"/invite: {error}", "error")
            return
        self.chat.app.copy_to_clipboard(offer.code or offer.line)
        where = f"p2pchat --connect, /connect or the connect screen; {SENT_TO_CLIPBOARD}"
        for text, level in invite_lines(offer, where):
            self.show(text, level)
