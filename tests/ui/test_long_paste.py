"""A message too long for one message is kept, and goes to the peer as a file with one key."""

from __future__ import annotations

from real_peer import alice_app_and_bob, wait_until
from screen_text import screen_text
from textual import events

from p2pchat.paths import get_paths
from p2pchat.session.events import TransferUpdated
from p2pchat.ui.screens.confirm import ConfirmScreen
from tests.support.session import session_paths

PASTE = "".join(f"line {n}: {'x' * 60}\n" for n in range(3000))  # about 211 KB


async def test_a_long_paste_is_kept_and_sent_as_a_file_with_one_key(tmp_path):
    assert len(PASTE.encode()) > 200_000
    async with alice_app_and_bob(tmp_path, auto_accept_files=True) as (app, pilot, bob):
        draft = app.chat.query_one("#draft")
        app.post_message(events.Paste(PASTE))
        await wait_until(pilot, lambda: draft.display and draft.has_focus)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        shown = screen_text(app)
        assert "Too long for a message" in shown and "Send it as a file instead?" in shown
        await pilot.press("escape")  # keep editing: nothing is lost
        await pilot.pause()
        assert draft.display and draft.text == PASTE.rstrip("\n")
        assert not any("not sent" in entry.body for entry in app.log_view.entries)

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")  # "Send as a file" has the focus: one key
        done = await bob.events.wait_for(TransferUpdated, lambda e: e.transfer.state == "done", timeout=20)
        [saved] = get_paths().pastes_dir.glob("paste-*.txt")  # in the app's own folder
        assert saved.read_text(encoding="utf-8") == PASTE.rstrip("\n")
        received = session_paths(tmp_path / "bob").downloads_dir / done.transfer.name
        assert received.read_bytes() == saved.read_bytes()
        assert not draft.display and app.chat_input.value == ""


async def test_a_long_line_typed_is_kept_in_the_message_box(tmp_path):
    async with alice_app_and_bob(tmp_path) as (app, pilot, bob):
        line = "y" * 70_000
        app.chat_input.value = line
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await pilot.pause()
        assert app.chat_input.value == line
        assert app.session.unacked_count == 0 and not any("not sent" in e.body for e in app.log_view.entries)
