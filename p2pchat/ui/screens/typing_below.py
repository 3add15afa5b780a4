"""Where keys typed while a question is open belong: the message box under it."""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea


def typing_target(question: Screen) -> Widget | None:
    """The widget focused on the screen under `question` (the message box, or the draft)."""
    stack = question.app.screen_stack
    index = stack.index(question) if question in stack else 0
    return stack[index - 1].focused if index > 0 else None


def has_text(widget: Widget) -> bool:
    """Whether the message box (or draft) holds something Enter would send."""
    if isinstance(widget, Input):
        return bool(widget.value.strip())
    if isinstance(widget, TextArea):
        return bool(widget.text.strip())
    return False
