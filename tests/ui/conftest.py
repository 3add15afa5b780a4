"""Fixtures for the app tests: a ChatApp wired to a FakeSession, a fixed clock and UTC."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_session import FIXED_TIME, FakeSession  # noqa: E402

from p2pchat.settings import Settings  # noqa: E402
from p2pchat.ui.app import ChatApp  # noqa: E402


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Timestamps render the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class Harness:
    """A ChatApp and the fake sessions its factory made (normally exactly one)."""

    def __init__(
        self, tmp_path: Path | None = None, settings: dict | None = None, **app_kwargs
    ) -> None:
        fields = {"nickname": "alice", "port": 8080, "theme": "textual-dark"}
        if tmp_path is not None:
            fields["download_dir"] = tmp_path
        fields.update(settings or {})
        self.sessions: list[FakeSession] = []
        self.app = ChatApp(
            Settings(**fields),
            session_factory=self._make_session,
            clock=lambda: FIXED_TIME,
            cursor_blink=False,
            **app_kwargs,
        )

    def _make_session(self, settings: Settings) -> FakeSession:
        self.sessions.append(FakeSession(settings))
        return self.sessions[-1]

    @property
    def fake(self) -> FakeSession:
        return self.sessions[-1]


@pytest.fixture
def harness(tmp_path) -> Harness:
    return Harness(tmp_path)
