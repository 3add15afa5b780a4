"""Keys from the terminal reach the app in batches: one hop to the event loop per batch.

Textual's driver reads the terminal on a thread of its own and hands every key to the event
loop as a coroutine of its own (`run_coroutine_threadsafe`: a task, two futures and a wake-up
of the loop per key). Typing is a few keys a second, but text that arrives as keystrokes (a
paste in a terminal without bracketed paste) is thousands: that hand-over alone then cost more
than the keys' handling. Here the thread appends to a list and wakes the loop once; the loop
posts everything that came meanwhile, in order.
"""

from __future__ import annotations

import threading
from typing import Any

from textual.driver import Driver
from textual.message import Message


class BatchedKeyDelivery(Driver):
    """A driver mix-in: `send_message` from any thread, delivered in order, a batch per wake-up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox: list[Message] = []
        self._inbox_lock = threading.Lock()

    def send_message(self, message: Message) -> None:
        with self._inbox_lock:
            self._inbox.append(message)
            if len(self._inbox) > 1:
                return  # a wake-up is on its way and takes this one too
        self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._inbox_lock:
            batch, self._inbox = self._inbox, []
        for message in batch:
            self._app.post_message(message)
