"""A panel with one row per live transfer; hidden while there are none."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

from p2pchat.session.events import TransferInfo, TransferState
from p2pchat.ui.text import clean, human_bytes, human_duration

LIVE_STATES = frozenset(state for state in TransferState if state.live)
ARROWS = {"send": "↑", "receive": "↓"}


def transfer_figures(info: TransferInfo) -> str:
    size = f"{human_bytes(info.done)}/{human_bytes(info.size)}"
    speed = f"{human_bytes(info.speed)}/s" if info.state == "active" else ""
    eta = human_duration(info.eta) if info.state == "active" else ""
    return "  ".join(part for part in (size, speed, eta) if part)


class TransferRow(Horizontal):
    """name, direction, bar, bytes, speed, ETA, state."""

    def __init__(self, info: TransferInfo) -> None:
        super().__init__(id=f"transfer-{info.id}", classes="transfer-row")
        self.info = info

    def compose(self) -> ComposeResult:
        info = self.info
        label = Text(f"#{info.id} {ARROWS.get(info.direction, '?')} ")
        label.append(clean(info.name, single_line=True))
        yield Label(label, classes="transfer-name")
        yield ProgressBar(total=max(info.size, 1), show_eta=False, classes="transfer-bar")
        yield Label(transfer_figures(info), classes="transfer-figures")
        yield Label(info.state, classes="transfer-state")

    def on_mount(self) -> None:
        self.show(self.info)

    def show(self, info: TransferInfo) -> None:
        self.info = info
        if not self.children:
            return  # not composed yet: on_mount shows the latest info
        self.query_one(ProgressBar).update(total=max(info.size, 1), progress=info.done)
        self.query_one(".transfer-figures", Label).update(transfer_figures(info))
        self.query_one(".transfer-state", Label).update(info.state)


class TransfersPanel(Vertical):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False
        self.rows: dict[int, TransferRow] = {}

    def update_transfer(self, info: TransferInfo) -> None:
        row = self.rows.get(info.id)
        if info.state not in LIVE_STATES:
            if row is not None:
                del self.rows[info.id]
                row.remove()
        elif row is None:
            row = self.rows[info.id] = TransferRow(info)
            self.mount(row)
        else:
            row.show(info)
        self.display = bool(self.rows)
