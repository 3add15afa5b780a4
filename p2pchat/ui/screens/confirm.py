"""A question with two buttons: comparing the short verification code, quitting mid-transfer.

Left and Right move between the buttons, Enter presses the focused one, Esc closes the
question unanswered (None); a hint under the buttons says so. A question that may open while
you type (`typing_below`) lets the typing go on in the message box: letters and Backspace go
there, and Enter sends what is written there instead of answering.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from p2pchat.ui.screens.typing_below import has_text, typing_target

KEY_NAMES = {"escape": "Esc"}


class ConfirmScreen(ModalScreen[bool | None]):
    AUTO_FOCUS = ""  # on_mount decides
    BINDINGS = [
        Binding("escape", "close", "Close", id="confirm.no"),
        Binding("left", "choose('#confirm-yes')", "Previous button", show=False),
        Binding("right", "choose('#confirm-no')", "Next button", show=False),
    ]

    def __init__(
        self,
        title: str,
        body: Text,
        yes: str = "Yes",
        no: str = "No",
        *,
        default: bool | None = True,
        typing_below: bool = False,
        warning: bool = False,
    ) -> None:
        super().__init__(classes="confirm-screen typing-below" if typing_below else "confirm-screen")
        # The answer Enter gives (the safe one where it matters), or None: nothing has the focus
        # until Left/Right, so a stray Enter in an empty message box answers nothing.
        self._default = default
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no
        self._typing_below = typing_below
        self._warning = warning
        # Keys passed to the message box and perhaps not yet applied there: an Enter in the
        # same burst must follow them, not answer (has_text cannot see them yet).
        self._typed_unsent = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog warning-dialog" if self._warning else "dialog"):
            yield Static(self._title, classes="dialog-title")
            yield Static(self._body)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._yes, id="confirm-yes", variant="error" if self._warning else "success")
                yield Button(self._no, id="confirm-no", variant="primary" if self._warning else "error")
            yield Static(self._hint(), id="confirm-hint", classes="dialog-hint")

    def _hint(self) -> str:
        keymap: dict[str, str] = getattr(self.app, "keymap", {})
        keys = [key.strip() for key in keymap.get("confirm.no", "escape").split(",")]
        close = " or ".join(KEY_NAMES.get(key, key) for key in keys)
        hint = f"←/→ choose · Enter answers · {close} closes"
        if self._default is None:
            hint = f"←/→ choose, then Enter answers · {close} closes"
        if self._typing_below:
            hint += "\nTyping goes on in the message box (Enter sends it)."
        return hint

    def on_mount(self) -> None:
        if self._default is not None:
            self.query_one("#confirm-yes" if self._default else "#confirm-no", Button).focus()

    def on_key(self, event: events.Key) -> None:
        # Runs before the buttons' Enter binding: a key typed for the message box stays there.
        if not self._typing_below or (target := typing_target(self)) is None:
            return
        typed = event.is_printable or event.key == "backspace"
        if typed or (event.key == "enter" and (self._typed_unsent or has_text(target))):
            self._typed_unsent = typed
            target.post_message(events.Key(event.key, event.character))
            event.stop()
            event.prevent_default()

    def action_choose(self, button: str) -> None:
        """Left picks the left button, Right the right one (there are two)."""
        self.query_one(button, Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_close(self) -> None:
        self.dismiss(None)
