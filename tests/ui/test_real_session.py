"""The app over a real Session: loopback TCP, real TLS, a second session as the peer."""

from __future__ import annotations

import asyncio
import socket
import time

from screen_text import screen_text

from p2pchat.paths import Paths
from p2pchat.session import Session
from p2pchat.session.events import MessageReceived
from p2pchat.settings import Settings
from p2pchat.ui.app import ChatApp
from p2pchat.ui.screens.connect import ConnectScreen
from p2pchat.ui.screens.identity import IdentityScreen


async def wait_until(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; log: {pilot.app.log_view.rendered_lines()}"
        await pilot.pause(0.05)


async def test_chat_with_a_real_peer(tmp_path):
    alice_settings = Settings(nickname="alice", port=0, bind="127.0.0.1", theme="textual-dark",
                              port_mapping=False, discoverable=False, stun="")
    app = ChatApp(alice_settings)
    bob_root = tmp_path / "bob"
    bob_paths = Paths(bob_root / "config", bob_root / "data", bob_root / "logs", bob_root / "dl")
    bob_events = []
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
        port = app.session.listening_port
        bob = Session(
            Settings(
                nickname="bob",
                port=0,
                bind="127.0.0.1",
                accept_unknown="always",
                connect=f"127.0.0.1:{port}",
                port_mapping=False,
                discoverable=False,
                stun="",
            ),
            paths=bob_paths,
            on_event=bob_events.append,
            interactive=False,
        )
        await bob.start()
        try:
            await wait_until(
                pilot, lambda: isinstance(app.screen, IdentityScreen) or app.session.peer
            )
            if isinstance(app.screen, IdentityScreen):
                await pilot.pause()  # let the dialog lay out before clicking it
                assert await pilot.click("#identity-accept")
            # The status bar follows the session's event, a moment after session.peer is set.
            await wait_until(pilot, lambda: "ENCRYPTED" in str(app.query_one("#status").render()))
            bob.send_text("[red]hello[/red] \x1b[2J")
            await wait_until(
                pilot, lambda: any("hello" in line for line in app.log_view.rendered_lines())
            )
            assert any(
                line.endswith("bob: [red]hello[/red] \\x1b[2J")
                for line in app.log_view.rendered_lines()
            )
            app.chat_input.value = "hi bob"
            await pilot.press("enter")
            await wait_until(pilot, lambda: any(isinstance(e, MessageReceived) for e in bob_events))
            received = [e.message.body for e in bob_events if isinstance(e, MessageReceived)]
            assert received == ["hi bob"]
            await wait_until(
                pilot, lambda: app.log_view.rendered_lines()[-1].endswith("✓✓ alice: hi bob")
            )
        finally:
            await asyncio.wait_for(bob.quit(), 5)
        assert app.is_running  # the peer leaving does not close the app
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0


async def test_the_connect_screen_listens_on_another_port_when_the_offered_one_is_taken():
    with socket.socket() as taken:  # another program holds the port the screen offers
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(nickname="alice", port=port, bind="127.0.0.1", theme="textual-dark",
                            port_mapping=False, discoverable=False)
        app = ChatApp(settings, show_connect_screen=True, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, ConnectScreen)
            assert f":{port}/" not in screen_text(app)  # no address before it listens
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
            listening = app.session.listening_port
            assert listening != port and not isinstance(app.screen, ConnectScreen)
            await wait_until(pilot, lambda: any("your address" in e.body for e in app.log_view.entries))
            shown = "\n".join(entry.body for entry in app.log_view.entries)
            assert f":{listening} (port {port} is in use)" in shown
            assert f"your address for your peer: p2pchat://127.0.0.1:{listening}/" in shown
            await pilot.press("ctrl+q")
            await pilot.pause()


async def test_a_taken_port_typed_on_the_connect_screen_is_refused_in_the_form_s_terms():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(nickname="alice", port=0, bind="127.0.0.1", theme="textual-dark",
                            port_mapping=False, discoverable=False)
        app = ChatApp(settings, show_connect_screen=True, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.query_one("#connect-port").value = str(port)
            await pilot.press("enter")
            await wait_until(pilot, lambda: "already in use" in screen_text(app))
            assert isinstance(app.screen, ConnectScreen)
            assert f"Cannot start: port {port} is already in use" in screen_text(app)
            assert "--port" not in screen_text(app)  # a form, not a command line
            await pilot.press("escape")
            await pilot.pause()


async def test_a_port_bound_before_the_app_is_shown_in_its_first_frame_and_used(tmp_path):
    """The command line binds the port before it imports the app: the app's first frame says
    so, before the session exists, and the session then listens on that very socket."""
    from p2pchat.net import bind
    from p2pchat.ui.app import _real_session_factory

    port = bind.bind_early("127.0.0.1", 0)
    assert port
    before_the_session = []

    def session_factory(settings):
        before_the_session.append(str(app.query_one("#status").render()))
        return _real_session_factory(settings)

    settings = Settings(nickname="alice", port=0, bind="127.0.0.1", port_explicit=True, theme="textual-dark",
                        port_mapping=False, discoverable=False)
    app = ChatApp(settings, session_factory=session_factory)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
            assert before_the_session and before_the_session[0].startswith("listening")
            assert f"port {port}" in before_the_session[0]
            assert app.session.listening_port == port
            assert bind.early_port() is None  # handed over
            await pilot.press("ctrl+q")
            await pilot.pause()
    finally:
        leftover = bind.take_early("127.0.0.1", 0)
        if leftover is not None:
            leftover.close()
async def test_scrolling_up_past_the_scrollback_brings_older_lines_back_from_the_history(tmp_path):
    settings = Settings(nickname="alice", port=0, bind="127.0.0.1", theme="textual-dark", port_mapping=False,
                        discoverable=False, accept_unknown="always", scrollback=100)
    app = ChatApp(settings)
    bob_root = tmp_path / "bob"
    bob = None
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
        bob = Session(
            Settings(nickname="bob", port=0, bind="127.0.0.1", accept_unknown="always", port_mapping=False,
                     discoverable=False, connect=f"127.0.0.1:{app.session.listening_port}"),
            paths=Paths(bob_root / "config", bob_root / "data", bob_root / "logs", bob_root / "dl"),
            interactive=False,
        )
        await bob.start()
        try:
            await wait_until(pilot, lambda: app.session.peer is not None)
            for n in range(400):
                bob.send_text(f"line {n}")
            log = app.log_view
            await wait_until(pilot, lambda: log.rendered_lines()[-1].endswith("bob: line 399"))
            assert len(log.entries) <= 100 + 100 // 8  # the oldest are gone from memory
            assert not any(line.endswith("bob: line 0") for line in log.rendered_lines())

            log.focus()
            for _ in range(10):  # each time the top is reached a page comes back
                await pilot.press("home")
                await pilot.pause(0.05)
                if any(line.endswith("bob: line 0") for line in log.rendered_lines()):
                    break
            shown = [line.rsplit("bob: ", 1)[1] for line in log.rendered_lines() if "bob: line" in line]
            assert shown == [f"line {n}" for n in range(400)]  # each once, in order
            assert not log.following
        finally:
            await asyncio.wait_for(bob.quit(), 5)
        await pilot.press("ctrl+q")
