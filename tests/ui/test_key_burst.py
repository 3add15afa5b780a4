"""Keys that arrive in one burst (laggy SSH, a terminal flushing its buffer) keep their order."""

from __future__ import annotations

import pytest
from app_harness import Harness
from textual import events


def burst(app, keys: list[str]) -> None:
    """Queue every key at once, as a terminal read holding several keys does."""
    characters = {"space": " "}
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else characters.get(key)))


@pytest.mark.parametrize(
    ("keys", "typed"),
    [
        (["a", "b", "c", "backspace", "d", "e"], "abde"),
        (["a", "c", "left", "b"], "abc"),
        (["w", "o", "r", "l", "d", "home", "h", "i", "space"], "hi world"),
    ],
)
async def test_a_burst_of_keys_edits_the_message_box_in_order(harness: Harness, keys, typed):
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        burst(pilot.app, keys)
        for _ in range(5):
            await pilot.pause()
        assert pilot.app.chat_input.value == typed


async def test_a_burst_of_keys_edits_the_multi_line_draft_in_order(harness: Harness):
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("o", "n", "e", "ctrl+j")
        await pilot.pause()
        burst(pilot.app, ["t", "w", "x", "backspace", "o"])
        for _ in range(5):
            await pilot.pause()
        assert pilot.app.chat.query_one("#draft").text == "one\ntwo"
