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


@pytest.mark.parametrize(
    ("keys", "answered", "typed"),
    [
        (["tab", "a"], [True], ""),  # Tab reaches the question before the key behind it
        (["tab", "d"], [False], ""),
        (["tab", "tab", "a"], [], "a"),  # and back to typing: the A is typed, not an answer
    ],
)
async def test_a_burst_that_tabs_to_the_new_peer_question_answers_it_with_the_next_key(
    harness: Harness, keys, answered, typed
):
    from fake_session import BOB

    from p2pchat.session.events import IdentityPrompt
    from p2pchat.ui.screens.identity import IdentityScreen

    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        assert isinstance(pilot.app.screen, IdentityScreen)
        burst(pilot.app, keys)
        for _ in range(5):
            await pilot.pause()
        assert [c[1] for c in harness.fake.calls if c[0] == "answer_identity"] == answered
        assert pilot.app.chat_input.value == typed


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "in-a-burst"])
@pytest.mark.parametrize("where", ["message box", "draft"])
async def test_zero_width_joiners_typed_are_kept(harness: Harness, together, where):
    from p2pchat.ui.typing_burst import as_keys

    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji only with its joiners
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        if where == "draft":
            await pilot.press("o", "ctrl+j")
            await pilot.pause()
        for key in as_keys(family):
            pilot.app.post_message(key)
            if not together:
                await pilot.pause()
        for _ in range(5):
            await pilot.pause()
        if where == "draft":
            assert pilot.app.chat.query_one("#draft").text == "o\n" + family
        else:
            assert pilot.app.chat_input.value == family
