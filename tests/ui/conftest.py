"""Fixtures for the app tests: a ChatApp wired to a FakeSession, a fixed clock and UTC."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from app_harness import Harness  # noqa: E402


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Timestamps render the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def harness(tmp_path) -> Harness:
    return Harness(tmp_path)
