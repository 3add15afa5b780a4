"""A long session in the app: what it keeps per message is bounded, what is on screen stays."""

from __future__ import annotations

import re

from app_harness import Harness
from fake_session import FIXED_TIME
from screen_text import screen_text

from p2pchat.session.events import ChatMessage, MessageReceived
from p2pchat.ui.widgets.chat_input import INPUT_HISTORY

SIZE = (100, 30)


def shown(harness: Harness) -> list[str]:
    """The messages on screen (the scrollbar beside them moves as lines arrive)."""
    return re.findall(r"bob: line \d+", screen_text(harness.app))


def incoming(number: int) -> MessageReceived:
    return MessageReceived(ChatMessage(f"p{number}", "bob", f"line {number}", FIXED_TIME, False))


async def test_arrivals_while_scrolled_up_leave_the_view_alone_and_memory_bounded(tmp_path):
    harness = Harness(tmp_path, settings={"scrollback": 100})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for number in range(150):
            harness.fake.emit(incoming(number))
        await pilot.pause()
        log = harness.app.log_view
        assert len(log.entries) <= 100 + 100 // 8
        log.focus()
        await pilot.press("pageup")
        await pilot.pause()
        before = shown(harness)
        assert before and "line 149" not in before
        for number in range(150, 450):
            harness.fake.emit(incoming(number))
            if number % 50 == 0:
                await pilot.pause()
        await pilot.pause()
        after = shown(harness)  # the lines being read stay put (a row went to "new messages below")
        assert len(after) >= len(before) - 1 and after == before[: len(after)]
        assert len(log.entries) <= 4 * 100
        await pilot.press("end")
        harness.fake.emit(incoming(450))
        await pilot.pause()
        assert len(log.entries) <= 100 + 100 // 8  # following again: back to the limit
        assert log.rendered_lines()[-1].endswith("bob: line 450")


async def test_the_input_keeps_the_latest_lines_for_up(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        field = harness.app.chat_input
        for number in range(INPUT_HISTORY + 100):
            field.remember(f"line {number}")
        assert len(field.history) == INPUT_HISTORY
        assert field.history[0] == "line 100"
        await pilot.press("up")
        assert field.value == f"line {INPUT_HISTORY + 99}"



def styles_drawn(log) -> set:
    return {segment.style for y in range(log.size.height) for segment in log.render_line(y)}


async def test_a_long_chat_draws_with_the_same_few_styles(tmp_path):
    # Textual keeps every style it turns into escape codes (16,384 of them, about 0.5 KB
    # each): a new style for each line would fill that as the chat goes on.
    harness = Harness(tmp_path, settings={"scrollback": 100})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = harness.app.log_view
        for number in range(100):
            harness.fake.emit(incoming(number))
        await pilot.pause()
        first = styles_drawn(log)
        later = set()
        for number in range(100, 1100):
            harness.fake.emit(incoming(number))
            if number % 50 == 0:
                await pilot.pause()
                later |= styles_drawn(log)
        await pilot.pause()
        assert "bob: line 1099" in shown(harness)
        assert later | styles_drawn(log) <= first
