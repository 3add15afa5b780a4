"""Fixtures of the NAT lab: the lab itself and its extra homes, once per module. Peers start in
the lab's namespaces with `spawn(name, *args, netns=...)` (tests/conftest.py)."""

from __future__ import annotations

import pytest
from lab import NatLab, why_not


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
