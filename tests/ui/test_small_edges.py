"""Small edges of the app at the sizes people use: where toasts land, dialogs fit, texts wrap."""

from __future__ import annotations

from app_harness import Harness
from fake_session import FIXED_TIME
from textual.widgets._toast import Toast

from p2pchat.session.events import ChatMessage, MessageReceived


def overlaps(a, b) -> bool:
    return bool(a.intersection(b).area)


async def test_the_new_message_toast_covers_neither_the_input_nor_the_status(harness: Harness):
    async with harness.app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.app.terminal_focused = False  # in the background: a new message is announced
        harness.fake.emit(MessageReceived(ChatMessage("p1", "bob", "are you there?", FIXED_TIME, outgoing=False)))
        await pilot.pause(0.3)
        toasts = list(harness.app.screen.query(Toast))
        assert toasts, "no toast shown"
        screen = harness.app.screen
        for toast in toasts:
            for covered in ("#input", "#status"):
                assert not overlaps(toast.region, screen.query_one(covered).region), covered
