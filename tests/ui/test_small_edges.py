"""Small edges of the app at the sizes people use: where toasts land, dialogs fit, texts wrap."""

from __future__ import annotations

import re
from dataclasses import replace

from app_harness import Harness
from fake_session import BOB, FIXED_TIME
from screen_text import screen_lines, screen_text
from textual.widgets._toast import Toast

from p2pchat.session.events import ChatMessage, IdentityPrompt, MessageReceived, TransferUpdated
from p2pchat.ui.screens import connect


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


async def test_the_connect_dialog_grows_with_a_wide_terminal_and_fits_a_narrow_one(tmp_path):
    for size, width in (((120, 40), 108), ((80, 24), 72), ((60, 20), 60)):
        harness = Harness(tmp_path, show_connect_screen=True)
        async with harness.app.run_test(size=size) as pilot:
            await pilot.pause()
            assert harness.app.screen.query_one("#connect-dialog").region.width == width, size


def fingerprint_runs(app) -> list[str]:
    """The stretches of fingerprint (groups and dashes) on each screen line, top to bottom."""
    return [run for line in screen_lines(app) for run in re.findall(r"[A-Z2-7]{4}(?:-[A-Z2-7]+)*-?", line)]


async def test_at_60_columns_a_fingerprint_breaks_between_groups_only(tmp_path):
    peer = replace(BOB, fingerprint="NBSWY3DPEB3W64TMMQQQ2LKNNWG23TPONBSWY3DPEB3W64TMMQQQ")
    harness = Harness(tmp_path)
    async with harness.app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(peer, "unknown"))
        for _ in range(50):  # the question is drawn within a few frames; a loaded machine takes longer
            await pilot.pause(0.1)
            if runs := fingerprint_runs(harness.app):
                break
        assert len(runs) == 2, runs  # one fingerprint, on two lines
        assert runs[0].endswith("-") and all(len(group) == 4 for group in "".join(runs).rstrip("-").split("-"))
        assert "".join(runs).replace("-", "") == peer.fingerprint


async def test_help_wraps_a_long_description_under_itself(harness: Harness):
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        harness.app.chat_input.value = "/help"
        await pilot.press("enter")
        await pilot.pause(0.2)
        lines = screen_lines(harness.app)
        row = next(i for i, line in enumerate(lines) if "/verify" in line)
        column = lines[row].index("mark the peer verified")
        wrapped = lines[row + 1]
        if "/clear" not in wrapped:  # the description went on to a second line: under itself
            assert wrapped[:column].strip(" ▊▎│┃█▌▐") == "" and wrapped[column] != " ", wrapped


async def test_the_footer_labels_are_whole_at_80_and_at_60_columns(tmp_path):
    for size in ((80, 24), (60, 20)):
        harness = Harness(tmp_path)
        async with harness.app.run_test(size=size) as pilot:
            await pilot.pause()
            footer = screen_lines(harness.app)[-1]
            assert re.search(r"f2 Offer\b", footer) and re.search(r"f3 Address\b", footer), footer


async def test_the_connect_screen_suggests_a_code_only_with_a_mailbox_server(tmp_path):
    for rendezvous, suggested in (("", False), ("ws://127.0.0.1:4000/v1", True)):
        harness = Harness(tmp_path, settings={"rendezvous": rendezvous}, show_connect_screen=True)
        async with harness.app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = screen_text(harness.app)
            assert ("7-crossover-clockwork" in text) is suggested, text
            assert ("a code, HOST:PORT" in text) is suggested
            assert "empty: wait for a call" in text


async def test_the_lan_list_says_nobody_was_found_once_it_has_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(connect, "LAN_LOOK_SECONDS", 1.5)

    class Silent:  # a LAN where nobody announces p2pchat: no change ever reported
        def __init__(self, on_change) -> None:
            pass

        def start(self) -> None:
            pass

        async def close(self) -> None:
            pass

    harness = Harness(tmp_path, settings={"discoverable": True}, show_connect_screen=True, lan_factory=Silent)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        title = harness.app.screen.query_one("#connect-lan-title")
        assert str(title.content) == "On this network: looking..."
        await pilot.pause(3.0)
        assert str(title.content) == "On this network: nobody found so far"


