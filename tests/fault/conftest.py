"""Fixtures for the fault suite: real peer processes that are always cleaned up."""

from __future__ import annotations

import pytest
from netns_link import Link, LinkUnavailable
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


@pytest.fixture
def netns_path():
    """netns_path(rate_mbit, rtt_ms, loss_percent=0) builds an emulated path (netns_link.Link)
    and returns it; it is removed at the end. Skips where the machine cannot build one."""
    made: list[Link] = []

    def build(rate_mbit: float | None, rtt_ms: float, loss_percent: float = 0) -> Link:
        link = Link()
        made.append(link)
        try:
            link.create()
            link.shape(rate_mbit, rtt_ms, loss_percent)
        except LinkUnavailable as exc:
            pytest.skip(str(exc))
        return link

    yield build
    for link in made:
        link.remove()
