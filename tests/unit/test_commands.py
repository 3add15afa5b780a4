"""The slash-command parser shared by both front ends."""

from __future__ import annotations

import subprocess
import sys

import pytest

from p2pchat import commands
from p2pchat.commands import (
    ALIASES,
    COMMANDS,
    Command,
    CommandError,
    as_message,
    complete,
    help_text,
    parse,
)


# -- messages, not commands --------------------------------------------------------
@pytest.mark.parametrize(
    "line", ["hello", "", " /quit", "a/b", "http://x", "//quit", "// hi", "//"]
)
def test_lines_that_are_messages(line):
    assert parse(line) is None


def test_double_slash_sends_a_literal_slash():
    assert as_message("//shrug ¯\\_(ツ)_/¯") == "/shrug ¯\\_(ツ)_/¯"
    assert as_message("///x") == "//x"
    assert as_message("plain text") == "plain text"
    assert as_message("a // b") == "a // b"


# -- every command ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/help", Command("help", [], "")),
        ("/help send", Command("help", ["send"], "send")),
        ("/help /exit", Command("help", ["quit"], "/exit")),
        ("/quit", Command("quit", [], "")),
        ("/exit", Command("quit", [], "")),
        ("/send a.txt", Command("send", ["a.txt"], "a.txt")),
        ("/send a.txt dir/b.bin", Command("send", ["a.txt", "dir/b.bin"], "a.txt dir/b.bin")),
        ("/accept", Command("accept", [], "")),
        ("/accept 3", Command("accept", ["3"], "3")),
        ("/accept #3", Command("accept", ["3"], "#3")),
        ("/decline", Command("decline", [], "")),
        ("/decline 12", Command("decline", ["12"], "12")),
        ("/cancel", Command("cancel", [], "")),
        (
            "/cancel 18446744073709551615",
            Command("cancel", ["18446744073709551615"], "18446744073709551615"),
        ),
        ("/transfers", Command("transfers", [], "")),
        ("/nick bob", Command("nick", ["bob"], "bob")),
        ("/nick Bob the Builder", Command("nick", ["Bob", "the", "Builder"], "Bob the Builder")),
        ("/me waves", Command("me", ["waves"], "waves")),
        ("/me  waves   at  you ", Command("me", ["waves", "at", "you"], "waves   at  you")),
        ("/info", Command("info", [], "")),
        ("/ping", Command("ping", [], "")),
        ("/verify", Command("verify", [], "")),
        ("/clear", Command("clear", [], "")),
        ("/connect 127.0.0.1:8080", Command("connect", ["127.0.0.1:8080"], "127.0.0.1:8080")),
        ("/connect [::1]:9000", Command("connect", ["[::1]:9000"], "[::1]:9000")),
        ("/connect p2pchat1abc", Command("connect", ["p2pchat1abc"], "p2pchat1abc")),
        ("/invite", Command("invite", [], "")),
        ("/peers", Command("peers", [], "")),
        ("/peers 2", Command("peers", ["2"], "2")),
    ],
)
def test_each_command_parses(line, expected):
    assert parse(line) == expected


def test_every_command_in_the_table_is_covered_by_a_test():
    tested = {
        "help",
        "quit",
        "send",
        "accept",
        "decline",
        "cancel",
        "transfers",
        "nick",
        "me",
        "info",
        "ping",
        "verify",
        "clear",
        "connect",
        "invite",
        "peers",
    }
    assert set(COMMANDS) == tested
    assert ALIASES == {"exit": "quit"}


def test_names_are_case_insensitive_and_trailing_newline_is_ignored():
    assert parse("/QUIT") == Command("quit", [], "")
    assert parse("/Me dances\n") == Command("me", ["dances"], "dances")


def test_rest_keeps_text_exactly_inside():
    cmd = parse('/me  says "hi"  *loudly*  [b]x[/b]')
    assert cmd.rest == 'says "hi"  *loudly*  [b]x[/b]'


# -- /send path splitting ---------------------------------------------------------
def test_send_splits_like_a_shell():
    cmd = parse("/send \"my notes.txt\" 'two words' plain b\\ c.txt #not-a-comment")
    assert cmd.args == ["my notes.txt", "two words", "plain", "b c.txt", "#not-a-comment"]


def test_send_keeps_windows_backslashes_on_windows():
    assert commands._split_paths(r'C:\Users\me\a.txt "C:\My Files\b.txt"', windows=True) == [
        r"C:\Users\me\a.txt",
        r"C:\My Files\b.txt",
    ]


