"""A receiver that quits (ctrl+q, /quit) in the middle of a download: the download is only
interrupted, on both sides, and resumes once the receiver is back and connects again."""

from __future__ import annotations

import os

from p2pchat.session.events import Connected, Disconnected, Notice, TransferUpdated
from tests.support.session import start_session, wait_until


async def test_a_receiver_that_quits_mid_download_gets_it_offered_again_and_resumes(tmp_path):
    size = 256 << 20  # at full loopback speed: chunks are still arriving when the receiver quits
    source = tmp_path / "out" / "movie.bin"
    source.parent.mkdir()
    with source.open("wb") as file:
        file.truncate(size)
        file.seek(size // 2)
        file.write(os.urandom(4096))
    part = tmp_path / "bob" / "downloads" / "movie.bin.part"
    async with start_session(tmp_path, "alice") as alice:
        async with start_session(tmp_path, "bob", auto_accept_files=True) as bob:
            await alice.session.connect(bob.address)
            await alice.events.wait_for(Connected)
            await alice.session.offer_files([source])
            await wait_until(lambda: part.exists() and part.stat().st_size >= 16 << 20, 30)
            await bob.session.quit()
            gone = await alice.events.wait_for(Disconnected)
            # bob's goodbye is heard although alice was still sending him file data
            assert gone.by_peer and gone.reason == "bob left (quit)"
        # Quitting interrupts: neither side fails the download, and bob keeps what arrived.
        updates = alice.events.of(TransferUpdated) + bob.events.of(TransferUpdated)
        assert [(e.transfer.direction, e.transfer.reason) for e in updates if e.transfer.state == "failed"] == []
        assert alice.session.transfers[0].state == "interrupted"
        assert 0 < part.stat().st_size < size

        async with start_session(tmp_path, "bob", auto_accept_files=True) as bob:
            # said at the start, before anyone is connected: the download waits for its sender
            waiting = await bob.events.wait_for(Notice, lambda e: "movie.bin from alice stopped at" in e.text)
            assert waiting.text.endswith("when p2pchat stopped: it resumes when alice offers it again")
            await bob.session.connect(f"127.0.0.1:{alice.session.listening_port}")
            done = await bob.events.wait_for(TransferUpdated, lambda e: e.transfer.state.final, timeout=60)
            # Offered again by the sender, accepted, and only the rest crossed.
            assert done.transfer.state == "done" and done.transfer.resumed_from > 0
