"""Fixtures for the app tests: a ChatApp wired to a FakeSession, a fixed clock and UTC."""

from __future__ import annotations

import time

import pytest
from app_harness import Harness


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
