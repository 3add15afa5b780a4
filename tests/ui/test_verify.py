"""/verify over a real connection: the question keeps typed lines, and a mismatch offers to
disconnect and forget the peer."""

from __future__ import annotations

from real_peer import alice_app_and_bob, wait_until
from screen_text import screen_text
from textual import events

from p2pchat.identity.known import KnownPeers
from p2pchat.paths import get_paths
from p2pchat.session.events import Disconnected, MessageReceived
from p2pchat.ui.screens.confirm import ConfirmScreen


def burst(app, text: str) -> None:
    """Keys queued at once, as a fast typist's reach the app."""
    for char in text:
        key = {"\n": "enter", " ": "space"}.get(char, char)
        app.post_message(events.Key(key, None if char == "\n" else char))


def logged(app) -> str:
    return "\n".join(entry.body for entry in app.log_view.entries)


async def test_a_line_typed_right_after_verify_is_sent_not_taken_as_the_answer(tmp_path):
    async with alice_app_and_bob(tmp_path) as (app, pilot, bob):
        burst(app, "/verify\nsee you\n")
        await bob.events.wait_for(MessageReceived, lambda e: e.message.body == "see you")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        assert "codes do not match" not in logged(app)
        assert app.chat_input.value == ""
        # Nothing has the focus (a stray Enter answers nothing), the keys are on the question,
        # Left/Right choose.
        assert app.screen.focused is None
        shown = screen_text(app)
        assert "←/→ choose, then Enter answers · Esc closes" in shown
        assert "Typing goes on in the message box" in shown
        await pilot.press("enter")  # the message box is empty: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "codes do not match" not in logged(app)
        await pilot.press("left")
        assert app.screen.focused.id == "confirm-yes"
        await pilot.press("right")
        assert app.screen.focused.id == "confirm-no"
        await pilot.press("escape")  # closed unanswered: neither verified nor mismatched
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "codes do not match" not in logged(app) and not app.session.peer.verified


async def test_a_line_typed_in_one_burst_while_verify_is_open_is_sent_not_taken_as_the_answer(tmp_path):
    async with alice_app_and_bob(tmp_path) as (app, pilot, bob):
        burst(app, "/verify\n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        burst(app, "hi there\n")  # its Enter comes before the message box has the letters
        await bob.events.wait_for(MessageReceived, lambda e: e.message.body == "hi there")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)  # still open, unanswered
        assert "codes do not match" not in logged(app)
        assert app.chat_input.value == ""


async def test_codes_that_do_not_match_offer_to_disconnect_and_forget_the_peer(tmp_path):
    async with alice_app_and_bob(tmp_path) as (app, pilot, bob):
        bob_id = bob.session.own_fingerprint
        known = KnownPeers.load(get_paths().known_peers_file)
        assert known.get(bob_id) is not None
        app.chat_input.value = "/verify"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("right", "enter")  # "It does not"
        await wait_until(pilot, lambda: "The codes do not match" in screen_text(app))
        assert "codes do not match: do not trust this connection" in logged(app)
        assert app.screen.focused.id == "confirm-no"  # "Keep chatting": the step is deliberate
        await pilot.press("left", "enter")  # "Disconnect and forget"
        await wait_until(pilot, lambda: app.session.peer is None)
        gone = await bob.events.wait_for(Disconnected)
        assert gone.reason == "alice left (identity refused)" and not gone.will_reconnect
        assert KnownPeers.load(get_paths().known_peers_file).get(bob_id) is None
        assert "its key is forgotten" in logged(app)
        await pilot.pause(1.0)  # bob, who dialed, does not call again
        assert app.session.peer is None and bob.session.state == "listening"
