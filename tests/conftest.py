"""Shared fixtures. Every test runs with P2PCHAT_HOME in a fresh temporary folder,
so no test can read or write the user's real settings, keys, history or downloads.

Tests under tests/nat, tests/fault and tests/e2e carry the marker of their folder, so
`pytest -m "not nat and not fault and not e2e"` is the quick run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from p2pchat import settings
from tests.support import alone
from tests.support.plain_peer import PlainPeer

SUITE_MARKERS = ("nat", "fault", "e2e")


# The folders whose files take longest, slowest first. They are handed out first, so that under
# pytest-xdist (pyproject.toml) the many short files at the end keep both workers busy until
# the last one, instead of one long file running on alone.
SLOW_FIRST = ("nat", "fault", "e2e", "integration", "ui")


def slowness(item) -> int:
    folder = Path(item.path).parent.name
    return SLOW_FIRST.index(folder) if folder in SLOW_FIRST else len(SLOW_FIRST)


def pytest_collection_modifyitems(items):
    for item in items:
        folder = Path(item.path).parent.name
        if folder in SUITE_MARKERS:
            item.add_marker(folder)
    items.sort(key=slowness)  # stable: each file keeps its order and stays in one piece


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist's controller hands each worker the run's lock (tests/support/alone.py)."""
    node.workerinput[alone.WORKER_INPUT] = alone.make_lock(node.config)


def pytest_unconfigure(config):
    alone.remove_lock(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with alone.turn(item):
        return (yield)


@pytest.fixture(autouse=True)
def p2pchat_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("p2pchat-home")
    monkeypatch.setenv("P2PCHAT_HOME", str(home))
    for key in list(os.environ):
        if key.startswith("P2PCHAT_") and key != "P2PCHAT_HOME":
            monkeypatch.delenv(key)
    # No test asks a real router for a port or announces itself on this machine's network,
    # the NAT lab turns both on inside its own namespaces.
    monkeypatch.setenv("P2PCHAT_PORT_MAPPING", "false")
    monkeypatch.setenv("P2PCHAT_DISCOVERABLE", "false")
    # Nor does any reach the public rendezvous or relay: both default to nothing here, for
    # Settings() made in the test and for p2pchat processes it starts.
    monkeypatch.setenv("P2PCHAT_RENDEZVOUS", "")
    monkeypatch.setenv("P2PCHAT_RELAY", "")
    monkeypatch.setattr(settings, "SERVER_DEFAULTS", {"rendezvous": "", "relay": ""})
    monkeypatch.setenv("P2PCHAT_STUN", "")  # nor a public STUN server
    return home


@pytest.fixture
def spawn(tmp_path):
    """spawn(name, *args, home=None, netns=None, env=None, tty=False) starts a real `p2pchat --plain`
    process (in namespace `netns` if given); every one is stopped at the end of the test."""
    started: list[PlainPeer] = []

    def start(name: str, *args: str, home: Path | None = None, netns: str | None = None,
              env: dict[str, str] | None = None, tty: bool = False) -> PlainPeer:
        peer = PlainPeer(name, home or tmp_path / name, *args, netns=netns, env=env, tty=tty).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()
