"""Alice's app over a real session, with bob, a real session on loopback, connected to it."""

from __future__ import annotations

import contextlib
import time

from p2pchat.settings import Settings
from p2pchat.ui.app import ChatApp
from tests.support.session import start_session


async def wait_until(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; log: {pilot.app.log_view.rendered_lines()}"
        await pilot.pause(0.05)


@contextlib.asynccontextmanager
async def alice_app_and_bob(tmp_path, **bob_settings):
    """Alice's app (the real session, trusting new peers) with bob, a real session, connected."""
    settings = Settings(nickname="alice", port=0, bind="127.0.0.1", theme="textual-dark", port_mapping=False,
                        discoverable=False, stun="", accept_unknown="always")
    app = ChatApp(settings, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
        async with start_session(tmp_path, "bob", **bob_settings, connect=f"127.0.0.1:{app.session.listening_port}") as bob:
            await wait_until(pilot, lambda: app.session.peer is not None)
            yield app, pilot, bob


