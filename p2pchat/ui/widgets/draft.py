"""A multi-line message being written: a paste with several lines, or ctrl+j in the input.

Enter sends the whole draft; ctrl+j (or shift+enter where the terminal reports it) adds
a line; Esc puts the draft aside into the input history, where Up finds it again.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from p2pchat.ui.typing_burst import TakesTypedText, TypedText, take_queued_characters

HELP = "Multi-line · Enter sends · ctrl+j or shift+enter: new line · Esc: put aside"
NEW_LINE_KEYS = ("ctrl+j", "shift+enter")


class DraftEditor(TakesTypedText, TextArea):
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
        if event.is_printable and not self.read_only and (burst := take_queued_characters(self)):
            event.stop()  # keys typed faster than handled (a paste as keystrokes): one edit
            event.prevent_default()
            self._type(f"{event.character}{burst}")
            return
        await super()._on_key(event)

    def _on_typed_text(self, event: TypedText) -> None:
        self._type(event.text + take_queued_characters(self))

    def _type(self, text: str) -> None:
        self._restart_blink()
        self._replace_via_keyboard(text, *self.selection)  # nothing when read-only, as a key
