"""A yes/no question, used for comparing the short verification code."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "no", "No", id="confirm.no")]

    def __init__(
        self, title: str, body: Text, yes: str = "Yes", no: str = "No", *, default: bool = True
    ) -> None:
        super().__init__(classes="confirm-screen")
        self._default = default  # the answer Enter gives: the safe one where it matters
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title")
            yield Static(self._body)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._yes, id="confirm-yes", variant="success")
                yield Button(self._no, id="confirm-no", variant="error")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes" if self._default else "#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_no(self) -> None:
        self.dismiss(False)
