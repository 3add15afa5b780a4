"""What the chat screen and the command runner need from the app that runs them.

A protocol rather than the app class: the screen and the runner stay importable (and
testable) without `ui.app`, which imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from p2pchat.session.api import SessionAPI
from p2pchat.settings import Settings


class ChatHost(Protocol):
    settings: Settings  # replaced when /nick takes or the connect screen answers
    session: SessionAPI | None  # None until it starts (or after it failed to)
    clock: Callable[[], float]
    terminal_focused: bool  # False while the terminal window is in the background
    keymap: dict[str, str]  # binding id -> keys, as the user remapped them

    def key_for(self, binding_id: str, default: str) -> str: ...  # the key after remapping

    def address_for(self, port: int) -> str: ...  # your address for your peer on that port
