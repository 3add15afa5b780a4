"""A panel with one row per live transfer; hidden while there are none.

Each row is laid out for its width, 80 columns first: the state is always shown whole,
the name is shortened in the middle, and when space runs out the least useful field
goes first (byte counts, then the bar, then the speed; the time left stays longest).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.containers import Vertical
from textual.widget import Widget

from p2pchat.display import percent
from p2pchat.session.events import TransferInfo, TransferState
from p2pchat.ui.text import clean, human_bytes, human_duration, shorten_middle

ARROWS = {"send": "↑", "receive": "↓"}
STATE_WIDTH = max(len(state) for state in TransferState if state.live)
NAME_MIN = 16
BAR_MIN, BAR_MAX = 10, 30


def display_name(info: TransferInfo) -> str:
    name = clean(info.name, single_line=True)
    count = getattr(info, "file_count", 1)
    return f"{name} ({count} files)" if count > 1 else name


def transfer_fields(info: TransferInfo, answer_hint: str = "") -> dict[str, str]:
    """The optional figures of a row, most useful first."""
    moving = info.state == "active"
    waiting_for_you = info.state == "offered" and info.direction == "receive"
    fields = {
        "hint": answer_hint if waiting_for_you else "",
        "eta": human_duration(info.eta) if moving else "",
        "speed": f"{human_bytes(info.speed)}/s" if moving else "",
        "bar": "" if waiting_for_you else "bar",
        "bytes": f"{human_bytes(info.done)}/{human_bytes(info.size)}"
        if info.done
        else human_bytes(info.size),
    }
    return {key: value for key, value in fields.items() if value}


def transfer_row_text(
    info: TransferInfo,
    width: int,
    bar_style: str | Style = "",
    rest_style: str | Style = "",
    answer_hint: str = "",
) -> Text:
    head = f"#{info.id} {ARROWS.get(info.direction, '?')} "
    name = display_name(info)
    done = f"{percent(info.done, info.size):3d}%"  # an offer that resumes: what is here already
    fixed = len(head) + 1 + len(done) + 1 + STATE_WIDTH
    fields = transfer_fields(info, answer_hint)
    chosen: list[str] = []
    used = fixed + min(len(name), NAME_MIN)
    for key, value in fields.items():
        cost = 1 + (BAR_MIN if key == "bar" else len(value))
        if used + cost <= width:
            chosen.append(key)
            used += cost
    spare = width - used
    name_width = min(len(name), min(len(name), NAME_MIN) + spare)
    spare -= name_width - min(len(name), NAME_MIN)
    bar_width = min(BAR_MAX, BAR_MIN + max(spare, 0)) if "bar" in chosen else 0
    if "bar" in chosen:
        spare -= bar_width - BAR_MIN

    text = Text(head)
    text.append(shorten_middle(name, max(name_width, 1)).ljust(name_width), style="bold")
    text.append(" " * max(spare, 0))
    if "bar" in chosen:
        filled = round(bar_width * info.done / info.size) if info.size else 0
        text.append(" ")
        text.append("━" * filled, style=bar_style)
        text.append("─" * (bar_width - filled), style=rest_style)
    if "hint" in chosen:
        text.append(" " + fields["hint"], style="bold")
    text.append(" " + done)
    for key in ("bytes", "speed", "eta"):
        if key in chosen:
            text.append(" " + fields[key])
    text.append(" ")
    text.append(info.state.ljust(STATE_WIDTH), style="italic" if info.state == "interrupted" else "")
    return text


class TransferRow(Widget):
    """One transfer on one line: id, direction, name, bar, bytes, speed, time left, state."""

    COMPONENT_CLASSES = {"transfer-row--bar", "transfer-row--rest"}

    def __init__(self, info: TransferInfo, answer_hint: str = "") -> None:
        # No DOM id: a number can come back for a new transfer while its old row is going.
        super().__init__(classes="transfer-row")
        self.info = info
        self.answer_hint = answer_hint  # how to answer an offer, e.g. "F2 to answer"

    def show(self, info: TransferInfo) -> None:
        self.info = info
        self.refresh()

    def render(self) -> Text:
        return transfer_row_text(
            self.info,
            self.content_size.width or 80,
            self.get_component_rich_style("transfer-row--bar"),
            self.get_component_rich_style("transfer-row--rest"),
            self.answer_hint,
        )


class TransfersPanel(Vertical):
    def __init__(self, id: str | None = None, answer_hint: str = "") -> None:
        super().__init__(id=id)
        self.answer_hint = answer_hint
        self.display = False
        self.rows: dict[int, TransferRow] = {}

    def update_transfer(self, info: TransferInfo) -> None:
        row = self.rows.get(info.id)
        if info.state.final:
            if row is not None:
                del self.rows[info.id]
                row.remove()
        elif row is None:
            row = self.rows[info.id] = TransferRow(info, self.answer_hint)
            self.mount(row)
        else:
            row.show(info)
        self.display = bool(self.rows)
