"""The footer, with shorter labels where the full ones would be cut off."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

SHORT_LABELS = {"send_file": "Send", "answer_offer": "Offer", "copy_address": "Address"}
SHORT_BELOW = 100  # columns: the full labels and the palette key need about this many
COMPACT_BELOW = 80  # and below this, no padding around the keys and no palette key either


class ChatFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._short = False

    def _wants_short(self) -> bool:
        return self.app.size.width < SHORT_BELOW

    def compose(self) -> ComposeResult:
        self._short = self._wants_short()
        self.compact = self.app.size.width < COMPACT_BELOW
        self.show_command_palette = not self.compact  # ctrl+p still opens it; F1 lists it
        for widget in super().compose():
            if self._short and isinstance(widget, FooterKey) and widget.action in SHORT_LABELS:
                widget.description = SHORT_LABELS[widget.action]
            yield widget

    def on_resize(self, _: events.Resize) -> None:
        if self._wants_short() != self._short or self.compact != (self.app.size.width < COMPACT_BELOW):
            self.refresh(recompose=True)
