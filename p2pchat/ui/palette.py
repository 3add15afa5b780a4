"""The chat's actions in the command palette (ctrl+p)."""

from __future__ import annotations

from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from p2pchat.commands import COMMANDS


class RunsLines(Protocol):
    """The app, as the palette sees it (the app imports this module, not the reverse)."""

    def run_palette_line(self, line: str) -> None: ...

# (title, help, input line), from the slash commands that have a palette title. A line
# ending in a space needs an argument: the palette puts it into the input box for the user
# to finish; the others run at once.
PALETTE_COMMANDS: list[tuple[str, str, str]] = [
    (spec.title, spec.summary[:1].upper() + spec.summary[1:], f"/{name} " if spec.min_args else f"/{name}")
    for name, spec in COMMANDS.items()
    if spec.title
]


class ChatCommandsProvider(Provider):
    def _run(self, line: str) -> None:
        cast(RunsLines, self.app).run_palette_line(line)

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
