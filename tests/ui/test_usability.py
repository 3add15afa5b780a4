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


async def settle(pilot, condition) -> None:
    """Let the app lay out and scroll until `condition` holds (at most 50 rounds)."""
    for _ in range(50):
        if condition():
            return
        await pilot.pause(0.02)


def at_bottom(log) -> bool:
    return log.following and log.scroll_y == log.max_scroll_y


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
        row = next(line for line in screen_lines(harness.app) if line.startswith(" #7 ↓"))
        assert "holiday.mkv" in row and "F2 to answer" in row and "offered" in row


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
        log = harness.app.log_view
        await settle(pilot, lambda: log.entries and log.entries[-1].body == digits and at_bottom(log))
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
        await pilot.pause()  # the session starts after the first frame
        harness.fake.emit(HistoryLoaded(messages))
        log = harness.app.log_view
        await settle(pilot, lambda: len(log.entries) == 301 and at_bottom(log))
        assert log.scroll_y == log.max_scroll_y and log.following
        assert not log.show_horizontal_scrollbar
        lines = screen_lines(harness.app)
        input_top = next(n for n, line in enumerate(lines) if line.startswith("▊▔"))
        assert "earlier messages above" in lines[input_top - 1]  # the newest line, in view


async def page_up_through(pilot, harness: Harness, pages: int = 1):
    """Sixty lines from bob, then PageUp `pages` times: the log no longer follows."""
    for number in range(60):
        harness.fake.emit(incoming(f"line {number}", number))
    await pilot.pause()
    await pilot.press(*["pageup"] * pages)
    await pilot.pause()
    return harness.app.log_view


