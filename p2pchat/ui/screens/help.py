"""Commands and keys, in a scrollable modal."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_lines(bindings: list, keymap: dict[str, str], where: str = "") -> list[tuple[str, str]]:
    """(keys, what they do) for each binding with a description, as remapped; `where` says
    where the keys work ("in the message box")."""
    lines = []
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            keys = keymap.get(binding.id or "", binding.key).replace(",", " / ")
            lines.append((keys, f"{binding.description}{where}"))
    return lines


def two_columns(rows: list[tuple[str, str]]) -> Table:
    """Names left, what they do right; a long description wraps within its own column."""
    table = Table.grid(padding=(0, 2), pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for name, description in rows:
        table.add_row(Text(name), Text(description))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,f1", "close", "Close", id="help.close"),
    ]

    def __init__(self, commands: list[tuple[str, str]], keys: list[tuple[str, str]]) -> None:
        super().__init__(id="help-screen")
        self._commands = commands  # (usage, what it does)
        self._keys = keys

    def compose(self) -> ComposeResult:
        keys = Text()
        width = max((len(key) for key, _ in self._keys), default=0) + 2
        for key, description in self._keys:
            keys.append(f"  {key:<{width}}", style="bold")
            keys.append(f"{description}\n")
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static("Help  (Esc closes)", classes="dialog-title")
            with VerticalScroll():
                yield Static(two_columns(self._commands), id="help-commands")
                yield Static(Text("Keys", style="bold"))
                yield Static(keys, id="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)
