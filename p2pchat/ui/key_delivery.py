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
from collections import deque
from typing import Any

from textual.driver import Driver
from textual.message import Message

# Messages posted to the app per turn of the event loop: the app handles what it is given
# without yielding, so this bounds how long a flood of keys (keys that each run a binding,
# say) holds up everything else on the loop, the connection's heartbeat included.
MESSAGES_PER_TURN = 2000


class BatchedKeyDelivery(Driver):
    """A driver mix-in: `send_message` from any thread, delivered in order, a batch per wake-up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox: deque[Message] = deque()
        self._inbox_lock = threading.Lock()

    def send_message(self, message: Message) -> None:
        with self._inbox_lock:
            self._inbox.append(message)
            if len(self._inbox) > 1:
                return  # a wake-up is on its way and takes this one too
        self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._inbox_lock:
            inbox = self._inbox
            batch = [inbox.popleft() for _ in range(min(len(inbox), MESSAGES_PER_TURN))]
            more = bool(inbox)
        for message in batch:
            self._app.post_message(message)
        if more:  # the rest after the app (and the network) had a turn
            self._loop.call_soon(self._deliver)
