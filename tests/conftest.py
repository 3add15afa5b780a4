"""Shared fixtures. Every test runs with P2PCHAT_HOME in a fresh temporary folder,
so no test can read or write the user's real settings, keys, history or downloads."""

from __future__ import annotations

import pytest

from p2pchat import settings


@pytest.fixture(autouse=True)
def p2pchat_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("p2pchat-home")
    monkeypatch.setenv("P2PCHAT_HOME", str(home))
    for key in list(__import__("os").environ):
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
