"""The first screen when started without arguments: where to listen, whom to call, and
(when discoverable) who announces p2pchat on the local network, to pick with Enter."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from p2pchat.paths import get_paths
from p2pchat.session.events import LanPeer
from p2pchat.ui.text import clean

# Makes the connect screen's LAN watcher: given a callback for the peer list, an object with
# start() and async close().
LanFactory = Callable[[Callable[[list[LanPeer]], None]], Any]


def real_lan_factory(on_change: Callable[[list[LanPeer]], None]) -> Any:
    # Imported here, once the connect screen is up: the first frame does not wait for them.
    from p2pchat.identity import IdentityError, KnownPeers
    from p2pchat.reach.lan import LanPeers

    try:
        known = KnownPeers.load(get_paths().known_peers_file)
    except IdentityError:
        known = None
    return LanPeers("", lambda fp: known is not None and known.get(fp) is not None, on_change)


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
    port_explicit: bool = False  # typed by the user: a taken port is an error, not moved


def dialog_width(columns: int) -> int:
    """72 columns at 80 and below (the whole terminal when narrower), growing with the
    terminal up to 110, so a long address or invite line wraps less on a wide one."""
    return min(columns, max(72, min(110, columns * 9 // 10)))


# (placeholder, hint) of the peer field, with and without a mailbox server for codes
PEER_FIELD = {
    True: ("a code, HOST:PORT, p2pchat://… or an invite line", "e.g. 7-crossover-clockwork; empty: wait for a call"),
    False: ("HOST:PORT, p2pchat://… or an invite line", "empty: wait for a call"),
}
LAN_LOOK_SECONDS = 3.0  # mDNS answers within a second on a LAN; then "nobody found" is true


ADDRESS_LATER = Text("Your address for your peer is shown once p2pchat listens.", style="dim")


class ConnectScreen(ModalScreen[ConnectChoice | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Quit p2pchat", id="connect.quit")]

    def __init__(
        self,
        *,
        port: int,
        port_explicit: bool = False,
        peer: str | None,
        nickname: str,
        error: str = "",
        lan_factory: LanFactory | None = None,
        codes: bool = True,
    ) -> None:
        super().__init__()
        self._codes = codes  # a mailbox server is set: short codes work
        self._port = port
        self._port_explicit = port_explicit
        self._peer = peer or ""
        self._nickname = nickname
        self._error = error  # why the last start failed
        self._lan_factory = lan_factory  # None: not discoverable, no LAN list
        self._show_lan = lan_factory is not None  # list who announces p2pchat on the LAN
        self._lan_watch: Any = None  # watching the LAN while the screen is up
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
                yield PeerInput(self._peer, id="connect-peer", placeholder=PEER_FIELD[self._codes][0], compact=True)
            yield Label(PEER_FIELD[self._codes][1], id="connect-help", classes="connect-help")
            with Horizontal(classes="connect-row"):
                yield Label("Your nickname", classes="connect-label")
                yield Input(self._nickname, id="connect-nick", max_length=32, compact=True)
            if self._show_lan:  # kept compact: with it the dialog still fits 80x24
                yield Static("On this network: looking...", id="connect-lan-title")
                yield OptionList(id="connect-lan", classes="hidden", compact=True)
            # No address yet: the port may be taken, and another one picked when listening.
            yield Static(ADDRESS_LATER, id="connect-address")
            yield Static(self._error, id="connect-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect", id="connect-go", variant="primary", compact=self._show_lan)
                yield Button("Quit (Esc)", id="connect-quit", compact=self._show_lan)
            yield Static("Enter connects, or waits for a call. Esc quits p2pchat.", classes="dialog-hint")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "input_cursor_blink", True)
        self.query_one("#connect-peer", Input).focus()
        self._fit(self.app.size.width)
        if self._show_lan:
            # After the first frame: watching the LAN brings the identity and network modules.
            self.call_after_refresh(self._watch_lan)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, columns: int) -> None:
        self.query_one("#connect-dialog").styles.width = dialog_width(columns)

    def _watch_lan(self) -> None:
        if self._lan_factory is not None and self._lan_watch is None and self.is_current:
            def on_change(peers: list[LanPeer]) -> None:
                self.call_later(self.show_lan_peers, peers)

            self._lan_watch = self._lan_factory(on_change)
            self._lan_watch.start()
            self.set_timer(LAN_LOOK_SECONDS, self._looked_around)

    def _looked_around(self) -> None:
        if not self._lan_peers and self.is_attached:
            self.query_one("#connect-lan-title", Static).update("On this network: nobody found so far")

    def _finish(self, choice: ConnectChoice | None) -> None:
        """Stop watching the LAN (the session does it from now on), then answer."""
        watch, self._lan_watch = self._lan_watch, None
        if watch is not None:  # run by the app: this screen's workers end with it
            self.app.run_worker(watch.close(), exit_on_error=False, group="lan-watch")
        self.dismiss(choice)

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
        port = int(port_text)
        # The port offered is a default that moves when taken, as on the command line; one
        # the user typed is meant and fails clearly.
        return ConnectChoice(port, peer, nickname, port_explicit=self._port_explicit or port != self._port)

    def show_lan_peers(self, peers: list[LanPeer]) -> None:
        """The p2pchat users the LAN announces now (nicknames are the peers' text: cleaned)."""
        if not self._show_lan:
            return
        try:
            listing = self.query_one("#connect-lan", OptionList)
        except NoMatches:  # the screen closed while the LAN answered
            return
        self._lan_peers = list(peers)
        was = listing.highlighted
        listing.clear_options()
        listing.add_options([
            Option(Text(f"{clean(p.nickname, single_line=True)}  {p.short_fingerprint}  "
                        f"{'known' if p.known else 'new'}  {p.host}:{p.port}"))
            for p in peers
        ])
        if peers:  # one is always picked: Tab into the list, then Enter, dials it
            listing.highlighted = min(was or 0, len(peers) - 1)
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
            self._finish(None)

    def _submit(self) -> None:
        choice = self._choice()
        if choice is not None:
            self._finish(choice)

    def action_dismiss_none(self) -> None:
        self._finish(None)
