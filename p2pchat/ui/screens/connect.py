"""The first screen when started without arguments: where to listen, whom to call, and
(when discoverable) who announces p2pchat on the local network, to pick with Enter."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from p2pchat.session.events import LanPeer
from p2pchat.ui.text import clean


class PeerInput(Input):
    """The peer field: Tab completes the words of a code (as `wormhole receive` does), and moves
    on to the next field otherwise."""

    BINDINGS = [Binding("tab", "complete_code", "Complete the code", show=False, id="connect.complete_code")]

    def _options(self) -> list[str]:
        from p2pchat.protocol.wormhole.code import complete_code  # not before the first frame

        return complete_code(self.value.strip()) if self.cursor_at_end else []

    def action_complete_code(self) -> None:
        options = self._options()
        if not options:
            self.screen.focus_next()  # what Tab does elsewhere
            return
        prefix = os.path.commonprefix(options)
        self.value = prefix if len(options) == 1 or len(prefix) > len(self.value.strip()) else self.value
        self.cursor_position = len(self.value)
        if len(options) > 1:
            words = " ".join(o.rstrip("-").rpartition("-")[2] for o in options[:12])
            self.screen.query_one("#connect-help", Label).update(f"{words}{' …' if len(options) > 12 else ''}")


@dataclass(frozen=True)
class ConnectChoice:
    port: int
    peer: str | None  # None: only listen and wait
    nickname: str


class ConnectScreen(ModalScreen[ConnectChoice | None]):
    BINDINGS = [
        Binding("escape", "dismiss_none", "Quit p2pchat", id="connect.quit"),
        Binding("f3", "copy_address", "Copy your address", id="connect.copy_address"),
    ]

    def __init__(
        self,
        *,
        port: int,
        peer: str | None,
        nickname: str,
        address_for: Callable[[int], str] = lambda port: "",
        error: str = "",
        show_lan: bool = False,
    ) -> None:
        super().__init__()
        self._port = port
        self._peer = peer or ""
        self._nickname = nickname
        self._address_for = address_for  # port -> your address for your peer ("" if unknown)
        self._error = error  # why the last start failed
        self.address = ""
        self._show_lan = show_lan  # list who announces p2pchat on the LAN
        self._lan_peers: list[LanPeer] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="connect-dialog", classes="dialog"):
            yield Static("Start a chat", classes="dialog-title")
            # Compact fields, one row each: the whole dialog fits an 80x24 terminal.
            with Horizontal(classes="connect-row"):
                yield Label("Listen on port", classes="connect-label")
                yield Input(str(self._port), id="connect-port", type="integer", compact=True)
            with Horizontal(classes="connect-row"):
                yield Label("Peer", classes="connect-label")
                yield PeerInput(self._peer, id="connect-peer", placeholder="a code, HOST:PORT, p2pchat://… or an invite line",
                                compact=True)
            yield Label("e.g. 7-crossover-clockwork; empty: wait for a call", id="connect-help", classes="connect-help")
            with Horizontal(classes="connect-row"):
                yield Label("Your nickname", classes="connect-label")
                yield Input(self._nickname, id="connect-nick", max_length=32, compact=True)
            if self._show_lan:  # kept compact: with it the dialog still fits 80x24
                yield Static("On this network: looking...", id="connect-lan-title")
                yield OptionList(id="connect-lan", classes="hidden", compact=True)
            yield Static("", id="connect-address")
            yield Static(self._error, id="connect-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect", id="connect-go", variant="primary", compact=self._show_lan)
                yield Button("Quit (Esc)", id="connect-quit", compact=self._show_lan)
            yield Static("Enter connects, or waits for a call. Esc quits p2pchat.", classes="dialog-hint")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "input_cursor_blink", True)
        self.query_one("#connect-peer", Input).focus()
        # After the first frame: the address needs the identity (and cryptography) loaded.
        self.call_after_refresh(self._show_address, str(self._port))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "connect-port":
            self._show_address(event.value.strip())

    def _show_address(self, port_text: str) -> None:
        port = int(port_text) if port_text.isdigit() and int(port_text) <= 65535 else 0
        self.address = self._address_for(port) if port else ""
        line = Text("Your address for your peer: ")
        if self.address:
            line.append(self.address, style="bold")
            line.append("  (F3 copies it)", style="dim")
        else:
            line.append("shown once a port is chosen", style="dim")
        self.query_one("#connect-address", Static).update(line)

    def _choice(self) -> ConnectChoice | None:
        error = self.query_one("#connect-error", Static)
        port_text = self.query_one("#connect-port", Input).value.strip()
        nickname = self.query_one("#connect-nick", Input).value.strip()
        peer = self.query_one("#connect-peer", Input).value.strip() or None
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            error.update("The port must be a number from 0 to 65535.")
            return None
        if not nickname:
            error.update("Please choose a nickname.")
            return None
        if peer is not None:
            from p2pchat.reach.target import (
                parse_target,  # the network stack, after the first frame
            )

            try:
                parse_target(peer)
            except ValueError as problem:
                error.update(Text(f"Peer: {problem}"))
                return None
        return ConnectChoice(int(port_text), peer, nickname)

    def show_lan_peers(self, peers: list[LanPeer]) -> None:
        """The p2pchat users the LAN announces now (nicknames are the peers' text: cleaned)."""
        if not self._show_lan:
            return
        try:
            listing = self.query_one("#connect-lan", OptionList)
        except NoMatches:  # the screen closed while the LAN answered
            return
        self._lan_peers = list(peers)
        listing.clear_options()
        listing.add_options([
            Option(Text(f"{clean(p.nickname, single_line=True)}  {p.short_fingerprint}  "
                        f"{'known' if p.known else 'new'}  {p.host}:{p.port}"))
            for p in peers
        ])
        listing.set_class(not peers, "hidden")
        self.query_one("#connect-lan-title", Static).update(
            "On this network (Enter connects, its fingerprint is checked):"
            if peers
            else "On this network: nobody else announces p2pchat"
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._lan_peers):
            self.query_one("#connect-peer", Input).value = self._lan_peers[event.option_index].address
            self._submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "connect-go":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        choice = self._choice()
        if choice is not None:
            self.dismiss(choice)

    def action_copy_address(self) -> None:
        if self.address:
            self.app.copy_to_clipboard(self.address)
            self.notify(self.address, title="Copied to the clipboard", markup=False)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