async def send_notes(pilot, harness: Harness, tmp_path, *, connected: bool) -> None:
    """`/send notes.txt`, with bob connected or nobody."""
    (tmp_path / "notes.txt").write_text("hello")
    if connected:
        harness.fake.connect_bob()
    harness.app.chat_input.value = f"/send {tmp_path / 'notes.txt'}"
    await pilot.press("enter")
    await pilot.pause(0.3)


async def test_send_with_nobody_connected_says_so_in_the_log(harness: Harness, tmp_path):
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await send_notes(pilot, harness, tmp_path, connected=False)
        assert harness.app.log_view.entries[-1].body == (
            "offered #1 notes.txt (1000 B); no peer is connected: it goes out once one is")


async def test_your_own_offer_is_in_your_log_with_its_number(harness: Harness, tmp_path):
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await send_notes(pilot, harness, tmp_path, connected=True)
        assert any(entry.body.startswith("offered #1 notes.txt") for entry in harness.app.log_view.entries)


async def test_cancel_writes_one_line(harness: Harness, tmp_path):
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await send_notes(pilot, harness, tmp_path, connected=True)
        before = len(harness.app.log_view.entries)
        harness.app.chat_input.value = "/cancel 1"
        await pilot.press("enter")
        await pilot.pause()
        cancelled = replace(harness.fake.transfers[0], state="cancelled", reason="cancelled by you")
        harness.fake.emit(TransferUpdated(cancelled))
        await pilot.pause()
        assert [entry.body for entry in harness.app.log_view.entries[before:]] == ["#1 notes.txt cancelled by you"]


def test_snapshot_of_a_new_peer_at_60_by_20(snap_compare, tmp_path):
    """The fingerprint breaks between groups, never inside one."""
    harness = Harness(tmp_path)
    peer = replace(BOB, fingerprint="NBSWY3DPEB3W64TMMQQQ2LKNNWG23TPONBSWY3DPEB3W64TMMQQQ")

    async def run_before(pilot) -> None:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.fake.emit(IdentityPrompt(peer, "unknown"))
        await pilot.pause()

    assert snap_compare(harness.app, terminal_size=(60, 20), run_before=run_before)


def test_snapshot_of_a_chat_at_60_by_20(snap_compare, tmp_path):
    """Short footer labels, whole; the status bar keeps its key facts."""
    harness = Harness(tmp_path)

    async def run_before(pilot) -> None:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.fake.emit(MessageReceived(ChatMessage("p1", "bob", "hi from a small terminal", FIXED_TIME,
                                                      outgoing=False)))
        await pilot.pause()

    assert snap_compare(harness.app, terminal_size=(60, 20), run_before=run_before)


async def test_an_unknown_theme_is_named_in_the_log_and_the_default_is_used(tmp_path):
    harness = Harness(tmp_path, settings={"theme": "nonsense"})
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert harness.app.theme == "textual-dark"
        said = [e.body for e in harness.app.log_view.entries if "theme" in e.body]
        assert said and said[0].startswith("theme 'nonsense' is unknown, using textual-dark (themes: ")
        assert "nord" in said[0]


async def test_the_new_peer_question_leaves_the_message_box_in_view_on_a_short_terminal(tmp_path):
    from p2pchat.ui.screens.identity import IdentityScreen

    for width, height in ((60, 20), (80, 24), (100, 16)):
        harness = Harness(tmp_path)
        async with harness.app.run_test(size=(width, height)) as pilot:
            await pilot.pause()
            harness.fake.emit(IdentityPrompt(BOB, "unknown"))
            await pilot.pause()
            screen = harness.app.screen
            assert isinstance(screen, IdentityScreen)
            # message box (3 rows), status and keys stay visible under the question
            assert screen.query_one(".dialog").region.bottom <= height - 5, (width, height)
            assert screen.query_one("#identity-body").region.height > 0
            assert screen.query_one(".dialog-buttons").display == (height >= 24)  # mouse-only
