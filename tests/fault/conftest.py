"""Fixtures for the fault suite: real peer processes that are always cleaned up."""

from __future__ import annotations

import pytest
from plain_peer import PlainPeer


@pytest.fixture
def spawn(tmp_path):
    """spawn(name, *args, home=None, netns=None) starts a plain peer; all are killed at the end."""
    started: list[PlainPeer] = []

    def start(name: str, *args: str, home=None, netns=None, env=None) -> PlainPeer:
        peer = PlainPeer(name, home or tmp_path / name, *args, netns=netns, env=env).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()