async def test_end_while_typing_returns_to_the_newest_line(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        log = await page_up_through(pilot, harness)
        assert not log.following
        await pilot.press(*"draft")
        await pilot.press("end")
        await settle(pilot, lambda: at_bottom(log))
        assert log.following and log.scroll_y == log.max_scroll_y
        assert harness.app.chat_input.value == "draft"


async def test_sending_jumps_to_the_newest_line(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        log = await page_up_through(pilot, harness, 2)
        await pilot.press(*"back", "enter")
        await settle(pilot, lambda: at_bottom(log))
        assert log.following and log.scroll_y == log.max_scroll_y


async def test_the_transfers_panel_opening_keeps_the_newest_lines_in_view(harness: Harness):
    from p2pchat.session.events import TransferUpdated

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        for number in range(40):
            harness.fake.emit(incoming(f"line {number}", number))
        await pilot.press(*"here it comes", "enter")
        log = harness.app.log_view
        await settle(pilot, lambda: at_bottom(log) and "here it comes" in screen_text(harness.app))
        harness.fake.emit(TransferUpdated(TransferInfo(1, "notes.txt", 12_000, "send", "waiting")))
        panel = harness.app.transfers_panel
        await settle(pilot, lambda: panel.display and panel.size.height > 0)
        await pilot.pause(0.1)
        assert "here it comes" in screen_text(harness.app)  # not hidden under the panel
        assert at_bottom(log)
        harness.fake.emit(incoming("got it", 99))
        await pilot.pause(0.1)
        shown = screen_text(harness.app)
        assert "here it comes" in shown and "got it" in shown


async def test_the_transfers_panel_opening_leaves_a_scrolled_up_log_where_it_is(harness: Harness):
    from p2pchat.session.events import TransferUpdated

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        log = await page_up_through(pilot, harness)
        where = log.scroll_y
        harness.fake.emit(TransferUpdated(TransferInfo(1, "notes.txt", 12_000, "send", "waiting")))
        panel = harness.app.transfers_panel
        await settle(pilot, lambda: panel.display and panel.size.height > 0)
        await pilot.pause(0.1)
        assert not log.following and log.scroll_y == where


# -- commands and dialogs say what they do ----------------------------------------------------------


async def test_ping_prints_its_answer_in_the_log(harness: Harness):
    from p2pchat.session.events import RttMeasured

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        pilot.app.chat_input.value = "/ping"
        await pilot.press("enter")
        await pilot.pause()
        harness.fake.emit(RttMeasured(12.4))
        await pilot.pause()
        bodies = [entry.body for entry in harness.app.log_view.entries]
        assert "ping sent to bob" in bodies and "round trip to bob: 12.4 ms" in bodies
        harness.fake.emit(RttMeasured(13.0))  # heartbeats are not printed
        await pilot.pause()
        assert not any("13.0" in entry.body for entry in harness.app.log_view.entries)


async def test_the_connect_screen_shows_why_the_start_failed_and_what_esc_does(
    tmp_path, monkeypatch
):
    from fake_session import FakeSession

    from p2pchat.ui.screens.connect import ConnectScreen

    async def refuse(self) -> None:
        raise OSError("port 8080 is already in use")

    monkeypatch.setattr(FakeSession, "start", refuse)
    harness = Harness(tmp_path, show_connect_screen=True)
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert "Esc quits p2pchat" in screen_text(harness.app)
        assert ":8080/" not in screen_text(harness.app)  # no address before it listens
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(harness.app.screen, ConnectScreen)
        assert "port 8080 is already in use" in screen_text(harness.app)
        assert not harness.fake.settings.port_explicit  # the offered port may move


async def test_a_port_typed_on_the_connect_screen_is_meant(tmp_path):
    harness = Harness(tmp_path, show_connect_screen=True)
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        field = harness.app.screen.query_one("#connect-port")
        field.value = "9001"
        await pilot.press("enter")
        await pilot.pause()
        assert (harness.fake.settings.port, harness.fake.settings.port_explicit) == (9001, True)


async def test_info_shows_your_address_and_f3_copies_it(harness: Harness):
    async with harness.app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pilot.app.chat_input.value = "/info"
        await pilot.press("enter")
        await pilot.pause()
        line = harness.app.log_view.entries[-1].body
        assert line.startswith("your address: p2pchat://") and ":8080/MFRG-GZDF-" in line
        await pilot.press("f3")
        await pilot.pause()
        assert harness.app.clipboard == line.split()[2]


async def test_the_verify_dialog_defaults_to_the_safe_answer(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        pilot.app.chat_input.value = "/verify"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert ("verify_peer",) not in harness.fake.calls


async def press_quit_while_moving(harness: Harness, pilot, direction: str) -> str:
    """ctrl+q while a file moves in `direction`; what the question says."""
    from p2pchat.session.events import TransferUpdated

    await pilot.pause()
    harness.fake.connect_bob()
    harness.fake.emit(TransferUpdated(TransferInfo(3, "big.iso", 10 * 2**30, direction, "active", done=2**30)))
    await pilot.pause()
    await pilot.press("ctrl+q")
    await pilot.pause()
    return harness.app.screen._body.plain


async def test_quitting_during_a_transfer_asks_first(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        said = await press_quit_while_moving(harness, pilot, "send")
        assert harness.app.is_running and "Quit p2pchat?" in screen_text(harness.app)
        # Nothing re-offers an upload after a restart by itself: the question says what does.
        assert said.startswith("1 file is still being sent; quitting interrupts it. After restarting, p2pchat offers "
                               "it again once")
        await pilot.press("enter")  # the default keeps running
        await pilot.pause()
        assert harness.app.is_running and not any(c[0] == "quit" for c in harness.fake.calls)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("ctrl+q")  # pressed again on the question: quit
        await pilot.pause()
    assert ("quit", "quit") in harness.fake.calls


async def test_the_log_names_the_port_and_an_address_for_the_peer_not_the_wildcard(harness: Harness):
    from p2pchat.session.events import Listening

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.emit(Listening("::", 8080))
        await pilot.pause()
        shown = screen_text(harness.app)
        assert "[::]" not in shown and "listening on port 8080" in shown
        assert "your address for your peer:" in shown and "p2pchat://192.0.2.7:8080/" in shown
        # At 80 columns the address takes two lines: broken after a dash, never inside a group
        # (a group split over two lines is misread when read aloud).
        lines = harness.app.log_view.rendered_lines()
        first = next(n for n, line in enumerate(lines) if "p2pchat://" in line)
        assert lines[first].rstrip().endswith("-")
        rest = lines[first + 1].split()[0]
        fingerprint = lines[first].split("/")[-1].rstrip() + rest
        assert all(len(group) == 4 for group in fingerprint.split("-")[:-1]), fingerprint


async def test_f3_says_the_address_went_to_the_terminal_and_shows_it_to_copy_by_hand(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        address = harness.app.clipboard
        assert address.startswith("p2pchat://192.0.2.7:8080/")
        # OSC 52 may be dropped on the way (tmux without set-clipboard): never "Copied".
        [toast] = list(harness.app._notifications)
        assert toast.title == "Sent to the terminal's clipboard (OSC 52)" and toast.message == address
        said, line = (entry.body for entry in harness.app.log_view.entries[-2:])
        assert said.startswith("your address for your peer, sent to the terminal's clipboard (OSC 52);")
        assert said.endswith("copy it from the next line:") and line == address


async def test_quitting_while_a_file_arrives_says_what_the_receiver_can_do(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        said = await press_quit_while_moving(harness, pilot, "receive")
        # The receiver cannot /send what it is receiving: the sender offers it again.
        assert "/send" not in said
        assert said.startswith("1 file is still arriving; quitting interrupts it, and what has arrived is kept.")
        assert "connect to bob again: bob's p2pchat, if still running, offers it again" in said
        assert "accepting resumes where it stopped" in said


async def test_screenshot_works_without_a_downloads_folder(monkeypatch, tmp_path):
    from p2pchat.paths import get_paths

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    harness = Harness(None)
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.app.action_screenshot()
        folder = get_paths().downloads_dir
        for _ in range(100):
            if list(folder.glob("*.svg")):
                break
            await pilot.pause(0.02)
        assert len(list(folder.glob("*.svg"))) == 1


# -- 80 columns ---------------------------------------------------------------------------


async def test_at_80_columns_the_status_bar_keeps_the_key_facts(harness: Harness):
    from p2pchat.session.events import RttMeasured

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.fake._rtt_ms = 12.4
        harness.fake.emit(RttMeasured(12.4))
        await pilot.pause()
        status = screen_lines(harness.app)[-2]
        assert "RTT 12 ms" in status and "ENCRYPTED" in status and "bob" in status
        assert "connected" in status and "unverified" in status


async def test_at_80_columns_transfer_rows_keep_names_apart_and_states_whole(harness: Harness):
    from p2pchat.session.events import TransferUpdated

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        for number in range(1, 4):
            info = TransferInfo(
                number,
                f"many/photographs-from-the-summer-holiday-{number:02}.jpg",
                40 * 2**20,
                "receive",
                "active",
                done=10 * 2**20,
                speed=2**20,
                eta=30,
            )
            harness.fake.emit(TransferUpdated(info))
        harness.fake.emit(
            TransferUpdated(TransferInfo(4, "video.mkv", 2**30, "send", "interrupted", done=2**29))
        )
        await pilot.pause()
        rows = [line for line in screen_lines(harness.app) if line.lstrip().startswith("#")]
        assert len(rows) == 4
        for number, row in enumerate(rows[:3], 1):
            assert f"{number:02}.jpg" in row and "00:30" in row and "1.0 MiB/s" in row
        assert "interrupted" in rows[3] and " 50%" in rows[3]


# -- completion -------------------------------------------------------------------------------


async def test_tab_quotes_paths_with_spaces_and_lists_candidates_beside_the_input(
    harness: Harness, tmp_path
):
    from pathlib import Path

    from p2pchat import commands

    (tmp_path / "my holiday.jpg").write_bytes(b"x")
    (tmp_path / "my notes.txt").write_bytes(b"x")
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        field = harness.app.chat_input
        field.value = f"/send {tmp_path}/my"
        await pilot.press("tab")
        await pilot.pause()
        assert field.value == f"/send '{tmp_path}/my '"
        completions = harness.app.query_one("#completions")
        assert completions.display
        assert "my holiday.jpg  my notes.txt" in str(completions.render())
        assert not any("my notes.txt" in entry.body for entry in harness.app.log_view.entries)
        await pilot.press("end", "backspace", *"h", "tab")
        await pilot.pause()
        assert field.value == f"/send '{tmp_path}/my holiday.jpg'"
        assert not completions.display
        assert commands.parse(field.value).args == [f"{tmp_path}/my holiday.jpg"]
        assert Path(commands.parse(field.value).args[0]).exists()


# -- the log reads like weechat ----------------------------------------------------------------


async def test_wrapped_and_multi_line_messages_continue_under_the_text(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.emit(incoming("word " * 30 + "end", 1))
        harness.fake.emit(incoming("line one\nline two", 2))
        await pilot.pause()
        lines = harness.app.log_view.rendered_lines()
        column = lines[0].index("word")
        assert lines[0].startswith("22:13    bob: word")
        assert all(line[:column].strip() == "" and line[column] != " " for line in lines[1:3])
        assert lines[-2].endswith("bob: line one") and lines[-1].rstrip() == " " * column + "line two"


async def test_a_multi_line_paste_becomes_an_editable_draft(harness: Harness):
    from textual import events

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.app.chat_input.post_message(events.Paste("line one of paste\nline two"))
        await pilot.pause()
        draft = harness.app.query_one("#draft")
        assert draft.display and harness.app.focused is draft
        assert "Enter sends" in screen_text(harness.app) and "ctrl+j" in screen_text(harness.app)
        await pilot.press("ctrl+j", *"three", "shift+enter", *"four")
        await pilot.press("enter")
        await pilot.pause()
        body = "line one of paste\nline two\nthree\nfour"
        assert ("send_text", body, False) in harness.fake.calls
        assert not draft.display and harness.app.focused is harness.app.chat_input
        # Recalled, it comes back whole in the draft, not squeezed into one line.
        await pilot.press("up")
        await pilot.pause()
        assert draft.display and draft.text == body
        assert harness.app.chat_input.value == ""
        await pilot.press("escape")
        await pilot.pause()
        assert not draft.display and harness.app.chat_input.display


async def test_ctrl_j_in_the_input_starts_a_multi_line_draft(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press(*"first", "ctrl+j", *"second", "enter")
        await pilot.pause()
        assert ("send_text", "first\nsecond", False) in harness.fake.calls


async def test_lines_typed_faster_than_the_screen_updates_stay_apart(harness: Harness):
    from textual import events

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        for key in ["o", "n", "e", "enter", "t", "w", "o", "enter", "t"]:
            harness.app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause()
        await pilot.pause()
        sent = [call[1] for call in harness.fake.calls if call[0] == "send_text"]
        assert sent == ["one", "two"]
        assert harness.app.chat_input.value == "t"


async def test_history_goes_above_the_lines_of_this_run(harness: Harness):
    from p2pchat.session.events import HistoryLoaded

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        await pilot.pause()
        old = ChatMessage("h1", "bob", "from yesterday", FIXED_TIME - 86400, False)
        harness.fake.emit(HistoryLoaded((old,)))
        await pilot.pause()
        lines = harness.app.log_view.rendered_lines()
        assert lines[0].endswith("bob: from yesterday")
        assert "earlier messages above" in lines[1]
        assert "connected to bob" in lines[2]


async def test_typing_into_a_new_peer_question_never_allows_the_peer(harness: Harness):
    from fake_session import BOB

    from p2pchat.session.events import IdentityPrompt

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press(*"ok m")
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert ("answer_identity", True) not in harness.fake.calls
        assert harness.app.chat_input.value == "ok ma"  # typed on, not lost, not an answer


async def test_ctrl_a_under_a_new_peer_question_edits_the_line_and_trusts_nobody(harness: Harness):
    from fake_session import BOB

    from p2pchat.session.events import IdentityPrompt
    from p2pchat.ui.screens.identity import IdentityScreen

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        await pilot.press(*"world", "ctrl+a", *"hello ")
        await pilot.pause()
        assert harness.app.chat_input.value == "hello world"  # ctrl+a: start of line
        assert not [c for c in harness.fake.calls if c[0] == "answer_identity"]
        assert isinstance(harness.app.screen, IdentityScreen)
        assert "Tab to answer" in screen_text(harness.app)
        await pilot.press("tab")  # the deliberate step: the question takes the keys
        await pilot.pause()
        assert "A allows · D or Esc denies" in screen_text(harness.app)
        await pilot.press("!")  # answers nothing: back to typing, the key not lost
        await pilot.pause()
        assert harness.app.chat_input.value == "hello !world"
        assert not [c for c in harness.fake.calls if c[0] == "answer_identity"]
        await pilot.press("tab")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert [c for c in harness.fake.calls if c[0] == "answer_identity"] == [("answer_identity", True)]
        assert harness.app.focused is harness.app.chat_input
        assert harness.app.chat_input.value == "hello !world"


async def test_keys_typed_in_a_burst_with_ctrl_j_all_reach_the_draft_in_order(harness: Harness):
    from textual import events

    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        burst = [*"one1", "ctrl+j", *"two2", "ctrl+j", *"three3", "backspace", "3"]
        for key in burst:
            harness.app.post_message(events.Key(key, key if len(key) == 1 else None))
        draft = harness.app.query_one("#draft")
        await settle(pilot, lambda: draft.text == "one1\ntwo2\nthree3")
        assert draft.display and harness.app.focused is draft
        assert draft.text == "one1\ntwo2\nthree3"
        assert harness.app.chat_input.value == ""
        await pilot.press("enter")
        await pilot.pause()
        assert ("send_text", "one1\ntwo2\nthree3", False) in harness.fake.calls


async def test_shift_end_selects_to_the_end_of_the_line(harness: Harness):
    async with harness.app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press(*"abc", "home", "shift+end")
        await pilot.pause()
        selection = harness.app.chat_input.selection
        assert (selection.start, selection.end) == (0, 3)
        assert harness.app.is_running
