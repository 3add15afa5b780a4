"""A multi-line message being written: a paste with several lines, or ctrl+j in the input.

Enter sends the whole draft; ctrl+j (or shift+enter where the terminal reports it) adds
a line; Esc puts the draft aside into the input history, where Up finds it again.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from p2pchat.ui.widgets.key_order import run_own_binding

HELP = "Multi-line · Enter sends · ctrl+j or shift+enter: new line · Esc: put aside"
NEW_LINE_KEYS = ("ctrl+j", "shift+enter")


class DraftEditor(TextArea):
    class Send(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PutAside(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, compact=True, tab_behavior="focus")

    def begin(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    async def _on_key(self, event: events.Key) -> None:
        if event.key in ("enter", "escape", *NEW_LINE_KEYS):
            event.stop()
            event.prevent_default()
            if event.key == "enter":
                self.post_message(self.Send(self.text))
            elif event.key == "escape":
                self.post_message(self.PutAside(self.text))
            else:
                self.insert("\n")
            return
        if not await run_own_binding(self, event):
            await super()._on_key(event)
