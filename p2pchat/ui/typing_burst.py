"""Keys that come faster than they are handled (text pasted as keystrokes) are typed as one edit.

Some terminals and SSH setups paste by typing: every character arrives as a key. Textual
handles each key as a message of its own, twice: the app looks up the bindings for it and
forwards it, then the input rebuilds its value, posts `Changed` with a copy of the whole line,
measures the cursor over the line and scrolls. A key so costs time and memory in proportion to
the line, and a message queue is worked through without giving the event loop a turn, so a
long burst froze the screen and starved the connection's heartbeat.

Here the app takes the printable keys queued behind the one it handles and forwards them as
one `TypedText` to the focused widget when it `TakesTypedText`; such a widget inserts it in one
edit (one `Changed`, one redraw), and merges keys queued at it the same way. Anywhere else the
keys go one by one, as before: a burst changes how fast text lands, never what a key does.
"""

from __future__ import annotations

from collections.abc import Collection

from textual import events
from textual.app import App
from textual.keys import _character_to_key
from textual.message_pump import MessagePump, MessagePumpClosed


class TypedText(events.Event, bubble=False):
    """Printable keys, in order, for a widget that inserts them as one edit."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class TakesTypedText:
    """Marks a widget that handles `TypedText` exactly as it would handle those keys."""


def as_keys(text: str) -> list[events.Key]:
    """The key events that type `text`."""
    return [events.Key(_character_to_key(char), char) for char in text]


# Not printable to Python (format characters), but typed: they join emoji into one
# (a family, a flag with a sign) and shape scripts. Bidi controls stay out.
JOINERS = frozenset("\u200c\u200d")


def is_typed_character(message: object, *, from_terminal: bool = False) -> bool:
    """A printable key or a joiner; `from_terminal`: only one not yet handed on by the app (a
    key that a widget did not handle also comes back up to the app: that one is not typing)."""
    return (
        isinstance(message, events.Key)
        and (message.is_printable or message.character in JOINERS)
        and bool(message.character)
        and not (from_terminal and message.is_forwarded)
    )


def take_queued_characters(pump: MessagePump, *, from_terminal: bool = False, stop_keys: Collection[str] = ()) -> str:
    """The text of the printable keys (and `TypedText`) waiting at the head of `pump`'s message
    queue, taken off the queue; the first other message (or a key in `stop_keys`) stays, so the
    order of everything else is kept.

    Textual 8 has no public way to look ahead in a queue: this uses the one its own message
    loop uses to merge replaceable messages (`_peek_message` and its pending slot).
    """
    taken: list[str] = []
    while True:
        try:
            message = pump._peek_message()
        except MessagePumpClosed:
            break
        if isinstance(message, TypedText) and not from_terminal:
            text = message.text
        elif is_typed_character(message, from_terminal=from_terminal):
            assert isinstance(message, events.Key) and message.character is not None
            if message.key in stop_keys:
                break
            text = message.character
        else:
            break
        pump._pending_message = None  # taken: the loop will not dispatch it
        pump._message_queue.task_done()
        taken.append(text)
    return "".join(taken)


def forward_typed_burst(app: App) -> None:
    """After the app handled a printable key from the terminal: the printable keys queued
    right behind it go to the focused widget as one `TypedText`, if it takes that."""
    target = app.focused
    if not isinstance(target, TakesTypedText):
        return
    try:
        head = app._peek_message()
    except MessagePumpClosed:
        return
    if not is_typed_character(head, from_terminal=True):
        return  # the usual case, nothing typed behind it: no need to build the binding chain
    text = take_queued_characters(app, from_terminal=True, stop_keys=_priority_keys(app))
    if text:
        target.post_message(TypedText(text))


def _priority_keys(app: App) -> set[str]:
    """Keys the app acts on before the focused widget sees them: these still go one by one."""
    return {
        key
        for _, bindings in app.screen._binding_chain
        for key, bound in bindings.key_to_bindings.items()
        if any(binding.priority for binding in bound)
    }
