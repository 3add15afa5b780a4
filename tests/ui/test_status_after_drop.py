"""The status bar after a drop and a reconnect says what is true now, over real sessions."""

from __future__ import annotations

import asyncio
import time

from p2pchat.paths import Paths
from p2pchat.session import Session
from p2pchat.settings import Settings
from p2pchat.ui.app import ChatApp

QUIET = dict(bind="127.0.0.1", port_mapping=False, discoverable=False, stun="", accept_unknown="always",
             heartbeat_interval=0.2, heartbeat_timeout=2.0, reconnect=1.0)


async def wait_until(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; status: {status(pilot.app)}"
        await pilot.pause(0.05)


def status(app) -> str:
    return str(app.query_one("#status").render())


def peer_session(root, **settings) -> Session:
    paths = Paths(root / "config", root / "data", root / "logs", root / "dl")
    return Session(Settings(**{**QUIET, **settings}), paths=paths, interactive=False)


async def test_after_the_peer_drops_no_dead_source_port_is_named(tmp_path):
    app = ChatApp(Settings(nickname="alice", port=0, theme="textual-dark", **QUIET))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
        bob = peer_session(tmp_path / "bob", nickname="bob", port=0,
                           connect=f"127.0.0.1:{app.session.listening_port}")
        await bob.start()
        try:
            await wait_until(pilot, lambda: app.session.peer is not None)
            source = app.session.peer.address  # bob's ephemeral port: gone once bob is
            assert source in status(app)
            bob._conn.abort()  # the link dies without a goodbye
            await bob.quit()
            await wait_until(pilot, lambda: app.session.peer is None)
            await pilot.pause(0.2)
            assert status(app).startswith("listening")
            assert source not in status(app) and "bob" not in status(app)
        finally:
            await asyncio.wait_for(bob.quit(), 5)


async def test_after_a_reconnect_the_fingerprint_is_back_and_the_old_round_trip_gone(tmp_path):
    slow = dict(heartbeat_interval=30.0, heartbeat_timeout=60.0)  # no round trip but the one pinged
    alice = peer_session(tmp_path / "alice", nickname="alice", port=0, **slow)
    await alice.start()
    port = alice.listening_port
    app = ChatApp(Settings(nickname="bob", port=0, theme="textual-dark", connect=f"127.0.0.1:{port}",
                           **{**QUIET, **slow}))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.session is not None and app.session.peer is not None)
            fingerprint = app.session.peer.short_fingerprint
            app.session.ping()
            await wait_until(pilot, lambda: "RTT" in status(app))
            alice._conn.abort()  # alice's end dies: bob calls her again
            await alice.quit()
            await wait_until(pilot, lambda: app.session.state == "reconnecting")
            await pilot.pause(0.1)
            assert "RTT" not in status(app) and fingerprint in status(app)  # whom it calls, no stale RTT
            alice = peer_session(tmp_path / "alice", nickname="alice", port=port, **slow)
            await alice.start()
            await wait_until(pilot, lambda: app.session.peer is not None)
            await pilot.pause(0.1)
            shown = status(app)
            assert shown.startswith("connected") and fingerprint in shown
            assert "RTT" not in shown and app.session.rtt_ms is None  # not measured on this link yet
            app.session.ping()
            await wait_until(pilot, lambda: "RTT" in status(app))
            assert fingerprint in status(app)  # the peer's key outranks our own port at 80 columns
    finally:
        await asyncio.wait_for(alice.quit(), 5)
