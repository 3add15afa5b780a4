"""A raw peer that speaks the wire protocol badly to a real session (plain TCP).

Each case breaks one file rule; the session must fail only that transfer, tell the
raw peer why (FILE_CANCEL or FILE_RESULT), leave nothing in or outside the download
folder, and keep the chat working (a TEXT afterwards is acknowledged)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import secrets

import pytest

from p2pchat.protocol import (
    Ack,
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    OfferBatch,
    Text,
    new_transfer_id,
)
from p2pchat.session.events import TransferUpdated
from tests.support.raw_peer import RawPeer
from tests.support.session import start_session, wait_until

WAIT = 10.0


@pytest.fixture
async def target(tmp_path):
    async with start_session(tmp_path, "bob", tls=False, auto_accept_files=True) as bob:
        peer = await RawPeer.connect(bob.session.listening_port)
        try:
            yield bob, peer
        finally:
            peer.close()


def everything_under(root) -> set:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")} if root.exists() else set()


async def offer_accepted(peer: RawPeer, name: str, size: int) -> int:
    tid = new_transfer_id()
    peer.send(FileOffer(tid, name, size, secrets.token_hex(8)))
    accept = await peer.expect(FileAccept, lambda f: f.tid == tid)
    assert accept.offset == 0
    return tid


async def send_file(peer: RawPeer, name: str, data: bytes) -> tuple[int, FileResult]:
    tid = await offer_accepted(peer, name, len(data))
    if data:
        peer.send(FileChunk(tid, 0, data))
    peer.send(FileDone(tid, hashlib.sha256(data).hexdigest()))
    return tid, await peer.expect(FileResult, lambda f: f.tid == tid)


@pytest.mark.parametrize(
    ("name", "lands_as"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("/etc/passwd", "etc/passwd"),
        ("..\\..\\windows\\win.ini", "windows/win.ini"),
        ("CON", "_CON"),
        ("evil\x1b[2J\x1b]0;title\x07.txt", "evil_[2J_]0;title_.txt"),
        ("a/./../b/../../c.txt", "a/b/c.txt"),
    ],
)
async def test_hostile_names_land_inside_the_download_folder(tmp_path, target, name, lands_as):
    bob, peer = target
    downloads = tmp_path / "bob" / "downloads"
    data = os.urandom(1000)
    _, result = await send_file(peer, name, data)
    assert result.ok, result.reason
    assert (downloads / lands_as).read_bytes() == data
    outside = everything_under(tmp_path) - {f"bob/{p}" for p in everything_under(tmp_path / "bob")}
    assert not any("passwd" in p or "win.ini" in p or "c.txt" in p for p in outside)
    await peer.chat_still_works()


async def test_an_offer_for_a_name_that_exists_never_overwrites_it(tmp_path, target):
    bob, peer = target
    downloads = tmp_path / "bob" / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    (downloads / "notes.txt").write_bytes(b"original")
    _, result = await send_file(peer, "notes.txt", b"replacement")
    assert result.ok
    assert (downloads / "notes.txt").read_bytes() == b"original"
    assert (downloads / "notes (1).txt").read_bytes() == b"replacement"


async def fails_with(peer: RawPeer, bob, tid: int, words: str) -> None:
    cancel = await peer.expect(FileCancel, lambda f: f.tid == tid)
    assert words in cancel.reason
    await wait_until(lambda: any(
        e.transfer.state == "failed" and words in e.transfer.reason for e in bob.events.of(TransferUpdated)
    ))


async def test_more_data_than_announced_fails_the_transfer(tmp_path, target):
    bob, peer = target
    tid = await offer_accepted(peer, "small.bin", 100)
    peer.send(FileChunk(tid, 0, os.urandom(150)))
    await fails_with(peer, bob, tid, "more data than the announced")
    await wait_until(lambda: everything_under(tmp_path / "bob" / "downloads") == set())
    await peer.chat_still_works()


async def test_a_chunk_past_the_end_fails_the_transfer(tmp_path, target):
    bob, peer = target
    tid = await offer_accepted(peer, "past.bin", 100)
    peer.send(FileChunk(tid, 0, os.urandom(100)), FileChunk(tid, 100, b"x"))
    await fails_with(peer, bob, tid, "more data than the announced")
    await wait_until(lambda: everything_under(tmp_path / "bob" / "downloads") == set())
    await peer.chat_still_works()


async def test_a_chunk_out_of_order_fails_the_transfer(tmp_path, target):
    bob, peer = target
    tid = await offer_accepted(peer, "order.bin", 1000)
    peer.send(FileChunk(tid, 0, os.urandom(100)), FileChunk(tid, 500, os.urandom(100)))
    await fails_with(peer, bob, tid, "out of order")
    await wait_until(lambda: everything_under(tmp_path / "bob" / "downloads") == set())
    await peer.chat_still_works()


async def test_chunks_and_done_for_an_unknown_transfer_are_refused(tmp_path, target):
    bob, peer = target
    peer.send(FileChunk(12345, 0, b"who am I"))
    cancel = await peer.expect(FileCancel, lambda f: f.tid == 12345)
    assert "unknown transfer" in cancel.reason
    peer.send(FileDone(777, hashlib.sha256(b"").hexdigest()))
    cancel = await peer.expect(FileCancel, lambda f: f.tid == 777)
    assert "unknown transfer" in cancel.reason
    assert everything_under(tmp_path / "bob" / "downloads") == set()
    await peer.chat_still_works()


async def test_a_wrong_hash_fails_and_deletes_the_file(tmp_path, target):
    bob, peer = target
    downloads = tmp_path / "bob" / "downloads"
    tid = await offer_accepted(peer, "damaged.bin", 2000)
    peer.send(FileChunk(tid, 0, os.urandom(2000)), FileDone(tid, "0" * 64))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert not result.ok and "SHA-256 mismatch" in result.reason
    await wait_until(lambda: everything_under(downloads) == set())
    await peer.chat_still_works()


async def test_a_wrong_hash_never_replaces_an_existing_file(tmp_path, target):
    bob, peer = target
    downloads = tmp_path / "bob" / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    (downloads / "keep.txt").write_bytes(b"precious")
    tid = await offer_accepted(peer, "keep.txt", 5)
    peer.send(FileChunk(tid, 0, b"evil!"), FileDone(tid, "f" * 64))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert not result.ok
    await wait_until(lambda: everything_under(downloads) == {"keep.txt"})
    assert (downloads / "keep.txt").read_bytes() == b"precious"
    await peer.chat_still_works()


async def test_a_repeated_accept_streams_the_file_once(tmp_path, target):
    bob, peer = target
    data = os.urandom(3 * 1024 * 1024)
    source = tmp_path / "once.bin"
    source.write_bytes(data)
    await bob.session.offer_files([source])
    offer = await peer.expect(FileOffer)
    peer.send(FileAccept(offer.tid, 0), FileAccept(offer.tid, 0))
    frames = []
    while not isinstance(frame := await peer.next_frame(), FileDone):
        frames.append(frame)
    chunks = [f for f in frames if isinstance(f, FileChunk)]
    assert b"".join(c.data for c in chunks) == data
    assert [c.offset for c in chunks] == list(itertools.accumulate([0] + [len(c.data) for c in chunks[:-1]]))
    assert frame.sha256 == hashlib.sha256(data).hexdigest()
    peer.send(FileResult(offer.tid, True, ""))
    await wait_until(lambda: bob.session.transfers[0].state == "done")
    message_id = secrets.token_hex(16)
    peer.send(Text(message_id, 1.0, "anything more?", False))
    later = []
    while not isinstance(frame := await asyncio.wait_for(peer.next_frame(), WAIT), Ack):
        later.append(frame)
    assert not [f for f in frames + later if isinstance(f, (FileDone, FileCancel))]
    assert not [f for f in later if isinstance(f, FileChunk)]


async def test_an_accept_past_the_end_or_for_an_unknown_offer_is_cancelled(tmp_path, target):
    bob, peer = target
    source = tmp_path / "short.bin"
    source.write_bytes(b"0123456789")
    await bob.session.offer_files([source])
    offer = await peer.expect(FileOffer)
    peer.send(FileAccept(offer.tid, 11))
    cancel = await peer.expect(FileCancel, lambda f: f.tid == offer.tid)
    assert cancel.reason == "resume offset past the end of the file"
    await wait_until(lambda: bob.session.transfers[0].state == "failed")
    peer.send(FileAccept(4242, 0))
    cancel = await peer.expect(FileCancel, lambda f: f.tid == 4242)
    assert cancel.reason == "unknown transfer"
    await peer.chat_still_works()


async def test_our_sender_holds_back_offers_past_the_cap(tmp_path, target):
    from p2pchat.session.transfers import MAX_OPEN_OFFERS

    bob, peer = target
    for n in range(MAX_OPEN_OFFERS + 2):  # as many /sends, each of one file
        (tmp_path / f"{n:04}.txt").write_text(str(n))
        await bob.session.offer_files([tmp_path / f"{n:04}.txt"])
    offers = [await peer.expect(FileOffer) for _ in range(MAX_OPEN_OFFERS)]
    await peer.chat_still_works()  # nothing more came before the ACK
    assert not [f for f in list(peer.decoder) if isinstance(f, FileOffer)]
    peer.send(FileDecline(offers[0].tid, "not this one"))
    assert (await peer.expect(FileOffer)).name == f"{MAX_OPEN_OFFERS:04}.txt"
    held = [t for t in bob.session.transfers if t.state == "waiting"]
    assert [t.name for t in held] == [f"{MAX_OPEN_OFFERS + 1:04}.txt"]


async def test_a_folder_of_more_files_than_the_cap_is_offered_whole(tmp_path, target):
    from p2pchat.session.transfers import MAX_OPEN_OFFERS

    bob, peer = target
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(MAX_OPEN_OFFERS + 2):
        (folder / f"{n:04}.txt").write_text(str(n))
    await bob.session.offer_files([folder])
    offers = [await peer.expect(FileOffer) for _ in range(MAX_OPEN_OFFERS + 2)]  # a batch counts as one
    assert len({offer.batch.id for offer in offers}) == 1
    assert [t.state for t in bob.session.transfers] == ["offered"]


async def test_files_of_a_batch_are_not_declined_for_the_cap(target):
    from p2pchat.session.transfers import MAX_OPEN_OFFERS

    bob, peer = target
    count = MAX_OPEN_OFFERS + 10
    batch = OfferBatch(91, count, count, "lots/")
    peer.send(*(FileOffer(n, f"lots/{n:04}", 1, f"key{n}", batch) for n in range(1, count + 1)))
    peer.send(FileOffer(count + 1, "single.txt", 1, "key-single"))  # the batch counted once: room left
    answers = []

    async def until_the_single_is_answered():
        while not (answers and isinstance(answers[-1], (FileAccept, FileDecline)) and answers[-1].tid == count + 1):
            answers.append(await peer.next_frame())

    await asyncio.wait_for(until_the_single_is_answered(), WAIT)
    assert not [f for f in answers if isinstance(f, FileDecline)]
    await peer.chat_still_works()


async def test_an_upper_case_hash_is_accepted(tmp_path, target):
    bob, peer = target
    data = os.urandom(1000)
    tid = await offer_accepted(peer, "shout.bin", len(data))
    peer.send(FileChunk(tid, 0, data), FileDone(tid, hashlib.sha256(data).hexdigest().upper()))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert result.ok, result.reason
    assert (tmp_path / "bob" / "downloads" / "shout.bin").read_bytes() == data


async def test_a_late_chunk_is_dropped_quietly_and_an_unknown_one_cancelled(tmp_path, target):
    bob, peer = target
    tid = await offer_accepted(peer, "late.bin", 1000)
    peer.send(FileCancel(tid, "changed my mind"))
    await wait_until(lambda: bob.session.transfers[0].state == "cancelled")
    peer.send(FileChunk(tid, 0, b"in flight"), FileChunk(4243, 0, b"never offered"))
    cancel = await peer.expect(FileCancel)
    assert cancel.tid == 4243 and "unknown transfer" in cancel.reason  # none for the late one


async def test_files_beyond_what_a_batch_announced_are_declined_not_left_waiting(target):
    bob, peer = target
    batch = OfferBatch(77, 1, 1, "two/")
    peer.send(FileOffer(1, "two/a", 1, "k1", batch))
    await peer.expect(FileAccept, lambda f: f.tid == 1)
    peer.send(FileChunk(1, 0, b"x"), FileDone(1, hashlib.sha256(b"x").hexdigest()))
    await peer.expect(FileResult, lambda f: f.tid == 1 and f.ok)
    await bob.events.wait_for(TransferUpdated, lambda e: e.transfer.state == "done" and e.transfer.name == "two/")
    peer.send(FileOffer(2, "two/b", 1, "k2", batch))  # one more than it announced
    declined = await peer.expect(FileDecline, lambda f: f.tid == 2)
    assert declined.reason == "this batch is already finished"
    await peer.chat_still_works()
