"""Text that arrives as keystrokes (a paste in a terminal without bracketed paste): the keys
of a burst are typed into the message box as one edit, and each still does what it does alone.

A burst is posted to the app all at once, the way the terminal driver hands over what it read
while the app was busy. Counting the edits (each posts a `Changed` that holds a copy of the
whole line) bounds the work per key without timing anything.
"""

from __future__ import annotations

import asyncio
import threading

from app_harness import Harness
from fake_session import BOB
from textual import events
from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver
from textual.message import Message
from textual.widgets import Input, TextArea

from p2pchat.session.events import IdentityPrompt
from p2pchat.ui.key_delivery import MESSAGES_PER_TURN, BatchedKeyDelivery
from p2pchat.ui.screens.identity import IdentityScreen
from p2pchat.ui.typing_burst import as_keys
from p2pchat.ui.widgets.draft import DraftEditor

SIZE = (100, 30)
TEXT = "the quick brown fox jumps over the lazy dog; " * 25  # 1,125 keys


def burst(app: App, *parts: str | events.Key) -> None:
    """Post text (as its keys) and named keys to the app, all queued before it handles one."""
    for part in parts:
        for key in as_keys(part) if isinstance(part, str) else [part]:
            app.post_message(key)


class EditCounter:
    """The distinct `Changed` messages of inputs and text areas (a message is seen again at
    every widget it bubbles through)."""

    def __init__(self) -> None:
        self._seen: dict[int, Message] = {}

    def __call__(self, message: Message) -> None:
        if isinstance(message, (Input.Changed, TextArea.Changed)):
            self._seen[id(message)] = message

    @property
    def count(self) -> int:
        return len(self._seen)


async def test_a_burst_of_keys_is_one_edit_of_the_message_box(harness: Harness):
    edits = EditCounter()
    async with harness.app.run_test(size=SIZE, message_hook=edits) as pilot:
        await pilot.pause()
        before = edits.count
        burst(harness.app, TEXT)
        await pilot.pause()
        assert harness.app.chat_input.value == TEXT
        assert edits.count - before <= 2  # not one per key (1,125)


async def test_enter_in_a_burst_sends_what_came_before_it(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        await pilot.pause()
        burst(harness.app, "first line", events.Key("enter", "\r"), "second")
        await pilot.pause()
        assert [call[1] for call in harness.fake.calls if call[0] == "send_text"] == ["first line"]
        assert harness.app.chat_input.value == "second"


async def test_a_new_line_in_a_burst_takes_the_rest_to_the_draft(harness: Harness):
    edits = EditCounter()
    async with harness.app.run_test(size=SIZE, message_hook=edits) as pilot:
        await pilot.pause()
        burst(harness.app, "abc", events.Key("ctrl+j", "\n"), "def " * 100)
        await pilot.pause()
        draft = harness.app.query_one("#draft", DraftEditor)
        assert draft.text == "abc\n" + "def " * 100
        assert harness.app.chat_input.value == ""
        burst(harness.app, TEXT)
        before = edits.count
        await pilot.pause()
        assert draft.text == "abc\n" + "def " * 100 + TEXT
        assert edits.count - before <= 2


async def test_a_burst_while_the_new_peer_question_is_up_goes_on_into_the_message_box(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        burst(harness.app, "a" * 50, "d" * 50)  # the question's keys, but it has no focus
        await pilot.pause()
        assert isinstance(harness.app.screen, IdentityScreen)
        assert harness.app.chat_input.value == "a" * 50 + "d" * 50
        assert not [call for call in harness.fake.calls if call[0] == "answer_identity"]


class CountingDriver(BatchedKeyDelivery, HeadlessDriver):
    deliveries = 0

    def _deliver(self) -> None:
        type(self).deliveries += 1
        super()._deliver()


class KeyRecorder(App):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.keys.append(event.key)
        await super().on_event(event)


async def test_keys_from_the_input_thread_reach_the_app_in_order_a_batch_per_turn():
    app = KeyRecorder()
    async with app.run_test() as pilot:
        driver = CountingDriver(app, debug=False, mouse=False, size=(80, 24))
        sent = [f"f{n % 12 + 1}" for n in range(2 * MESSAGES_PER_TURN + 1)]

        def terminal() -> None:
            for key in sent:
                driver.send_message(events.Key(key, None))

        thread = threading.Thread(target=terminal)
        thread.start()
        thread.join()  # blocks the loop: all of it waits in the driver, as when the app is busy
        turns_between: list[int] = []
        asyncio.get_running_loop().call_soon(lambda: turns_between.append(CountingDriver.deliveries))
        while len(app.keys) < len(sent):
            await pilot.pause()
        assert app.keys == sent
        assert CountingDriver.deliveries == 3  # one wake-up, then two more turns: not one per key
        assert turns_between == [1]  # other work ran between the first batch and the next
