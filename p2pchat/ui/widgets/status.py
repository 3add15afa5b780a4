"""Title and status lines, built from the session's state as plain `Text`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.style import StyleType
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from p2pchat.ui.text import clean, shorten_middle

STATUS_NAME_WIDTH = 20


@dataclass
class StatusSnapshot:
    """What the status bar shows; the app fills it from the session and events."""

    state: str = "idle"
    nickname: str = ""
    peer_nickname: str = ""
    peer_address: str = ""
    encrypted: bool | None = None  # None: no peer
    verified: bool = False
    short_fingerprint: str = ""
    rtt_ms: float | None = None
    route: str = ""  # "direct" or "via relay HOST:PORT"
    listening_port: int | None = None
    retry_in: float | None = None  # seconds until the next reconnect attempt


def title_text(nickname: str, peer_nickname: str, state: str) -> Text:
    text = Text("p2pchat  ", style="bold")
    text.append(clean(nickname, single_line=True), style="bold")
    if peer_nickname:
        text.append("  ↔  ")
        text.append(clean(peer_nickname, single_line=True), style="bold")
    else:
        text.append(f"  (no peer: {state})")
    return text


def status_text(
    status: StatusSnapshot,
    style: Callable[[str], StyleType] = lambda name: "",
    width: int | None = None,
) -> Text:
    """`style` maps a name (encrypted, unencrypted, verified, unverified) to a style.

    Designed for 80 columns: when `width` is too small the least useful part goes first
    (a direct path, the peer's address, the fingerprint, the port, verified or not; with an
    encrypted peer the port goes before its fingerprint); the state,
    the peer's name, encryption and the round trip stay.
    """
    # (rank, part): a higher rank is dropped earlier; rank 0 always stays.
    parts: list[tuple[int, Text]] = []
    state = status.state
    if state == "reconnecting" and status.retry_in is not None:
        state = f"reconnecting in {max(0, round(status.retry_in))} s"
    parts.append((0, Text(state, style="bold")))
    if status.peer_nickname or status.peer_address:
        # Shortened: a 32-character name would push "unverified" off a narrow bar (the title
        # line above shows it whole).
        nickname = shorten_middle(clean(status.peer_nickname, single_line=True), STATUS_NAME_WIDTH)
        # Through a relay, the address is the relay's, not the peer's: not shown.
        address = "" if status.route.startswith("via") else clean(status.peer_address, single_line=True)
        if address:
            parts.append((8, Text(f"{nickname} @ {address}" if nickname else address)))
        if nickname:
            parts.append((1, Text(nickname)))  # stands in when the address is dropped
    if status.encrypted is not None:
        if status.encrypted:
            parts.append((0, Text("ENCRYPTED", style=style("encrypted"))))
        else:
            parts.append((0, Text("UNENCRYPTED", style=style("unencrypted"))))
        parts.append(
            (4, Text("verified", style=style("verified")))
            if status.verified
            else (4, Text("unverified", style=style("unverified")))
        )
        if status.short_fingerprint:
            parts.append((6, Text(clean(status.short_fingerprint, single_line=True))))
    if status.route and status.encrypted is not None:
        # "direct" is the usual case and goes first; a relay carrying the chat is worth keeping.
        relayed = status.route != "direct"
        parts.append((3 if relayed else 9, Text(clean(status.route, single_line=True))))
    if status.rtt_ms is not None:
        parts.append((2, Text(f"RTT {status.rtt_ms:.0f} ms")))
    if status.listening_port is not None:
        parts.append((7 if status.encrypted else 5, Text(f"port {status.listening_port}")))

    def joined(kept: list[tuple[int, Text]]) -> Text:
        # The nickname alone is shown only when the part with the address is gone.
        with_address = any(rank == 8 for rank, _ in kept)
        shown = [text for rank, text in kept if not (rank == 1 and with_address)]
        return Text(" │ ").join(shown)

    kept = parts
    while width is not None and joined(kept).cell_len > width:
        highest = max(rank for rank, _ in kept)
        if highest == 0:
            break
        kept = [(rank, text) for rank, text in kept if rank != highest]
    text = joined(kept)
    if width is not None:
        text.truncate(width, overflow="ellipsis")
    return text


class StatusBar(Widget):
    COMPONENT_CLASSES = {
        "status-bar--encrypted",
        "status-bar--unencrypted",
        "status-bar--verified",
        "status-bar--unverified",
    }

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._status = StatusSnapshot()

    def show(self, status: StatusSnapshot) -> None:
        self._status = StatusSnapshot(**vars(status))  # a copy: the app keeps changing its own
        self.refresh()

    def render(self) -> Text:
        return status_text(
            self._status,
            lambda name: self.get_component_rich_style(f"status-bar--{name}"),
            self.content_size.width or None,
        )


class TitleBar(Static):
    def show(self, nickname: str, peer_nickname: str, state: str) -> None:
        self.update(title_text(nickname, peer_nickname, state))
