"""Pilot tests of what a new user runs into: offers that wait, a log that behaves, 80 columns."""

from __future__ import annotations

from app_harness import Harness
from fake_session import FIXED_TIME
from screen_text import screen_lines, screen_text

from p2pchat.session.events import (
    ChatMessage,
    MessageReceived,
    TransferInfo,
    TransferOffered,
)
from p2pchat.ui.screens.offer import OfferScreen

SMALL = (80, 24)


def big_offer(transfer_id: int = 7) -> TransferInfo:
    return TransferInfo(transfer_id, "holiday.mkv", 300 * 2**20, "receive", "offered")


def answers(fake) -> list[tuple]:
    return [call for call in fake.calls if call[0] in ("accept", "decline")]


# -- an offer never takes the keyboard ------------------------------------------------------


async def test_an_offer_arriving_while_typing_keeps_the_keyboard_and_the_text(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        await pilot.press(*"ok m")
        harness.fake.emit(TransferOffered(big_offer()))
        await pilot.pause()
        await pilot.press(*"ate", "enter")
        await pilot.pause()
        assert answers(harness.fake) == []
        assert not isinstance(harness.app.screen, OfferScreen)
        assert ("send_text", "ok mate", False) in harness.fake.calls
        shown = screen_text(harness.app)
        assert "bob offers #7 holiday.mkv (300.0 MiB)" in shown
        assert "/accept" in shown  # says how to answer
        assert "offered" in shown  # the transfers panel has its row


async def test_the_offer_dialog_opens_only_when_asked(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.fake.emit(TransferOffered(big_offer()))
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(harness.app.screen, OfferScreen)
        await pilot.press("a")  # no single-letter accept
        await pilot.pause()
        assert answers(harness.fake) == []
        await pilot.press("escape")
        await pilot.pause()
        assert ("decline", 7) in harness.fake.calls


async def test_accept_command_answers_the_offer(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.emit(TransferOffered(big_offer()))
        await pilot.pause()
        pilot.app.chat_input.value = "/accept"
        await pilot.press("enter")
        await pilot.pause()
        assert ("accept", 7, None) in harness.fake.calls


# -- the log at 80x24 ---------------------------------------------------------------------------


def incoming(body: str, number: int) -> MessageReceived:
    return MessageReceived(ChatMessage(f"p{number}", "bob", body, FIXED_TIME, False))


async def test_a_full_log_shows_every_character_and_no_horizontal_scrollbar(harness: Harness):
    digits = "".join(str(n % 10) for n in range(199))
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        for number in range(40):
            harness.fake.emit(incoming(f"line {number}", number))
        harness.fake.emit(incoming(digits, 99))
        await pilot.pause()
        await pilot.pause()
        log = harness.app.log_view
        assert not log.show_horizontal_scrollbar
        shown = "".join(
            "".join(c for c in line if c.isdigit()) for line in screen_lines(harness.app)[-12:]
        )
        assert digits in shown


async def test_history_on_start_leaves_the_view_at_the_newest_line(harness: Harness):
    from p2pchat.session.events import HistoryLoaded

    messages = tuple(
        ChatMessage(f"h{n}", "bob", f"old message {n} " + "x" * (n % 90), FIXED_TIME, False)
        for n in range(300)
    )
    async with harness.app.run_test(size=SMALL) as pilot:
        harness.fake.emit(HistoryLoaded(messages))
        await pilot.pause()
        await pilot.pause()
        log = harness.app.log_view
        assert log.scroll_y == log.max_scroll_y and log.following
        assert "earlier messages above" in screen_text(harness.app)


async def test_end_while_typing_returns_to_the_newest_line(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        for number in range(60):
            harness.fake.emit(incoming(f"line {number}", number))
        await pilot.pause()
        log = harness.app.log_view
        await pilot.press("pageup")
        await pilot.pause()
        assert not log.following
        await pilot.press(*"draft")
        await pilot.press("end")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y
        assert harness.app.chat_input.value == "draft"


async def test_sending_jumps_to_the_newest_line(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        for number in range(60):
            harness.fake.emit(incoming(f"line {number}", number))
        await pilot.pause()
        log = harness.app.log_view
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        await pilot.press(*"back", "enter")
        await pilot.pause()
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y
