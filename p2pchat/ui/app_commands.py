"""What the app does with a typed line: a message, or a slash command.

A mixin of `ChatApp`. The session-level commands go through `p2pchat.dispatch`, shared with
plain mode (this mixin is its `FrontEnd`: it shows their lines in the log); the ones that
need the app's own screens or wording are here: help, quit, clear, /verify, /invite, /ping.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text

from p2pchat import commands, dispatch
from p2pchat.display import invite_lines
from p2pchat.session.events import TransferInfo
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.share import own_address
from p2pchat.ui.text import clean

OWN_COMMANDS = ("help", "quit", "clear")  # these work before the session has started


class AppCommands:
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
        if handler is None and name not in dispatch.SESSION_COMMANDS:
            self.log_view.add_system(f"/{command.name} is not available here", "error")
            return
        if name not in OWN_COMMANDS and self.session is None:
            self.log_view.add_system("the session has not started yet", "error")
            return
        if handler is not None:
            handler(command)
            return
        pending = dispatch.run(self, self.session, command)
        if pending is not None:  # it waits on the network: the keyboard does not
            self.run_worker(pending, exit_on_error=False, group=name)

    def _send(self, body: str, action: bool = False) -> None:
        if self.session is None:
            self.log_view.add_system("the session has not started yet", "error")
            return
        try:
            self.session.send_text(body, action=action)
        except Exception as error:  # the session refuses (too long, stopped...)
            self.log_view.add_system(f"not sent: {error}", "error")

    # -- what the shared commands say (dispatch.FrontEnd) -----------------------------------
    def show(self, text: str, level: str = "system") -> None:
        self.log_view.add_system(text, level)

    def offered(self, transfers: list[TransferInfo]) -> None:
        pass  # the transfers panel shows them at once

    def answered(self, transfer_id: int, done: str) -> None:
        self._close_offer_screen(transfer_id)
        self.log_view.add_system(f"{done} transfer #{transfer_id}")

    def renamed(self) -> None:
        self.settings = replace(self.settings, nickname=self.session.nickname)
        self._refresh_status()

    def more_info(self) -> list[str]:
        address = self._own_address()
        if not address:
            return []
        key = self._key_for("app.copy_address", "f3").upper()
        return [f"your address: {address} ({key} copies it; /invite makes a one-time line that also works through relays)"]

    def _own_address(self) -> str:
        session = self.session
        if session is None:
            return ""
        return own_address(session.listening_port, session.own_fingerprint, tls=self.settings.tls,
                           bind=self.settings.bind)

    # -- the app's own commands ---------------------------------------------------------------
    def _command_help(self, command: commands.Command) -> None:
        if command.args:
            self.log_view.add_system(commands.help_text(command.args[0]))
        else:
            self.action_help()

    def _command_quit(self, command: commands.Command) -> None:
        self.run_worker(self.action_quit(), group="quit")

    def _command_clear(self, command: commands.Command) -> None:
        self.log_view.clear()

    def _command_ping(self, command: commands.Command) -> None:
        if self.session.peer is not None:
            self._ping_sent = True
            self.log_view.add_system(f"ping sent to {self._peer_name()}")
        self.session.ping()  # without a peer the session says so

    def _command_verify(self, command: commands.Command) -> None:
        session = self.session
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

    def _command_invite(self, command: commands.Command) -> None:
        self.run_worker(self._show_invite(), exit_on_error=False, group="invite")

    async def _show_invite(self) -> None:
        try:
            offer = await self.session.invite()  # up to 5 s when the rendezvous server is away
        except ValueError as error:
            self.log_view.add_system(f"/invite: {error}", "error")
            return
        self.copy_to_clipboard(offer.code or offer.line)
        where = "p2pchat --connect, /connect or the connect screen; copied to the clipboard"
        for text, level in invite_lines(offer, where):
            self.log_view.add_system(text, level)
