"""A multi-line message being written: a paste with several lines, or ctrl+j in the input.

Enter sends the whole draft; ctrl+j (or shift+enter where the terminal reports it) adds
a line; Esc puts the draft aside into the input history, where Up finds it again.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from p2pchat.ui.typing_burst import (
    JOINERS,
    TakesTypedText,
    TypedText,
    as_keys,
    take_queued_characters,
)
from p2pchat.ui.widgets.key_order import run_own_binding

HELP = "Multi-line · Enter sends · ctrl+j or shift+enter: new line · Esc: put aside"
NEW_LINE_KEYS = ("ctrl+j", "shift+enter")
HAND_OVER_WAIT = 1.0  # seconds the draft holds keys for the message box's hand-over at most


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
        # Keys that reach the draft before the message box has handed over the ones typed
        # there earlier (a burst with ctrl+j in it): held, to follow those.
        self._held: list[events.Key] | None = None

    def begin(self, text: str, keys_follow: bool = False) -> None:
        """Edit `text`; `keys_follow`: the message box hands over keys typed after it."""
        self.text = text
        self.move_cursor(self.document.end)
        if keys_follow:
            self._held = []
            self.set_timer(HAND_OVER_WAIT, self._stop_holding)

    async def take_keys(self, keys: list[events.Key]) -> None:
        """The keys typed in the message box after it handed its text over: before any held."""
        held, self._held = self._held or [], None
        for key in [*keys, *held]:
            await self._on_key(key)

    async def _stop_holding(self) -> None:
        """The hand-over never came (the focus went elsewhere): what is held still counts."""
        if self._held is not None:
            held, self._held = self._held, None
            for key in held:
                await self._on_key(key)

    async def _on_key(self, event: events.Key) -> None:
        if self._held is not None:
            event.stop()
            event.prevent_default()
            self._held.append(event)
            return
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
        if event.character in JOINERS:  # not printable to TextArea, which would drop it
            event.stop()
            event.prevent_default()
            self._type(event.character)
            return
        if not await run_own_binding(self, event):
            await super()._on_key(event)

    def _on_typed_text(self, event: TypedText) -> None:
        # Keys from a burst, as one edit (not merged in _on_key: take_keys replays keys there).
        if self._held is not None:
            self._held.extend(as_keys(event.text))
            return
        self._type(event.text + take_queued_characters(self))

    def _type(self, text: str) -> None:
        self._restart_blink()
        self._replace_via_keyboard(text, *self.selection)  # nothing when read-only, as a key