# -- bad arguments ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("/quit now", "/quit takes no arguments. Usage: /quit"),
        ("/exit now", "/quit takes no arguments"),
        ("/ping 3", "/ping takes no arguments"),
        ("/info x", "/info takes no arguments"),
        ("/verify yes", "/verify takes no arguments"),
        ("/clear all", "/clear takes no arguments"),
        ("/transfers all", "/transfers takes no arguments"),
        ("/nick", "/nick needs an argument. Usage: /nick NAME"),
        ("/me", "/me needs an argument. Usage: /me ACTION"),
        ("/me   ", "/me needs an argument"),
        ("/connect", "/connect needs an argument. Usage: /connect HOST:PORT"),
        ("/connect a:1 b:2", "/connect takes one argument"),
        ("/accept 1 2", "/accept takes one argument. Usage: /accept [ID]"),
        ("/help send me", "/help takes one argument"),
        ('/send "unclosed.txt', "/send: a quote is not closed. Usage: /send PATH..."),
        ("/send a\\", "/send: a lone backslash at the end. Usage: /send PATH..."),
        ('/send ""', "/send: an empty path. Usage: /send PATH..."),
        ("/send", "/send needs an argument. Usage: /send PATH..."),
        ("/send   ", "/send needs an argument"),
    ],
)
def test_bad_arguments(line, problem):
    with pytest.raises(CommandError) as caught:
        parse(line)
    assert problem in str(caught.value)


@pytest.mark.parametrize("name", ["accept", "decline", "cancel"])
@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "#", "3a", "０"])
def test_transfer_id_must_be_a_number(name, bad):
    with pytest.raises(CommandError, match=r"is not a transfer number \(see /transfers\)"):
        parse(f"/{name} {bad}")


def test_command_error_is_a_value_error_with_message():
    with pytest.raises(ValueError) as caught:
        parse("/nick")
    assert caught.value.message == str(caught.value)


# -- unknown commands -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "suggestion"),
    [
        ("/sned a.txt", "Did you mean /send?"),
        ("/quti", "Did you mean /quit?"),
        ("/exti", "Did you mean /exit?"),
        ("/transfer", "Did you mean /transfers?"),
        ("/conect 1.2.3.4:5", "Did you mean /connect?"),
        ("/q", "Did you mean /quit?"),
        ("/c", "Did you mean /cancel, /clear or /connect?"),
    ],
)
def test_unknown_command_suggests_the_closest(line, suggestion):
    with pytest.raises(CommandError) as caught:
        parse(line)
    message = str(caught.value)
    assert message.startswith(f"Unknown command {line.split()[0]}.")
    assert suggestion in message
    assert message.endswith("Type /help for the list.")


def test_unknown_command_without_a_close_match():
    with pytest.raises(CommandError) as caught:
        parse("/xyzzy")
    assert str(caught.value) == "Unknown command /xyzzy. Type /help for the list."


@pytest.mark.parametrize("line", ["/", "/ quit", "/\t", "/  "])
def test_slash_without_a_name(line):
    with pytest.raises(CommandError, match="Type a command name after /"):
        parse(line)


def test_help_for_an_unknown_command_suggests():
    with pytest.raises(CommandError, match="Did you mean /send"):
        parse("/help snd")


# -- help ---------------------------------------------------------------------------------
def test_overview_has_one_line_per_command():
    lines = help_text().splitlines()
    assert len(lines) == len(COMMANDS)
    for line, (name, spec) in zip(lines, COMMANDS.items(), strict=True):
        assert line.startswith(f"/{name}")
        assert spec.usage in line and spec.summary in line
    assert "/exit" in help_text()
    # Summaries line up in one column.
    columns = {
        line.index(spec.summary) for line, spec in zip(lines, COMMANDS.values(), strict=True)
    }
    assert len(columns) == 1


@pytest.mark.parametrize("name", ["send", "/send", "SEND"])
def test_help_for_one_command(name):
    text = help_text(name)
    assert text.splitlines()[0] == "Usage: /send PATH..."
    assert "quotes" in text


def test_help_for_an_alias_and_for_help():
    assert help_text("exit").startswith("Usage: /quit")
    assert "//" in help_text("help")


def test_help_for_unknown_name_raises():
    with pytest.raises(CommandError, match="Unknown command /nope"):
        help_text("nope")


def test_every_spec_is_consistent():
    for name, spec in COMMANDS.items():
        assert spec.usage.split()[0] == f"/{name}"
        assert spec.summary and not spec.summary.endswith(".")
        assert spec.max_args is None or spec.min_args <= spec.max_args
        help_text(name)


# -- completion -------------------------------------------------------------------------------
def test_complete():
    assert complete("/se") == ["/send"]
    assert complete("/c") == ["/cancel", "/clear", "/connect"]
    assert complete("/e") == ["/exit"]
    assert complete("/") == sorted(f"/{n}" for n in [*COMMANDS, *ALIASES])
    assert complete("/QU") == ["/quit"]
    assert complete("/send") == ["/send"]
    assert complete("/zz") == []


@pytest.mark.parametrize("text", ["se", "", "//se", "/send a", "/send "])
def test_complete_only_completes_a_command_name(text):
    assert complete(text) == []


def test_module_is_pure():
    # No UI toolkit, no network: both front ends can import it cheaply.
    code = (
        "import sys, p2pchat.commands; "
        "bad = [m for m in ('textual', 'rich', 'asyncio', 'socket', 'sqlite3') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
