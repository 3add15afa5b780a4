"""The input line: history recall, Tab completion; several lines go to the multi-line draft."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from pathlib import Path

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from p2pchat.ui.typing_burst import (
    TakesTypedText,
    TypedText,
    as_keys,
    is_typed_character,
    take_queued_characters,
)
from p2pchat.ui.widgets.key_order import run_own_binding


def complete_path(fragment: str) -> list[str]:
    """Completions for a file path fragment; directories end with a separator."""
    expanded = os.path.expanduser(fragment) if fragment else ""
    folder, _, stem = expanded.rpartition(os.sep)
    base = Path(folder or ("/" if expanded.startswith(os.sep) else "."))
    try:
        names = sorted(p.name for p in base.iterdir() if p.name.startswith(stem))
    except OSError:
        return []
    shown_folder = fragment[: len(fragment) - len(stem)]
    out = []
    for name in names:
        if name.startswith(".") and not stem.startswith("."):
            continue
        suffix = os.sep if (base / name).is_dir() else ""
        out.append(shown_folder + name + suffix)
    return out


def common_prefix(options: list[str]) -> str:
    return os.path.commonprefix(options) if options else ""


def split_last_argument(text: str) -> tuple[str, str]:
    """`/send a.txt "my fi` -> (`/send a.txt `, `my fi`): the head and the last argument unquoted.

    Quotes and backslashes are read as `/send` reads them; an unclosed quote is fine.
    """
    start, quote, value, escaped = 0, "", "", False
    for index, char in enumerate(text):
        if escaped:
            value, escaped = value + char, False
        elif quote:
            if char == quote:
                quote = ""
            else:
                value += char
        elif char == "\\" and os.name != "nt":
            escaped = True
        elif char in "'\"":
            quote = char
        elif char.isspace():
            start, value = index + 1, ""
        else:
            value += char
    return text[:start], value


def quote_path(path: str) -> str:
    """A path as `/send` reads it back: quoted only when it has spaces, quotes or backslashes."""
    return shlex.quote(path) if re.search(r"[\s'\"\\]", path) else path


INPUT_HISTORY = 1000  # lines Up can bring back; older ones are forgotten

class ChatInput(TakesTypedText, Input):
    """An `Input` that remembers what you sent and sends a multi-line paste whole."""

    BINDINGS = [
        Binding("up", "history_previous", "Your previous line", show=False, id="input.history_previous"),
        Binding("down", "history_next", "Your next line", show=False, id="input.history_next"),
        Binding("tab", "complete", "Complete a command", show=False, id="input.complete"),
        Binding("ctrl+j,shift+enter", "new_line", "New line", show=False, id="input.new_line"),
        Binding("end", "end", "End of line, then newest message", show=False, id="input.end"),
    ]

    class MultiLineDraft(Message):
        """Several lines to edit as one message (a paste, ctrl+j, or a recalled message)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class HandOver(Message):
        """For the multi-line draft: the keys typed here after the text went to it, in order."""

        def __init__(self, keys: list[events.Key]) -> None:
            super().__init__()
            self.keys = keys

    class ScrollToNewest(Message):
        """End pressed with the cursor already at the end of the line."""

    class Completions(Message):
        """Tab found several candidates; the app shows them."""

        def __init__(self, options: list[str]) -> None:
            super().__init__()
            self.options = options

    def __init__(
        self,
        *,
        complete_command: Callable[[str], list[str]] | None = None,
        placeholder: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, select_on_focus=False)
        self.history: list[str] = []
        self._history_index: int | None = None  # None: editing a fresh line
        self._draft = ""
        # Keys that arrive after this line handed itself to the multi-line draft but before
        # the draft has the focus: they follow the text there, in order.
        self._handing_over = False
        self._keys_for_draft: list[events.Key] = []
        self._complete_command = complete_command or (lambda prefix: [])

    # -- history ------------------------------------------------------------------
    def remember(self, line: str) -> None:
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
            del self.history[:-INPUT_HISTORY]
        self._history_index = None
        self._draft = ""

    def action_history_previous(self) -> None:
        if not self.history:
            return
        if self._history_index is None:
            self._draft = self.value
            self._history_index = len(self.history) - 1
        elif self._history_index > 0:
            self._history_index -= 1
        self._show(self.history[self._history_index])

    def action_history_next(self) -> None:
        if self._history_index is None:
            return
        if self._history_index < len(self.history) - 1:
            self._history_index += 1
            self._show(self.history[self._history_index])
        else:
            self._history_index = None
            self._show(self._draft)

    def _show(self, text: str) -> None:
        if "\n" in text:  # one line cannot show it: edit it as a multi-line draft
            self._hand_to_draft(text)
            return
        self.value = text
        self.cursor_position = len(text)

    def action_new_line(self) -> None:
        before = self.value[: self.cursor_position]
        after = self.value[self.cursor_position :]
        self._hand_to_draft(before + "\n" + after)

    def _hand_to_draft(self, text: str) -> None:
        self.value = ""
        self._handing_over = True
        self.post_message(self.MultiLineDraft(text))

    def _on_blur(self, event: events.Blur) -> None:
        if self._handing_over:
            # Every key the app sent here before the focus moved has arrived: hand them over.
            keys, self._keys_for_draft, self._handing_over = self._keys_for_draft, [], False
            self.post_message(self.HandOver([events.Key(key.key, key.character) for key in keys]))
        super()._on_blur(event)

    def _on_focus(self, event: events.Focus) -> None:
        self._handing_over, self._keys_for_draft = False, []  # typing here again: nothing pending
        super()._on_focus(event)

    def action_end(self, select: bool = False) -> None:
        """End moves to the end of the line; at the end already, it shows the newest messages."""
        if select:  # shift+end: select to the end, as in any input
            super().action_end(select=True)
            return
        if self.cursor_position < len(self.value):
            self.cursor_position = len(self.value)
        else:
            self.post_message(self.ScrollToNewest())

    async def _on_key(self, event: events.Key) -> None:
        if self._handing_over:
            event.stop()
            event.prevent_default()
            self._keys_for_draft.append(event)  # handed over when the draft takes the focus
            return
        # Enter and ctrl+j are handled in key order here: as bindings they would run only
        # after the keys typed behind them (a fast burst) had already landed on this line.
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.action_new_line()
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()
            return
        if is_typed_character(event) and ((burst := take_queued_characters(self)) or not event.is_printable):
            event.stop()  # keys typed faster than handled (a paste as keystrokes): one edit;
            event.prevent_default()  # and a joiner, which Textual's input would drop
            self._type(f"{event.character}{burst}")
            return
        if not await run_own_binding(self, event):
            await super()._on_key(event)

    def _on_typed_text(self, event: TypedText) -> None:
        if self._handing_over:  # handed over to the draft with the keys, as keys
            self._keys_for_draft.extend(as_keys(event.text))
            return
        self._type(event.text + take_queued_characters(self))

    def _type(self, text: str) -> None:
        self._restart_blink()
        self.replace(text, *self.selection)

    def _position_to_cell(self, position: int) -> int:
        # Textual splits the whole line at its tabs for every cursor move; without a tab
        # that work is the cell length alone, which matters on a line of many kilobytes.
        before = self.value[:position]
        return cell_len(before) if "\t" not in before else super()._position_to_cell(position)

    async def action_submit(self) -> None:
        # Cleared here, not when the app gets the line: keys typed right after Enter
        # belong to the next line, however fast they come.
        value = self.value
        self.value = ""
        self.post_message(self.Submitted(self, value))

    # -- completion ---------------------------------------------------------------
    def action_complete(self) -> None:
        value = self.value
        if not value.startswith("/"):
            return
        if " " not in value:
            options = [f"{name} " for name in self._complete_command(value)]
            head = ""
            fragment = value
        elif value.startswith("/send "):
            head, fragment = split_last_argument(value)
            options = complete_path(fragment)
        elif value.startswith("/connect ") and value.count(" ") == 1:
            from p2pchat.protocol.wormhole.code import complete_code  # not before the first frame

            head, fragment = "/connect ", value[len("/connect ") :]
            options = complete_code(fragment)  # the words of a code, as `wormhole receive` does
        else:
            return
        quote = quote_path if head.startswith("/send ") else str
        if not options:
            self.app.bell()
            return
        if len(options) == 1:
            self._show(head + quote(options[0]))
            return
        prefix = common_prefix(options)
        if len(prefix) > len(fragment):
            self._show(head + quote(prefix))
        if head.startswith("/send "):  # paths: the folder is on the input line already, list the names only
            options = [os.path.basename(o.rstrip(os.sep)) + o[len(o.rstrip(os.sep)) :] for o in options]
        elif head == "/connect ":  # code words: the number is on the input line already
            options = [o.rstrip("-").rpartition("-")[2] for o in options]
        self.post_message(self.Completions(options))

    # -- paste ----------------------------------------------------------------------
    def _on_paste(self, event: events.Paste) -> None:
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text.rstrip("\n"):
            return  # one line: the default handling inserts it at the cursor
        event.prevent_default()
        event.stop()
        before = self.value[: self.cursor_position]
        after = self.value[self.cursor_position :]
        self._hand_to_draft(before + text.rstrip("\n") + after)
