"""Fixtures of the NAT lab: the lab itself (once per module) and plain peers inside it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fault"))  # plain_peer
from lab import NatLab, why_not  # noqa: E402
from plain_peer import PlainPeer  # noqa: E402


@pytest.fixture(scope="module")
def lab():
    reason = why_not()
    if reason:
        pytest.skip(reason)
    built = NatLab()
    try:
        built.create()
        built.relay.start()
        yield built
    finally:
        built.destroy()


@pytest.fixture
def spawn(tmp_path):
    """spawn(name, netns, *args) starts a plain peer in a namespace; all are killed at the end."""
    started: list[PlainPeer] = []

    def start(name: str, netns: str, *args: str, env: dict | None = None) -> PlainPeer:
        peer = PlainPeer(name, tmp_path / name, *args, netns=netns, env=env).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


@pytest.fixture(scope="module")
def upnp_home(lab):
    """Home 3: one machine behind a router that runs miniupnpd, with a STUN server for it."""
    from homes import UPNP_HOME, Home, StunServer, upnp_why_not

    reason = upnp_why_not()
    if reason:
        pytest.skip(reason)
    stun = StunServer(lab)
    home = Home(lab, UPNP_HOME, machines=1, upnp=True)
    try:
        yield home.create()
    finally:
        home.destroy()
        stun.stop()


@pytest.fixture(scope="module")
def lan_home(lab):
    """Home 4: three machines on one bridged LAN behind a router without UPnP."""
    from homes import LAN_HOME, Home

    home = Home(lab, LAN_HOME, machines=3, upnp=False)
    try:
        yield home.create()
    finally:
        home.destroy()
