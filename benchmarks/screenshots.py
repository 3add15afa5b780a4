"""Save the README screenshots into resources/ from two real sessions.

    python benchmarks/screenshots.py [--text]   # --text also prints each screen as plain text

Alice is the full-screen app over a real `Session`; Bob is a second real `Session` on
loopback, with real TLS, history and files. They meet and chat, leave, and meet again:
the second meeting shows the history separator, a file received, and a file offer waiting
for an answer while Alice is typing. Saved at 80x24 and 120x40, plus the connect screen,
the help screen, the warning for a changed key, and /invite's code used by Bob.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from loguru import logger  # noqa: E402
from screen_text import screen_text  # noqa: E402

from p2pchat.paths import Paths  # noqa: E402
from p2pchat.session import Session  # noqa: E402
from p2pchat.settings import Settings  # noqa: E402
from p2pchat.ui.app import ChatApp  # noqa: E402
from p2pchat.ui.screens.identity import IdentityScreen  # noqa: E402

RESOURCES = ROOT / "resources"
SIZES = [(80, 24), (120, 40)]
SHOW_TEXT = "--text" in sys.argv


async def wait_until(pilot, condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(screen_text(pilot.app))
        await pilot.pause(0.05)


def log_has(app: ChatApp, text: str) -> bool:
    return any(text in entry.body for entry in app.log_view.entries)


def save(app: ChatApp, name: str) -> None:
    path = app.save_screenshot(f"{name}.svg", str(RESOURCES))
    print(path)
    if SHOW_TEXT:
        print(screen_text(app))


class Scene:
    """Alice's home (P2PCHAT_HOME) and Bob's, in a fresh temporary folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="p2pchat-shots-"))
        os.environ["P2PCHAT_HOME"] = str(self.root / "alice")
        self.downloads = self.root / "Downloads"
        self.files = self.root / "files"
        self.files.mkdir()

    def alice(self, port: int = 0, rendezvous: str = "", **options) -> ChatApp:
        settings = Settings(
            nickname="Alice",
            port=port,
            bind="127.0.0.1",
            accept_unknown="always",
            download_dir=self.downloads,
            theme="textual-dark",
            relay="",
            rendezvous=rendezvous,
        )
        return ChatApp(settings, cursor_blink=False, **options)

    def bob(self, port: int, home: str = "bob", rendezvous: str = "", connect: str = "") -> Session:
        root = self.root / home
        paths = Paths(root / "config", root / "data", root / "logs", root / "downloads")
        settings = Settings(
            nickname="Bob", port=0, bind="127.0.0.1", connect=connect or f"127.0.0.1:{port}", relay="",
            rendezvous=rendezvous,
        )
        return Session(settings, paths=paths, interactive=False)


async def meet(pilot, app: ChatApp, scene: Scene, home: str = "bob") -> Session:
    await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
    bob = scene.bob(app.session.listening_port, home)
    await bob.start()
    return bob


async def say(pilot, app: ChatApp, line: str) -> None:
    app.chat_input.value = line
    await pilot.press("enter")
    await pilot.pause()


async def chat_screens(size: tuple[int, int]) -> None:
    scene = Scene()
    width, height = size
    # The first meeting: a short chat that becomes history.
    app = scene.alice()
    async with app.run_test(size=size) as pilot:
        bob = await meet(pilot, app, scene)
        await wait_until(pilot, lambda: app.session.peer is not None)
        bob.send_text("hi Alice! did the photos from the trip come through?")
        await wait_until(pilot, lambda: log_has(app, "photos from the trip"))
        await say(pilot, app, "not yet, the upload keeps failing here")
        await wait_until(pilot, lambda: app.log_view.entries[-1].state == "delivered")
        await bob.quit()
        await pilot.press("ctrl+q")

    # The second meeting: history above the separator, a file received, one offered.
    note = scene.files / "packing list.txt"
    note.write_text("tent\nstove\nmaps\n" * 2000)
    video = scene.files / "trip-video-from-the-mountains.mp4"
    with video.open("wb") as out:
        out.truncate(734_003_200)
    app = scene.alice()
    async with app.run_test(size=size) as pilot:
        bob = await meet(pilot, app, scene)
        await wait_until(pilot, lambda: log_has(app, "earlier messages above"))
        bob.send_text("back again. Sending the packing list and the video from the trip.")
        await wait_until(pilot, lambda: log_has(app, "packing list and the video"))
        await bob.offer_files([note])
        await wait_until(pilot, lambda: log_has(app, "offers #"))
        await say(pilot, app, "/accept")
        await wait_until(pilot, lambda: log_has(app, "received to"))
        await bob.offer_files([video])
        await wait_until(pilot, lambda: app.transfers_panel.rows)
        for key in "thanks! the video is big, one moment":
            await pilot.press(key if key != " " else "space")
        await pilot.pause(0.3)
        save(app, f"chat-{width}x{height}")
        if size == SIZES[0]:
            await pilot.press("f1")
            await pilot.pause(0.3)
            save(app, "help")
            await pilot.press("escape")
            # A "Bob" with another key shows up: a changed identity, refused loudly.
            await bob.quit()
            await wait_until(pilot, lambda: app.session.peer is None)
            impostor = await meet(pilot, app, scene, home="impostor")
            await wait_until(pilot, lambda: isinstance(app.screen, IdentityScreen), timeout=30)
            await pilot.pause(0.3)
            save(app, "identity-warning")
            await pilot.press("escape")
            await impostor.quit()
        else:
            await bob.quit()
        await pilot.press("ctrl+q")


async def connect_screen() -> None:
    scene = Scene()
    app = scene.alice(port=8080, show_connect_screen=True)
    async with app.run_test(size=SIZES[0]) as pilot:
        await pilot.pause(0.3)
        save(app, "connect")
        await pilot.press("escape")


async def code_invite() -> None:
    """Alice's /invite shows a code; Bob types it and they meet, through a real mailbox server
    on loopback (the one the tests start)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from mailbox_server import MailboxServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MailboxServer("127.0.0.1", port).start()
    try:
        scene = Scene()
        app = scene.alice(rendezvous=server.url)
        async with app.run_test(size=SIZES[0]) as pilot:
            await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
            await say(pilot, app, "/invite")
            await wait_until(pilot, lambda: log_has(app, "code: "))
            code = next(e.body for e in app.log_view.entries if e.body.startswith("code: ")).split()[1]
            bob = scene.bob(0, rendezvous=server.url, connect=code)
            await bob.start()
            await wait_until(pilot, lambda: app.session.peer is not None)
            bob.send_text("hi Alice, I typed the code you read out")
            await wait_until(pilot, lambda: log_has(app, "I typed the code"))
            await pilot.pause(0.3)
            save(app, "code-invite")
            await bob.quit()
            await pilot.press("ctrl+q")
    finally:
        server.stop()


def main() -> None:
    logger.remove()  # the sessions' log lines would land between the screens
    for size in SIZES:
        asyncio.run(chat_screens(size))
    asyncio.run(connect_screen())
    asyncio.run(code_invite())


if __name__ == "__main__":
    main()
