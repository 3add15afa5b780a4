"""File offers in the app over a real peer: what an offer holds is named before it is answered,
both sides say one number, and an offer that resumes shows one percentage everywhere."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from screen_text import screen_text

from p2pchat.paths import Paths
from p2pchat.session import Session
from p2pchat.session.events import TransferUpdated
from p2pchat.settings import Settings
from p2pchat.transfer import source_key
from p2pchat.ui.app import ChatApp
from p2pchat.ui.screens.offer import OfferScreen


async def wait_until(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; log: {pilot.app.log_view.rendered_lines()}"
        await pilot.pause(0.05)


def log_text(app: ChatApp) -> str:
    return "\n".join(entry.body for entry in app.log_view.entries)


def panel_rows(app: ChatApp) -> list[str]:
    return [row.render().plain for row in app.transfers_panel.rows.values()]


class Sender:
    """Bob, a real session that dials the app and offers files to it."""

    def __init__(self, root: Path, port: int | None) -> None:
        self.events: list = []
        paths = Paths(root / "config", root / "data", root / "logs", root / "downloads")
        self.session = Session(
            Settings(nickname="bob", port=0, bind="127.0.0.1", accept_unknown="always",
                     connect=f"127.0.0.1:{port}" if port else None, port_mapping=False, discoverable=False,
                     stun=""),
            paths=paths, on_event=self.events.append, interactive=False,
        )

    def final(self) -> list:
        return [e.transfer for e in self.events if isinstance(e, TransferUpdated) and e.transfer.state.final]


def receiver_app(tmp_path: Path, **settings) -> ChatApp:
    return ChatApp(Settings(nickname="alice", port=0, bind="127.0.0.1", theme="textual-dark", port_mapping=False,
                            discoverable=False, stun="", accept_unknown="always",
                            download_dir=tmp_path / "alice-downloads", **settings), cursor_blink=False)


async def test_a_folder_offer_names_its_files_and_both_sides_say_its_number(tmp_path):
    album = tmp_path / "out" / "album"
    album.mkdir(parents=True)
    for n in range(1, 41):
        (album / f"{n:02}.txt").write_bytes(b"x" * 1000)
    (tmp_path / "out" / "draft.txt").write_text("never sent")
    app = receiver_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
        bob = Sender(tmp_path / "bob", None)
        await bob.session.start()
        try:
            # Offered before anyone connected, and taken back: bob lists it, alice never hears of it.
            (draft,) = await bob.session.offer_files([tmp_path / "out" / "draft.txt"])
            bob.session.cancel(draft)
            await bob.session.connect(f"127.0.0.1:{app.session.listening_port}")
            await wait_until(pilot, lambda: app.session.peer is not None)
            (number,) = await bob.session.offer_files([album])
            await wait_until(pilot, lambda: "offers #" in log_text(app) and "album/" in log_text(app))
            shown = log_text(app)
            assert f"bob offers #{number} album/ (40 files, 39.1 KiB): F2 to answer" in shown
            assert (f"#{number} album/: 01.txt (1000 B), 02.txt (1000 B), 03.txt (1000 B), 04.txt (1000 B), "
                    "05.txt (1000 B) and 35 more, 39.1 KiB in all") in shown
            (row,) = panel_rows(app)
            assert row.startswith(f"#{number} ↓ album/ (40 files)")

            await pilot.press("f2")
            await wait_until(pilot, lambda: isinstance(app.screen, OfferScreen))
            await pilot.pause()
            dialog = screen_text(app)
            assert f"Incoming files #{number}" in dialog
            assert "01.txt (1000 B)" in dialog and "05.txt (1000 B)" in dialog and "06.txt" not in dialog
            assert "and 35 more, 39.1 KiB in all" in dialog

            await pilot.press("enter")  # Accept
            await wait_until(pilot, lambda: len(bob.final()) == 2, 30)  # the draft, then the album
            await wait_until(pilot, lambda: f"#{number} album/ received" in log_text(app))
            assert [(t.id, t.state) for t in bob.final()][-1] == (number, "done")
            assert [t.id for t in app.session.transfers] == [number]
        finally:
            await asyncio.wait_for(bob.session.quit(), 10)
        await pilot.press("ctrl+q")
        await pilot.pause()


async def test_an_offer_that_resumes_shows_one_percentage_in_the_log_the_panel_and_the_dialog(tmp_path):
    source = tmp_path / "out" / "movie.bin"
    source.parent.mkdir(parents=True)
    data = bytes(range(256)) * 800  # 200 KiB
    source.write_bytes(data)
    app = receiver_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.listening_port)
        bob = Sender(tmp_path / "bob", app.session.listening_port)
        await bob.session.start()
        try:
            await wait_until(pilot, lambda: app.session.peer is not None)
            # What an earlier, interrupted download of this file left at alice's: 30% of it.
            downloads = tmp_path / "alice-downloads"
            downloads.mkdir()
            (downloads / "movie.bin.part").write_bytes(data[: len(data) * 3 // 10])
            info = source.stat()
            (downloads / "movie.bin.part.json").write_text(json.dumps({
                "peer_id": bob.session.own_fingerprint, "key": source_key(source, info.st_size, info.st_mtime_ns),
                "size": info.st_size, "name": "movie.bin"}))
            (number,) = await bob.session.offer_files([source])
            await wait_until(pilot, lambda: "offers #" in log_text(app))
            assert f"bob offers #{number} movie.bin (200.0 KiB, resumes an interrupted download at 30%)" in log_text(app)
            await pilot.pause()
            (row,) = panel_rows(app)
            assert " 30% " in row and row.rstrip().endswith("offered")
            await pilot.press("f2")
            await wait_until(pilot, lambda: isinstance(app.screen, OfferScreen))
            await pilot.pause()
            assert "resumes an interrupted download at 30% (60.0 KiB already here)" in screen_text(app)
            await pilot.press("enter")
            await wait_until(pilot, lambda: f"#{number} movie.bin received" in log_text(app), 30)
            assert "movie.bin: resumed at 30%" in log_text(app)
        finally:
            await asyncio.wait_for(bob.session.quit(), 10)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert (tmp_path / "alice-downloads" / "movie.bin").read_bytes() == data
