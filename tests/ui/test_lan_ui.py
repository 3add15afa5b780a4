"""The local network in the full-screen app: the connect screen lists who announces p2pchat
(picking one dials it with its fingerprint pinned), and /peers lists and dials them too."""

from __future__ import annotations

from app_harness import Harness
from screen_text import screen_text
from textual.widgets import OptionList

from p2pchat.session.events import LanPeer
from p2pchat.ui.screens.connect import ConnectScreen

SIZE = (100, 30)
FP = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UMFRGGZDFMZTWQ2LKNNWA"
BOB = LanPeer("bob", FP, "MFRG-GZDF", "192.168.1.20", 8080, known=True)
EVIL = LanPeer("[red]eve\x1b[2J", "C" * 52, "CCCC-CCCC", "192.168.1.21", 8080, known=False)


class FakeLanWatch:
    def __init__(self, on_change) -> None:
        self.on_change = on_change
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True


async def test_the_connect_screen_lists_lan_peers_and_enter_dials_the_one_picked(tmp_path):
    watches: list[FakeLanWatch] = []

    def factory(on_change):
        watches.append(FakeLanWatch(on_change))
        return watches[-1]

    harness = Harness(tmp_path, settings={"discoverable": True}, show_connect_screen=True, lan_factory=factory)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = harness.app.screen
        assert isinstance(screen, ConnectScreen) and watches[0].started
        watches[0].on_change([BOB, EVIL])
        await pilot.pause()
        listing = screen.query_one("#connect-lan", OptionList)
        assert listing.option_count == 2
        assert str(listing.get_option_at_index(0).prompt) == "bob  MFRG-GZDF  known  192.168.1.20:8080"
        assert "\x1b" not in str(listing.get_option_at_index(1).prompt)  # the peer's text is cleaned
        listing.focus()  # as Tab does: the first entry is already picked
        await pilot.press("enter")
        await pilot.pause()
        assert harness.fake.settings.connect == f"p2pchat://192.168.1.20:8080/{FP}"
        assert watches[0].closed  # the session announces and browses from now on
        watches[0].on_change([EVIL])  # a late answer for the closed screen changes nothing
        await pilot.pause()
        assert harness.app.is_running


async def test_not_discoverable_the_connect_screen_has_no_lan_list(tmp_path):
    harness = Harness(tmp_path, show_connect_screen=True, lan_factory=lambda on_change: 1 / 0)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not harness.app.screen.query("#connect-lan")


async def test_slash_peers_lists_and_dials(tmp_path):
    harness = Harness(tmp_path, settings={"discoverable": True})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.app.handle_line("/peers")
        harness.fake.lan_peers = [BOB]
        harness.app.handle_line("/peers")
        harness.app.handle_line("/peers 1")
        harness.app.handle_line("/peers 7")
        await pilot.pause()
        text = screen_text(harness.app)
        assert "no other p2pchat announces itself on the local network" in text
        assert "1. bob (MFRG-GZDF, known) at 192.168.1.20:8080" in text
        assert "/peers: no peer number 7 on the local network: /peers lists them" in text
        assert ("connect", f"p2pchat://192.168.1.20:8080/{FP}") in harness.fake.calls
