"""The full-screen app with relays and invites: /invite, the path in the status bar, and
invites typed into the connect screen."""

from __future__ import annotations

from dataclasses import replace

from app_harness import Harness
from fake_session import BOB
from test_app import SIZE, type_line
from textual.widgets import Input

from p2pchat.session.events import RttMeasured
from p2pchat.ui.screens.connect import ConnectScreen


async def test_invite_command_shows_the_line(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, "/invite")
        await pilot.pause()
        assert ("invite",) in harness.fake.calls
        bodies = [entry.body for entry in harness.app.log_view.entries]
        assert bodies[-3].startswith("code: 7-crossover-clockwork  (your peer types it into p2pchat --connect")
        assert bodies[-1] == "p2pchat1fakeinvite"
        assert "good for one peer" in bodies[-2]


async def test_status_bar_says_the_relay_and_round_trip(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.connect_bob(replace(BOB, address="203.0.113.9:4001", route="via relay 203.0.113.9:4001"))
        harness.fake._rtt_ms = 31.0
        harness.fake.emit(RttMeasured(31.0))
        await pilot.pause()
        text = str(harness.app.query_one("#status").render())
        assert "bob │ ENCRYPTED" in text and "@ 203.0.113.9" not in text
        assert "via relay 203.0.113.9:4001 │ RTT 31 ms" in text
        bodies = [entry.body for entry in harness.app.log_view.entries]
        assert "connected to bob via relay 203.0.113.9:4001 (encrypted)" in bodies  # not "at" the relay


async def test_connect_screen_checks_an_invite(tmp_path):
    harness = Harness(tmp_path, show_connect_screen=True)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = harness.app.screen
        assert isinstance(screen, ConnectScreen)
        screen.query_one("#connect-peer", Input).value = "p2pchat1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        await pilot.click("#connect-go")
        await pilot.pause()
        assert harness.sessions == []  # nothing started, nothing dialled
        assert "typo" in str(screen.query_one("#connect-error").render())


async def test_connect_screen_takes_a_code_and_tab_completes_its_words(tmp_path):
    # a mailbox server of its own (never contacted here): the screen then suggests a code
    harness = Harness(tmp_path, settings={"rendezvous": "ws://127.0.0.1:4000/v1"}, show_connect_screen=True)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = harness.app.screen
        assert "e.g. 7-crossover-clockwork; empty: wait for a call" in str(screen.query_one("#connect-help").render())
        field = screen.query_one("#connect-peer", Input)
        await pilot.press(*"7-crosso", "tab")
        assert field.value == "7-crossover-" and harness.app.focused is field
        await pilot.press(*"clockw", "tab")
        assert field.value == "7-crossover-clockwork"
        await pilot.press("tab")  # nothing left to complete: on to the next field
        await pilot.pause()
        assert harness.app.focused is not field
        field.value = "crossover-clockwork"
        await pilot.click("#connect-go")
        await pilot.pause()
        assert harness.sessions == []
        assert "is not a code" in str(screen.query_one("#connect-error").render())
        field.value = "7-crossover-clockwork"
        field.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert harness.fake.settings.connect == "7-crossover-clockwork"
