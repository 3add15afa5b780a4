"""The chat's actions in the command palette (ctrl+p)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from p2pchat.ui.app import ChatApp

# (title, help, input line). A line ending in a space needs an argument: the palette
# puts it into the input box for the user to finish; the others run at once.
PALETTE_COMMANDS: list[tuple[str, str, str]] = [
    ("Send file…", "Offer one or more files to the peer", "/send "),
    ("Accept file", "Accept the pending incoming file", "/accept"),
    ("Decline file", "Decline the pending incoming file", "/decline"),
    ("Cancel transfer", "Cancel the running transfer", "/cancel"),
    ("Transfers", "List transfers in the log", "/transfers"),
    ("Change nickname…", "Pick a new nickname", "/nick "),
    ("Connect to…", "Call a peer at HOST:PORT", "/connect "),
    ("Connection info", "Cipher, fingerprints, log file", "/info"),
    ("Ping", "Measure the round trip time", "/ping"),
    ("Verify peer", "Compare the short code with your peer", "/verify"),
    ("Clear log", "Clear the message log", "/clear"),
    ("Help", "Commands and keys", "/help"),
    ("Quit chat", "Say bye and leave", "/quit"),
]


class ChatCommandsProvider(Provider):
    def _run(self, line: str) -> None:
        app: ChatApp = self.app  # type: ignore[assignment]
        app.run_palette_line(line)

    async def discover(self) -> Hits:
        for title, help_text, line in PALETTE_COMMANDS:
            yield DiscoveryHit(title, partial(self._run, line), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, line in PALETTE_COMMANDS:
            score = matcher.match(f"{title} {line}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run, line),
                    text=title,
                    help=help_text,
                )
