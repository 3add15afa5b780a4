"""A real magic-wormhole mailbox server (`twist wormhole-mailbox`) for tests, started and stopped."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.support.relay import TransitRelay


class MailboxServer(TransitRelay):
    service = "wormhole-mailbox"

    def __init__(self, host: str, port: int, netns: str | None = None, *, refuse: str | None = None) -> None:
        super().__init__(host, port, netns)
        self.refuse = refuse  # a welcome error every client gets (`--signal-error`)
        self.state = Path(tempfile.mkdtemp(prefix="mailbox-"))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/v1"

    def options(self) -> list[str]:
        options = [f"--channel-db={self.state / 'channels.sqlite'}"]
        return options + ([f"--signal-error={self.refuse}"] if self.refuse else [])
