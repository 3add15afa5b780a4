"""Run a text field's own key bindings as its keys arrive, so a burst keeps its order.

Textual types a printable key into an `Input` or `TextArea` in the widget's own key handler,
but runs a bound key (Backspace, Left, ctrl+a...) only once the key event has bubbled up
through every ancestor's message queue to the app. Keys arriving in one burst (a fast typist
over SSH, a terminal flushing its buffer) then overtake it: `abc`, Backspace, `de` gave
`abcd`. See docs/upstream/textual-key-burst.md.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run `widget`'s binding for `event` now, as the app would later; True if there was one.

    Only the focused widget's own bindings (as remapped): a key bound higher up, or with
    priority (which the app already tried), takes Textual's usual way.
    """
    chain = widget.screen._binding_chain
    if not chain or chain[0][0] is not widget:
        return False
    for binding in chain[0][1].key_to_bindings.get(event.key, ()):
        if binding.priority:
            continue
        if await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return True
    return False  # an action that skipped (PageUp in a one-line input): the app's binding runs
