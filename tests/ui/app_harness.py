"""A ChatApp wired to FakeSession factories with a fixed clock (tests, snapshots, benchmarks)."""

from __future__ import annotations

from pathlib import Path

from fake_session import ALICE_FINGERPRINT, FIXED_TIME, FakeSession

from p2pchat.identity import share_address
from p2pchat.settings import Settings
from p2pchat.ui.app import ChatApp


class Harness:
    """A ChatApp and the fake sessions its factory made (normally exactly one)."""

    def __init__(
        self, tmp_path: Path | None = None, settings: dict | None = None, **app_kwargs
    ) -> None:
        # Not discoverable unless a test says so (with a fake lan_factory): no mDNS from UI tests.
        fields = {"nickname": "alice", "port": 8080, "theme": "textual-dark", "discoverable": False}
        if tmp_path is not None:
            fields["download_dir"] = tmp_path
        fields.update(settings or {})
        self.sessions: list[FakeSession] = []
        self.app = ChatApp(
            Settings(**fields),
            session_factory=self._make_session,
            clock=lambda: FIXED_TIME,
            cursor_blink=False,
            address_for=lambda port: share_address("192.0.2.7", port, ALICE_FINGERPRINT),
            **app_kwargs,
        )

    def _make_session(self, settings: Settings) -> FakeSession:
        self.sessions.append(FakeSession(settings))
        return self.sessions[-1]

    @property
    def fake(self) -> FakeSession:
        return self.sessions[-1]
