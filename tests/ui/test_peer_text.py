"""A peer's nickname is data: markup and control characters show literally in the title and
the status bar, never as styles, links or terminal escapes."""

from __future__ import annotations

from dataclasses import replace

from app_harness import Harness
from fake_session import BOB
from screen_text import screen_lines

from p2pchat.session.events import NickChanged
from p2pchat.ui.text import shorten_middle
from p2pchat.ui.widgets.status import STATUS_NAME_WIDTH

HOSTILE = "[b red]mal[/]\x1b]0;pwned\x07\x9b2J[link=https://x.example]l[/link]"
SHOWN = "[b red]mal[/]\\x1b]0;pwned\\x07\\x9b2J[link=https://x.example]l[/link]"
SHOWN_IN_STATUS = shorten_middle(SHOWN, STATUS_NAME_WIDTH)  # the title has room for it whole


def title_and_status(app) -> tuple[str, str]:
    """The screen rows the title bar and the status bar occupy, as the terminal shows them."""
    lines = screen_lines(app)
    return tuple(lines[app.query_one(name).region.y] for name in ("#title", "#status"))


async def shows_literally(harness: Harness, pilot) -> None:
    await pilot.pause()
    title, status = title_and_status(harness.app)
    assert SHOWN in title, title
    assert SHOWN_IN_STATUS in status, status
    for line in (title, status):
        assert not {"\x1b", "\x07", "\x9b"} & set(line)
    for widget_id, shown in (("#title", SHOWN), ("#status", SHOWN_IN_STATUS)):
        rendered = harness.app.query_one(widget_id).render()
        assert not any(span.style and "link" in str(span.style) for span in rendered.spans)
        assert shown in rendered.plain


async def test_hostile_nickname_on_connect(harness: Harness):
    async with harness.app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        harness.fake.connect_bob(replace(BOB, nickname=HOSTILE))
        await shows_literally(harness, pilot)


async def test_hostile_nickname_after_a_nick_change(harness: Harness):
    async with harness.app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        await pilot.pause()
        harness.fake._peer = replace(BOB, nickname=HOSTILE)
        harness.fake.emit(NickChanged("bob", HOSTILE, by_peer=True))
        await shows_literally(harness, pilot)
