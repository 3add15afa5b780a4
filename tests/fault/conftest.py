"""Fixtures for the fault suite: emulated network paths that are always removed. Peer processes
come from `spawn` (tests/conftest.py)."""

from __future__ import annotations

import pytest
from netns_link import Link, LinkUnavailable


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
