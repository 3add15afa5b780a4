"""Slash commands, parsed the same way by the full-screen app and the line-mode front end.

Pure text in, `Command` out: no I/O and no UI. A line is a command when it starts
with "/"; "//" escapes that, so "//shrug" is the message "/shrug" (see `as_message`).
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from dataclasses import dataclass, field


class CommandError(ValueError):
    """What the user typed is not a valid command; the message says what to type instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CommandSpec:
    usage: str  # "/send PATH..."
    summary: str  # one line for the overview
    min_args: int = 0
    max_args: int | None = 0  # None: no upper limit
    details: str = ""  # extra lines for /help COMMAND
    title: str = ""  # its name in the app's command palette ("…": it asks for an argument)


@dataclass(frozen=True)
class Command:
    name: str  # canonical name without the slash: "quit" for /exit too
    args: list[str] = field(default_factory=list)
    rest: str = ""  # the text after the name, trimmed (what /me and /nick use)


_ID_DETAILS = "Without a number it applies to the only transfer that fits; see /transfers."

COMMANDS: dict[str, CommandSpec] = {
    "help": CommandSpec(
        "/help [COMMAND]",
        "show the commands, or how to use one",
        max_args=1,
        details="Start a message with // to send a line that begins with /.",
        title="Help",
    ),
    "quit": CommandSpec("/quit", "say goodbye to the peer and leave (also /exit)", title="Quit chat"),
    "send": CommandSpec(
        "/send PATH...",
        "offer files or folders to the peer",
        min_args=1,
        max_args=None,
        details='Put quotes around a path with spaces: /send "my notes.txt" photo.jpg',
        title="Send file…",
    ),
    "accept": CommandSpec(
        "/accept [ID]", "accept a file the peer offers", max_args=1, details=_ID_DETAILS,
        title="Accept file",
    ),
    "decline": CommandSpec(
        "/decline [ID]", "decline a file the peer offers", max_args=1, details=_ID_DETAILS,
        title="Decline file",
    ),
    "cancel": CommandSpec(
        "/cancel [ID]", "stop a transfer in progress", max_args=1, details=_ID_DETAILS,
        title="Cancel transfer",
    ),
    "transfers": CommandSpec("/transfers", "list file transfers and their numbers", title="Transfers"),
    "nick": CommandSpec(
        "/nick NAME", "change your nickname", min_args=1, max_args=None, title="Change nickname…"
    ),
    "me": CommandSpec(
        "/me ACTION", "send an action, shown as '* you ACTION'", min_args=1, max_args=None
    ),
    "info": CommandSpec(
        "/info", "show connection, encryption and identity details", title="Connection info"
    ),
    "ping": CommandSpec("/ping", "measure the round-trip time to the peer", title="Ping"),
    "verify": CommandSpec(
        "/verify",
        "mark the peer verified after comparing the short code aloud",
        details="Both of you see the same words in /info; read them to each other first.",
        title="Verify peer",
    ),
    "clear": CommandSpec("/clear", "clear the screen (history is kept)", title="Clear log"),
    "connect": CommandSpec(
        "/connect HOST:PORT",
        "connect to a peer",
        min_args=1,
        max_args=1,
        details="IPv6 goes in brackets: /connect [::1]:8080. A p2pchat:// link, an invite "
        "line or a code such as 7-crossover-clockwork (from /invite) works too; Tab completes "
        "a code's words.",
        title="Connect to…",
    ),
    "peers": CommandSpec(
        "/peers [N]",
        "list p2pchat users on the local network, or connect to number N",
        max_args=1,
        details="Each line shows the nickname, the start of the fingerprint and whether the key is "
        "known. /peers 2 dials the second with its announced fingerprint pinned: a different key "
        "answering there is refused.",
    ),
    "invite": CommandSpec(
        "/invite",
        "make a code (and an invite line) for a new peer",
        details="The code, such as 7-crossover-clockwork, is good for one meeting through the "
        "rendezvous server; the line below it holds your fingerprint, your addresses and relays, "
        "and a secret that lets one peer in without the unknown-identity question, within 24 hours.",
    ),
}

ALIASES: dict[str, str] = {"exit": "quit"}

_TRANSFER_ID = re.compile(r"#?([0-9]+)")


