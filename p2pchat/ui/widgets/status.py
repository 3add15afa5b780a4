"""Title and status lines, built from the session's state as plain `Text`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.style import StyleType
from rich.text import Text
from textual.widgets import Static

from p2pchat.ui.text import clean


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
    status: StatusSnapshot, style: Callable[[str], StyleType] = lambda name: ""
) -> Text:
    """`style` maps a name (encrypted, unencrypted, verified, unverified) to a style."""
    parts: list[Text] = []
    state = status.state
    if state == "reconnecting" and status.retry_in is not None:
        state = f"reconnecting in {max(0, round(status.retry_in))} s"
    parts.append(Text(state, style="bold"))
    if status.peer_nickname or status.peer_address:
        peer = Text(clean(status.peer_nickname, single_line=True))
        if status.peer_address and not status.route.startswith("via"):  # a relay's is not the peer's
            peer.append(f" @ {clean(status.peer_address, single_line=True)}")
        parts.append(peer)
    if status.encrypted is not None:
        if status.encrypted:
            parts.append(Text("ENCRYPTED", style=style("encrypted")))
        else:
            parts.append(Text("UNENCRYPTED", style=style("unencrypted")))
        parts.append(
            Text("verified", style=style("verified"))
            if status.verified
            else Text("unverified", style=style("unverified"))
        )
        if status.short_fingerprint:
            parts.append(Text(clean(status.short_fingerprint, single_line=True)))
    if status.route and status.encrypted is not None:
        parts.append(Text(clean(status.route, single_line=True)))
    if status.rtt_ms is not None:
        parts.append(Text(f"RTT {status.rtt_ms:.0f} ms"))
    if status.listening_port is not None:
        parts.append(Text(f"port {status.listening_port}"))
    return Text(" │ ").join(parts)


class StatusBar(Static):
    COMPONENT_CLASSES = {
        "status-bar--encrypted",
        "status-bar--unencrypted",
        "status-bar--verified",
        "status-bar--unverified",
    }

    def show(self, status: StatusSnapshot) -> None:
        self.update(
            status_text(status, lambda name: self.get_component_rich_style(f"status-bar--{name}"))
        )


class TitleBar(Static):
    def show(self, nickname: str, peer_nickname: str, state: str) -> None:
        self.update(title_text(nickname, peer_nickname, state))
