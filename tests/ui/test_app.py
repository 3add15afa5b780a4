"""Pilot tests of the chat app against a fake session."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_harness import Harness
from fake_session import BOB, FIXED_TIME
from screen_text import screen_text
from textual import events
from textual.widgets import Button, Input

from p2pchat.session.events import (
    ChatMessage,
    Disconnected,
    HistoryLoaded,
    IdentityPrompt,
    IdentityPromptExpired,
    MessageDelivered,
    MessageReceived,
    Reconnecting,
    RttMeasured,
    TransferInfo,
    TransferOffered,
    TransferUpdated,
)
from p2pchat.ui.screens.confirm import ConfirmScreen
from p2pchat.ui.screens.connect import ConnectScreen
from p2pchat.ui.screens.help import HelpScreen
from p2pchat.ui.screens.identity import IdentityScreen
from p2pchat.ui.screens.offer import OfferScreen

SIZE = (100, 30)


def incoming(body: str, sender: str = "bob", message_id: str = "p1") -> MessageReceived:
    return MessageReceived(ChatMessage(message_id, sender, body, FIXED_TIME, outgoing=False))


def offer(transfer_id: int = 7, name: str = "report.pdf", state: str = "offered") -> TransferInfo:
    return TransferInfo(transfer_id, name, 2048, "receive", state)


async def type_line(pilot, line: str) -> None:
    pilot.app.chat_input.value = line
    await pilot.press("enter")
    await pilot.pause()


def log_lines(app) -> list[str]:
    return app.log_view.rendered_lines()


def sent_texts(fake) -> list[tuple]:
    return [call for call in fake.calls if call[0] == "send_text"]


# -- messages and rendering ----------------------------------------------------------------


async def test_enter_sends_and_shows_the_message_with_a_mark(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        await pilot.press(*"hello bob", "enter")
        await pilot.pause()
        assert sent_texts(harness.fake) == [("send_text", "hello bob", False)]
        assert harness.app.chat_input.value == ""
        assert log_lines(harness.app)[-1] == "22:13 ✓  alice: hello bob"
        harness.fake.emit(MessageDelivered("m1"))
        await pilot.pause()
        assert log_lines(harness.app)[-1] == "22:13 ✓✓ alice: hello bob"


async def test_pending_mark_while_disconnected(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, "anyone there?")
        assert log_lines(harness.app)[-1] == "22:13 ⋯  alice: anyone there?"


async def test_empty_input_does_nothing(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = list(log_lines(harness.app))
        await pilot.press("enter", "space", "space", "enter")
        await pilot.pause()
        assert sent_texts(harness.fake) == []
        assert log_lines(harness.app) == before


async def test_peer_markup_and_escapes_are_shown_literally(harness: Harness):
    bodies = ["[red]x[/red]", "[link=file:///etc/passwd]y[/link]", "\x1b]0;pwned\x07 and \x9b2J"]
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        for number, body in enumerate(bodies):
            harness.fake.emit(incoming(body, sender="[b]mallory[/b]", message_id=f"p{number}"))
        await pilot.pause()
        lines = log_lines(harness.app)[-3:]
        assert lines[0].endswith("[b]mallory[/b]: [red]x[/red]")
        assert lines[1].endswith("[b]mallory[/b]: [link=file:///etc/passwd]y[/link]")
        assert lines[2].endswith("[b]mallory[/b]: \\x1b]0;pwned\\x07 and \\x9b2J")
        shown = screen_text(harness.app)
        assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
        assert "[link=file:///etc/passwd]y[/link]" in shown
        log = harness.app.log_view
        for index in range(len(log.entries)):
            for strip in log._strips(index, log._width):
                assert all(segment.style is None or not segment.style.link for segment in strip)


async def test_notice_levels_and_system_lines(harness: Harness):
    from p2pchat.session.events import Notice

    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(Notice("disk is full", "error"))
        harness.fake.emit(Disconnected("bob left (quit)", by_peer=True))
        await pilot.pause()
        entries = harness.app.log_view.entries
        assert (entries[-2].kind, entries[-2].body) == ("error", "disk is full")
        assert (entries[-1].kind, entries[-1].body) == ("system", "bob left (quit)")
        assert harness.app.is_running  # losing the peer never closes the app


async def test_history_is_shown_above_a_separator(harness: Harness):
    old = (
        ChatMessage("h1", "alice", "from yesterday", FIXED_TIME - 86400, True, state="delivered"),
        ChatMessage("h2", "bob", "see you", FIXED_TIME - 86000, False),
    )
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(HistoryLoaded(old))
        await pilot.pause()
        lines = log_lines(harness.app)
        assert lines[-3].endswith("✓✓ alice: from yesterday")
        assert lines[-2].endswith("bob: see you")
        assert "earlier messages above" in lines[-1] and lines[-1].startswith("──")


async def test_long_lines_wrap_and_rewrap_on_resize(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(incoming("word " * 60))
        await pilot.pause()
        wide = harness.app.log_view.line_count
        await pilot.resize_terminal(50, 30)
        await pilot.pause()
        narrow = harness.app.log_view.line_count
        assert narrow > wide >= 3
        assert all(len(line) <= 48 for line in log_lines(harness.app))


async def test_a_hundred_thousand_messages(tmp_path):
    harness = Harness(tmp_path, settings={"scrollback": 100_000})  # the most one may keep
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = harness.app.log_view
        for number in range(100_000):
            log.add_message("bob", f"message {number}", outgoing=False, timestamp=FIXED_TIME)
        await pilot.pause()
        assert len(log.entries) == 100_000
        assert screen_text(harness.app).count("message 99999") == 1
        await pilot.press("pageup")
        await pilot.pause()
        assert "message 99999" not in screen_text(harness.app)


async def test_scrolled_up_shows_new_messages_below_and_rings(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bells = []
        harness.app.bell = lambda: bells.append(1)
        toasts = []
        original_notify = harness.app.notify

        def notify(message, **kwargs):
            toasts.append((message, kwargs))
            original_notify(message, **kwargs)

        harness.app.notify = notify
        for number in range(60):
            harness.fake.emit(incoming(f"line {number}", message_id=f"p{number}"))
        await pilot.pause()
        assert not harness.app.query_one("#new-below").display
        assert not bells  # focused and following: no bell
        await pilot.press("pageup")
        await pilot.pause()
        harness.fake.emit(incoming("[b]are you there?[/b]", message_id="late"))
        await pilot.pause()
        assert harness.app.log_view.unseen == 1
        assert harness.app.query_one("#new-below").display
        assert "new messages below" in screen_text(harness.app)
        assert bells == [1]
        assert toasts[-1][0] == "bob: [b]are you there?[/b]" and toasts[-1][1]["markup"] is False
        harness.app.log_view.action_scroll_end()
        await pilot.pause()
        assert harness.app.log_view.unseen == 0
        assert not harness.app.query_one("#new-below").display


async def test_unfocused_app_rings_the_bell(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bells = []
        harness.app.bell = lambda: bells.append(1)
        harness.app.post_message(events.AppBlur())
        await pilot.pause()
        harness.fake.emit(incoming("psst"))
        await pilot.pause()
        assert bells == [1]
        harness.app.post_message(events.AppFocus())
        await pilot.pause()
        harness.fake.emit(incoming("again", message_id="p2"))
        await pilot.pause()
        assert bells == [1]


async def test_no_bell_when_disabled(tmp_path):
    harness = Harness(tmp_path, settings={"bell": False})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bells = []
        harness.app.bell = lambda: bells.append(1)
        harness.app.post_message(events.AppBlur())
        await pilot.pause()
        harness.fake.emit(incoming("psst"))
        await pilot.pause()
        assert bells == []


# -- input ------------------------------------------------------------------------------------


async def test_up_and_down_walk_your_own_history(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for line in ("one", "two", "/ping"):
            await type_line(pilot, line)
        field = harness.app.chat_input
        await pilot.press(*"draft")
        await pilot.press("up")
        assert field.value == "/ping"
        await pilot.press("up", "up")
        assert field.value == "one"
        await pilot.press("up")
        assert field.value == "one"
        await pilot.press("down")
        assert field.value == "two"
        await pilot.press("down", "down")
        assert field.value == "draft"


async def test_multi_line_paste_is_one_message(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        field = harness.app.chat_input
        await pilot.press(*"see: ")
        field.post_message(events.Paste("first line\r\nsecond line\n"))
        await pilot.pause()
        assert sent_texts(harness.fake) == []  # a draft to review first
        await pilot.press("enter")
        await pilot.pause()
        assert sent_texts(harness.fake) == [("send_text", "see: first line\nsecond line", False)]
        assert field.value == ""
        lines = log_lines(harness.app)
        assert lines[-2].endswith("alice: see: first line") and lines[-1].strip() == "second line"


async def test_single_line_paste_is_inserted(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.app.chat_input.post_message(events.Paste("just this"))
        await pilot.pause()
        assert harness.app.chat_input.value == "just this"
        assert sent_texts(harness.fake) == []


async def test_tab_completes_commands_and_paths(harness: Harness, tmp_path: Path):
    (tmp_path / "holiday.jpg").write_bytes(b"x")
    (tmp_path / "notes").mkdir()
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        field = harness.app.chat_input
        field.value = "/pi"
        field.cursor_position = 3
        await pilot.press("tab")
        assert field.value == "/ping "
        field.value = f"/send {tmp_path}/hol"
        await pilot.press("tab")
        assert field.value == f"/send {tmp_path}/holiday.jpg"
        field.value = f"/send {tmp_path}/no"
        await pilot.press("tab")
        assert field.value == f"/send {tmp_path}/notes/"
        field.value = "/c"
        await pilot.press("tab")
        await pilot.pause()
        assert field.value == "/c"
        completions = str(harness.app.query_one("#completions").render())
        assert "/cancel" in completions and "/connect" in completions


async def test_tab_completes_the_words_of_a_code(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        field = harness.app.chat_input
        field.value = "/connect 7-crosso"
        await pilot.press("tab")
        assert field.value == "/connect 7-crossover-"
        field.value = "/connect 7-crossover-clockw"
        await pilot.press("tab")
        assert field.value == "/connect 7-crossover-clockwork"
        field.value = "/connect 7-crossover-c"
        await pilot.press("tab")
        await pilot.pause()
        completions = str(harness.app.query_one("#completions").render())
        assert "clockwork" in completions and "7-" not in completions


# -- commands ------------------------------------------------------------------------------------


async def test_unknown_command_is_answered_locally(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, "/sned x")
        await type_line(pilot, "/ping extra")
        assert sent_texts(harness.fake) == []
        entries = harness.app.log_view.entries
        assert entries[-2].kind == "error" and "Unknown command /sned" in entries[-2].body
        assert entries[-1].kind == "error" and "takes no arguments" in entries[-1].body


async def test_double_slash_sends_a_literal_slash(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, "//shrug")
        assert sent_texts(harness.fake) == [("send_text", "/shrug", False)]


async def test_help_opens_and_closes(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, "/help")
        assert isinstance(harness.app.screen, HelpScreen)
        assert "/send PATH..." in screen_text(harness.app)
        await pilot.press("escape")
        assert not isinstance(harness.app.screen, HelpScreen)
        await type_line(pilot, "/help send")
        assert "Usage: /send PATH..." in harness.app.log_view.entries[-1].body


async def test_quit_and_exit_say_bye(tmp_path):
    for word in ("/quit", "/exit"):
        harness = Harness(tmp_path)
        async with harness.app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await type_line(pilot, word)
            await pilot.pause()
        assert ("quit", "quit") in harness.fake.calls
        assert harness.app.return_value == 0


async def test_ctrl_q_quits_cleanly(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert ("quit", "quit") in harness.fake.calls
    assert harness.app.return_value == 0


async def test_send_offers_files(harness: Harness, tmp_path: Path):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, f'/send "{tmp_path}/my notes.txt" b.bin')
        await pilot.pause()
        assert ("offer_files", [tmp_path / "my notes.txt", Path("b.bin")]) in harness.fake.calls
        harness.fake.fail_offer = FileNotFoundError("no such file: c.bin")
        await type_line(pilot, "/send c.bin")
        await pilot.pause()
        entry = harness.app.log_view.entries[-1]
        assert entry.kind == "error" and "no such file: c.bin" in entry.body


async def test_accept_decline_cancel_pick_the_only_candidate(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.fake._transfers[7] = offer(7)
        await type_line(pilot, "/accept")
        assert ("accept", 7, None) in harness.fake.calls
        harness.fake._transfers[8] = offer(8)
        await type_line(pilot, "/decline")
        assert ("decline", 8) in harness.fake.calls
        await type_line(pilot, "/cancel")  # #7 is active now, #8 declined
        assert ("cancel", 7) in harness.fake.calls


async def test_accept_asks_which_when_several(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake._transfers[1] = offer(1, "a.txt")
        harness.fake._transfers[2] = offer(2, "b.txt")
        await type_line(pilot, "/accept")
        entry = harness.app.log_view.entries[-1]
        assert entry.kind == "error" and "#1 a.txt" in entry.body and "#2 b.txt" in entry.body
        assert not [c for c in harness.fake.calls if c[0] == "accept"]
        await type_line(pilot, "/accept #2")
        assert ("accept", 2, None) in harness.fake.calls
        await type_line(pilot, "/cancel 99")
        assert harness.app.log_view.entries[-1].body == "no transfer #99 (see /transfers)"
        await type_line(pilot, "/decline")
        assert ("decline", 1) in harness.fake.calls


async def test_transfers_nick_me_info_ping_clear_connect(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake._transfers[3] = TransferInfo(3, "x.iso", 4096, "send", "active", done=1024, speed=512, eta=6)
        await type_line(pilot, "/transfers")
        assert harness.app.log_view.entries[-1].body == "#3 -> x.iso 1.0 KiB/4.0 KiB active, 512 B/s, 00:06 left"
        await type_line(pilot, "/nick Alice W")
        assert ("change_nick", "Alice W") in harness.fake.calls
        assert "Alice W" in str(harness.app.query_one("#title").render())
        await type_line(pilot, "/nick " + "x" * 40)
        assert harness.app.log_view.entries[-1].kind == "error"
        await type_line(pilot, "/me waves")
        assert ("send_text", "waves", True) in harness.fake.calls
        assert log_lines(harness.app)[-1].endswith("* Alice W waves")
        await type_line(pilot, "/info")
        assert harness.app.log_view.entries[-2].body.startswith("your fingerprint: ")
        await type_line(pilot, "/ping")
        assert ("ping",) in harness.fake.calls
        await type_line(pilot, "/clear")
        assert harness.app.log_view.entries == []
        await type_line(pilot, "/connect 127.0.0.1:9000")
        await pilot.pause()
        assert ("connect", "127.0.0.1:9000") in harness.fake.calls
        await type_line(pilot, "/connect nowhere")
        await pilot.pause()
        assert harness.app.log_view.entries[-1].kind == "error"


async def test_verify_asks_before_marking(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_line(pilot, "/verify")
        assert "needs an encrypted connection" in harness.app.log_view.entries[-1].body
        harness.fake.connect_bob()
        await type_line(pilot, "/verify")
        assert isinstance(harness.app.screen, ConfirmScreen)
        assert "apple river seven" in screen_text(harness.app)
        await pilot.click("#confirm-no")
        await pilot.pause()
        assert ("verify_peer",) not in harness.fake.calls
        assert "The codes do not match" in screen_text(harness.app)
        await pilot.click("#confirm-no")  # keep chatting
        await pilot.pause()
        assert ("distrust_peer",) not in harness.fake.calls
        await type_line(pilot, "/verify")
        await pilot.click("#confirm-yes")
        await pilot.pause()
        assert ("verify_peer",) in harness.fake.calls
        assert [line[-26:] for line in log_lines(harness.app) if "verified" in line] == ["bob is now marked verified"]
        status = str(harness.app.query_one("#status").render())
        assert "verified" in status and "unverified" not in status


async def test_palette_runs_chat_actions(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"ping")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert ("ping",) in harness.fake.calls
        harness.app.run_palette_line("/send ")
        assert harness.app.chat_input.value == "/send "


@pytest.mark.parametrize(
    "how", [{"keymap": {"app.help": "f2"}}, {"settings": {"keymap": "app.help=f2"}}], ids=["argument", "setting"]
)
async def test_keymap_remaps_bindings(tmp_path, how):
    harness = Harness(tmp_path, **how)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        assert not isinstance(harness.app.screen, HelpScreen)
        await pilot.press("f2")
        assert isinstance(harness.app.screen, HelpScreen)


# -- modals ------------------------------------------------------------------------------------


async def test_connect_screen_starts_the_session_with_the_choice(tmp_path):
    harness = Harness(tmp_path, show_connect_screen=True)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(harness.app.screen, ConnectScreen)
        assert harness.sessions == []
        harness.app.screen.query_one("#connect-port", Input).value = "9001"
        harness.app.screen.query_one("#connect-peer", Input).value = "127.0.0.1:9002"
        harness.app.screen.query_one("#connect-nick", Input).value = "carol"
        await pilot.click("#connect-go")
        await pilot.pause()
        settings = harness.fake.settings
        assert (settings.port, settings.connect, settings.nickname) == (
            9001,
            "127.0.0.1:9002",
            "carol",
        )
        assert ("start",) in harness.fake.calls


async def test_connect_screen_rejects_a_bad_port_and_escape_quits(tmp_path):
    harness = Harness(tmp_path, show_connect_screen=True)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.app.screen.query_one("#connect-port", Input).value = "99999"
        await pilot.click("#connect-go")
        await pilot.pause()
        assert isinstance(harness.app.screen, ConnectScreen)
        assert "0 to 65535" in screen_text(harness.app)
        await pilot.press("escape")
        await pilot.pause()
    assert harness.sessions == []
    assert harness.app.return_value == 0


async def test_offer_modal_accept(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.connect_bob()
        harness.fake.emit(TransferOffered(offer(7, "[red]evil[/red].pdf")))
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(harness.app.screen, OfferScreen)
        assert "[red]evil[/red].pdf" in screen_text(harness.app)
        await pilot.click("#offer-accept")
        await pilot.pause()
        assert ("accept", 7, None) in harness.fake.calls


async def test_offer_modal_save_as_and_decline(harness: Harness, tmp_path: Path):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(TransferOffered(offer(7)))
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        await pilot.click("#offer-save-as")
        field = harness.app.screen.query_one("#offer-path", Input)
        assert field.value == str(tmp_path / "report.pdf")
        field.value = str(tmp_path / "renamed.pdf")
        await pilot.press("enter")
        await pilot.pause()
        assert ("accept", 7, tmp_path / "renamed.pdf") in harness.fake.calls
        harness.fake.emit(TransferOffered(offer(8)))
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert ("decline", 8) in harness.fake.calls


async def test_auto_accept_shows_no_modal(tmp_path):
    harness = Harness(tmp_path, settings={"auto_accept_files": True})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(TransferOffered(offer(7)))
        await pilot.pause()
        assert not isinstance(harness.app.screen, OfferScreen)
        assert not [c for c in harness.fake.calls if c[0] in ("accept", "decline")]


async def test_identity_unknown_allow_and_deny(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        assert isinstance(harness.app.screen, IdentityScreen)
        assert "NBSW-Y3DP-EB3W" in screen_text(harness.app)  # grouped as /info groups it
        await pilot.click("#identity-accept")
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        await pilot.press("escape")  # not an answer while typing goes on
        await pilot.pause()
        assert isinstance(harness.app.screen, IdentityScreen)
        await pilot.press("tab", "escape")
        await pilot.pause()
        assert [c for c in harness.fake.calls if c[0] == "answer_identity"] == [
            ("answer_identity", True),
            ("answer_identity", False),
        ]


async def test_typing_when_the_identity_question_appears_answers_nothing_and_keeps_the_text(
    harness: Harness,
):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*"hi ")
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        assert isinstance(harness.app.screen, IdentityScreen)
        await pilot.press(*"thered", "backspace", "enter", *"more")
        await pilot.pause()
        assert isinstance(harness.app.screen, IdentityScreen)
        assert not [c for c in harness.fake.calls if c[0] == "answer_identity"]
        assert ("send_text", "hi there", False) in harness.fake.calls
        assert harness.app.chat_input.value == "more"
        await pilot.press("tab", "a")
        await pilot.pause()
        assert ("answer_identity", True) in harness.fake.calls
        assert harness.app.focused is harness.app.chat_input


async def test_several_lines_typed_under_the_identity_question_reach_the_draft(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        await pilot.press(*"one", "ctrl+j", *"two")
        await pilot.pause()
        await pilot.press("tab", "d")
        await pilot.pause()
        assert ("answer_identity", False) in harness.fake.calls
        draft = harness.app.query_one("#draft")
        assert harness.app.focused is draft and draft.text == "one\ntwo"
        # The refusal is the session's line (with the peer's name), not a second one of the app's.
        assert not [e for e in harness.app.log_view.entries if "identity refused" in e.body]


async def test_an_expired_identity_question_closes_its_dialog(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        assert isinstance(harness.app.screen, IdentityScreen)
        harness.fake.emit(IdentityPromptExpired(BOB))
        await pilot.pause()
        assert not isinstance(harness.app.screen, IdentityScreen)
        assert harness.app.log_view.entries[-1].body == "no answer in time: bob was refused"
        assert not [c for c in harness.fake.calls if c[0] == "answer_identity"]


async def test_a_question_withdrawn_by_the_peer_closes_without_a_line_of_its_own(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = len(harness.app.log_view.entries)
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        harness.fake.emit(IdentityPromptExpired(BOB, withdrawn=True))  # the session says why
        await pilot.pause()
        assert not isinstance(harness.app.screen, IdentityScreen)
        assert len(harness.app.log_view.entries) == shown
        assert not [c for c in harness.fake.calls if c[0] == "answer_identity"]


async def test_identity_changed_needs_a_deliberate_accept(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "changed", expected_fingerprint="AAAABBBBCCCCDDDD"))
        await pilot.pause()
        screen = harness.app.screen
        assert isinstance(screen, IdentityScreen)
        shown = screen_text(harness.app)
        assert "DIFFERENT key" in shown and "AAAA-BBBB-CCCC-DDDD" in shown and "NBSW-Y3DP" in shown
        accept = screen.query_one("#identity-accept", Button)
        assert accept.disabled
        screen.query_one("#identity-confirm", Input).value = "accept"
        await pilot.pause()
        assert not accept.disabled
        await pilot.click("#identity-accept")
        await pilot.pause()
        assert ("answer_identity", True) in harness.fake.calls


# -- transfers and status ---------------------------------------------------------------------


async def test_transfers_panel_follows_updates(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = harness.app.transfers_panel
        assert not panel.display
        info = TransferInfo(
            4, "movie.mkv", 10 * 2**20, "send", "active", done=5 * 2**20, speed=2**20, eta=5
        )
        harness.fake.emit(TransferUpdated(info))
        await pilot.pause()
        assert panel.display
        shown = screen_text(harness.app)
        assert "#4 ↑ movie.mkv" in shown and "5.0 MiB/10.0 MiB" in shown and "1.0 MiB/s" in shown
        assert "00:05" in shown and "50%" in shown
        harness.fake.emit(
            TransferUpdated(
                TransferInfo(4, "movie.mkv", 10 * 2**20, "send", "done", done=10 * 2**20, speed=2**20)
            )
        )
        await pilot.pause()
        assert not panel.display
        assert harness.app.log_view.entries[-1].body == "#4 movie.mkv sent (10.0 MiB, 1.0 MiB/s)"


async def test_status_bar_contents(harness: Harness):
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = harness.app.query_one("#status")
        assert str(status.render()) == "listening │ port 8080"
        harness.fake.connect_bob()
        harness.fake._rtt_ms = 12.4
        harness.fake.emit(RttMeasured(12.4))
        await pilot.pause()
        # At 100 columns "direct" is the first part to go.
        assert str(status.render()) == (
            "connected │ bob @ 127.0.0.1:40123 │ ENCRYPTED │ unverified │ NBSW-Y3DP │ RTT 12 ms │ port 8080"
        )
        from dataclasses import replace

        harness.fake.connect_bob(replace(BOB, encrypted=False))
        await pilot.pause()
        assert "UNENCRYPTED" in str(status.render())
        harness.fake.set_state("reconnecting")
        harness.fake.emit(Reconnecting(retry_in=4, attempt=2))
        await pilot.pause()
        assert str(status.render()).startswith("reconnecting in 4 s")


async def test_a_failed_start_from_the_command_line_exits_with_the_reason(harness: Harness, monkeypatch):
    from fake_session import FakeSession

    async def refuse(self) -> None:
        raise OSError("port 8080 is already in use")

    monkeypatch.setattr(FakeSession, "start", refuse)
    async with harness.app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            if not harness.app.is_running:
                break
            await pilot.pause(0.05)
        assert not harness.app.is_running
    assert harness.app.return_code == 1
    assert harness.app.start_error == "port 8080 is already in use"


async def test_a_failed_start_from_the_connect_screen_asks_again(tmp_path, monkeypatch):
    from fake_session import FakeSession

    async def refuse(self) -> None:
        raise OSError("port 8080 is already in use")

    monkeypatch.setattr(FakeSession, "start", refuse)
    harness = Harness(tmp_path, show_connect_screen=True)
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#connect-go") if harness.app.screen.query("#connect-go") else await pilot.press("enter")
        await pilot.pause()
        assert harness.app.is_running
        entry = harness.app.log_view.entries[-1]
        assert entry.kind == "error" and entry.body == "cannot start: port 8080 is already in use"
        assert isinstance(harness.app.screen, ConnectScreen)


def test_the_app_has_one_base_class():
    from textual.app import App

    from p2pchat.ui.app import ChatApp

    assert ChatApp.__bases__ == (App,)  # the chat, its events and commands are collaborators


async def test_the_new_peer_question_names_its_keys_as_remapped(tmp_path):
    harness = Harness(tmp_path, keymap={"identity.allow": "y", "identity.deny": "n"})
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        harness.fake.emit(IdentityPrompt(BOB, "unknown"))
        await pilot.pause()
        await pilot.press("tab")
        await pilot.pause()
        assert "Y allows · N denies" in screen_text(harness.app)
        await pilot.press("y")
        await pilot.pause()
        assert ("answer_identity", True) in harness.fake.calls