def parse(line: str) -> Command | None:
    """The command in `line`, or None when it is a message; raise CommandError if invalid."""
    if is_message(line):
        return None
    typed, rest = _split_name(line[1:])
    if not typed:
        raise CommandError("Type a command name after /, or /help to list them.")
    name = _resolve(typed)
    spec = COMMANDS[name]
    if name == "send":
        args = _split_paths(rest, windows=os.name == "nt")
    else:
        args = rest.split()
    _check_count(spec, args)
    if name in ("accept", "decline", "cancel") and args:
        args = [_transfer_id(name, args[0], spec)]
    elif name == "help" and args:
        args = [_resolve(args[0].removeprefix("/"))]
    return Command(name, args, rest)


def is_message(line: str) -> bool:
    """Whether a typed line is chat text rather than a command."""
    return not line.startswith("/") or line.startswith("//")


def as_message(line: str) -> str:
    """The chat text for a line that is not a command: "//x" sends "/x"."""
    return line[1:] if line.startswith("//") else line


def overview() -> list[tuple[str, str]]:
    """(usage, summary) of every command, in the order /help lists them."""
    return [(spec.usage, spec.summary) for spec in COMMANDS.values()]


def help_text(name: str | None = None) -> str:
    """The overview (one line a command), or the usage of one command."""
    if name is None:
        width = max(len(usage) for usage, _ in overview())
        return "\n".join(f"{usage.ljust(width)}  {summary}" for usage, summary in overview())
    spec = COMMANDS[_resolve(name.removeprefix("/"))]
    lines = [f"Usage: {spec.usage}", spec.summary[0].upper() + spec.summary[1:] + "."]
    if spec.details:
        lines.append(spec.details)
    return "\n".join(lines)


def complete(prefix: str) -> list[str]:
    """Command names, with their slash, that complete what was typed ("/se" -> ["/send"])."""
    if not prefix.startswith("/") or prefix.startswith("//") or any(c.isspace() for c in prefix):
        return []
    typed = prefix[1:].lower()
    return sorted(f"/{name}" for name in (*COMMANDS, *ALIASES) if name.startswith(typed))


def _split_name(text: str) -> tuple[str, str]:
    parts = text.split(maxsplit=1)
    if not parts or text[:1].isspace():
        return "", ""
    return parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")


def _resolve(typed: str) -> str:
    """The canonical name for a typed name or alias, or CommandError with a suggestion."""
    typed = typed.lower()
    if typed in COMMANDS:
        return typed
    if typed in ALIASES:
        return ALIASES[typed]
    known = [*COMMANDS, *ALIASES]
    guesses = [name for name in known if name.startswith(typed)] or difflib.get_close_matches(
        typed, known, n=1, cutoff=0.6
    )
    hint = f" Did you mean {_either(guesses)}?" if 0 < len(guesses) <= 3 else ""
    raise CommandError(f"Unknown command /{typed}.{hint} Type /help for the list.")


def _either(names: list[str]) -> str:
    slashed = [f"/{name}" for name in sorted(names)]
    return slashed[0] if len(slashed) == 1 else f"{', '.join(slashed[:-1])} or {slashed[-1]}"


def _check_count(spec: CommandSpec, args: list[str]) -> None:
    count = len(args)
    if spec.max_args == 0 and count:
        problem = "takes no arguments"
    elif count < spec.min_args:
        problem = "needs an argument" if spec.min_args == 1 else "needs more arguments"
    elif spec.max_args is not None and count > spec.max_args:
        problem = "takes one argument" if spec.max_args == 1 else "has too many arguments"
    else:
        return
    command = spec.usage.split()[0]
    raise CommandError(f"{command} {problem}. Usage: {spec.usage}")


def _transfer_id(name: str, text: str, spec: CommandSpec) -> str:
    match = _TRANSFER_ID.fullmatch(text)
    if not match:
        raise CommandError(
            f"/{name}: {text!r} is not a transfer number (see /transfers). Usage: {spec.usage}"
        )
    return match.group(1)


def _split_paths(text: str, *, windows: bool) -> list[str]:
    """Split like a shell: quotes group words; backslash escapes except on Windows paths."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    if windows:
        lexer.escape = ""
    try:
        paths = list(lexer)
    except ValueError as exc:  # an unclosed quote, or a backslash at the very end
        problem = (
            "a quote is not closed" if "quotation" in str(exc) else "a lone backslash at the end"
        )
        raise CommandError(f"/send: {problem}. Usage: {COMMANDS['send'].usage}") from None
    if any(not path for path in paths):
        raise CommandError(f"/send: an empty path. Usage: {COMMANDS['send'].usage}")
    return paths
