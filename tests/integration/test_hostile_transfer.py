"""A raw peer that speaks the wire protocol badly to a real session (plain TCP).

Each case breaks one file rule; the session must fail only that transfer, tell the
raw peer why (FILE_CANCEL or FILE_RESULT), leave nothing in or outside the download
folder, and keep the chat working (a TEXT afterwards is acknowledged). The protocol's rules
(order, size, the cap, batches, repeated answers) are tested in memory against the engine in
tests/unit/test_transfer_engine.py; here are the cases that need the real disk."""

from __future__ import annotations

import hashlib
import os
import secrets

import blake3
import pytest

from p2pchat.protocol import (
    FileAccept,
    FileCancel,
    FileChunk,
    FileDone,
    FileOffer,
    FileResult,
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


async def test_a_chunk_past_the_end_fails_only_that_transfer_and_leaves_nothing_behind(tmp_path, target):
    # The rules are the engine's (tests/unit/test_transfer_engine.py); this checks the runner
    # discards the part file and the connection carries on.
    bob, peer = target
    tid = await offer_accepted(peer, "short.bin", 10)
    peer.send(FileChunk(tid, 0, b"x" * 8), FileChunk(tid, 8, b"y" * 8))
    await fails_with(peer, bob, tid, "more data than the announced 10 bytes")
    await wait_until(lambda: everything_under(tmp_path / "bob" / "downloads") == set())
    await peer.chat_still_works()


async def test_a_wrong_hash_fails_and_deletes_the_file(tmp_path, target):
    bob, peer = target
    downloads = tmp_path / "bob" / "downloads"
    tid = await offer_accepted(peer, "damaged.bin", 2000)
    peer.send(FileChunk(tid, 0, os.urandom(2000)), FileDone(tid, "0" * 64))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert not result.ok and "its SHA-256 hash does not match" in result.reason
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


async def test_an_upper_case_hash_is_accepted(tmp_path, target):
    bob, peer = target
    data = os.urandom(1000)
    tid = await offer_accepted(peer, "shout.bin", len(data))
    peer.send(FileChunk(tid, 0, data), FileDone(tid, hashlib.sha256(data).hexdigest().upper()))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert result.ok, result.reason
    assert (tmp_path / "bob" / "downloads" / "shout.bin").read_bytes() == data



@pytest.fixture
async def blake3_peer(tmp_path):
    """A raw peer whose HELLO says it hashes files with BLAKE3."""
    async with start_session(tmp_path, "bob", tls=False, auto_accept_files=True) as bob:
        peer = await RawPeer.connect(bob.session.listening_port, caps=("files", "blake3"))
        try:
            yield bob, peer
        finally:
            peer.close()


async def test_a_blake3_hash_is_checked_where_both_have_the_capability(tmp_path, blake3_peer):
    bob, peer = blake3_peer
    data = os.urandom(3000)
    tid = await offer_accepted(peer, "quick.bin", len(data))
    peer.send(FileChunk(tid, 0, data), FileDone(tid, blake3=blake3.blake3(data).hexdigest()))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert result.ok, result.reason
    assert (tmp_path / "bob" / "downloads" / "quick.bin").read_bytes() == data

    tid = await offer_accepted(peer, "damaged.bin", len(data))
    peer.send(FileChunk(tid, 0, data), FileDone(tid, blake3="0" * 64))
    result = await peer.expect(FileResult, lambda f: f.tid == tid)
    assert not result.ok and "its BLAKE3 hash does not match" in result.reason
    await peer.chat_still_works()


@pytest.mark.parametrize("caps", [("files",), ("files", "blake3")], ids=["sha256-agreed", "blake3-agreed"])
async def test_a_hash_of_the_other_kind_fails_the_transfer_and_leaves_nothing(tmp_path, caps):
    async with start_session(tmp_path, "bob", tls=False, auto_accept_files=True) as bob:
        peer = await RawPeer.connect(bob.session.listening_port, caps=caps)
        try:
            data = os.urandom(500)
            tid = await offer_accepted(peer, "mixed.bin", len(data))
            other = (FileDone(tid, sha256=hashlib.sha256(data).hexdigest()) if "blake3" in caps
                     else FileDone(tid, blake3=blake3.blake3(data).hexdigest()))
            peer.send(FileChunk(tid, 0, data), other)
            result = await peer.expect(FileResult, lambda f: f.tid == tid)
            assert not result.ok and "was agreed" in result.reason
            await wait_until(lambda: everything_under(tmp_path / "bob" / "downloads") == set())
            await peer.chat_still_works()
        finally:
            peer.close()
