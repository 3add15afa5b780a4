"""File transfers between two real sessions on loopback: sizes, folders, answers, cancels,
names that exist already, limits, a full disk, and a resume after the receiver was killed."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from p2pchat.display import offer_line, percent, result_line, transfer_lines
from p2pchat.session.events import (
    Connected,
    MessageReceived,
    Notice,
    TransferOffered,
    TransferUpdated,
)
from p2pchat.session.transfers import SEND_CHUNK
from p2pchat.transfer import source_key
from tests.support.session import free_port, start_session, two_sessions, wait_until

FINAL = ("done", "failed", "declined", "cancelled")


def final_of(peer, name: str | None = None) -> list:
    return [
        e.transfer for e in peer.events.of(TransferUpdated)
        if e.transfer.state in FINAL and (name is None or e.transfer.name == name)
    ]


async def wait_final(peer, count: int, timeout: float = 30) -> list:
    await wait_until(lambda: len(final_of(peer)) >= count, timeout)
    return final_of(peer)


def write_random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part*"))


@pytest.mark.parametrize(
    "size", [0, 1, 3 * SEND_CHUNK + 7, 20 * 1024 * 1024], ids=["empty", "one-byte", "several-chunks", "20MB"]
)
async def test_a_file_arrives_byte_for_byte(tmp_path, size):
    source = tmp_path / "out" / "payload.bin"
    data = write_random(source, size)
    async with two_sessions(tmp_path, auto_accept_files=True) as (a, b):
        await a.session.offer_files([source])
        (received,) = await wait_final(b, 1)
        (sent,) = await wait_final(a, 1)
        assert (received.state, sent.state) == ("done", "done")
        assert received.path == tmp_path / "bob" / "downloads" / "payload.bin"
        assert received.path.read_bytes() == data
        assert leftovers(tmp_path / "bob" / "downloads") == []
        # Both are p2pchat with the blake3 module: FILE_DONE carried a BLAKE3 hash.
        assert a.session.connection.file_hash == b.session.connection.file_hash == "blake3"


async def test_several_files_both_ways_at_once(tmp_path):
    mine = {f"a{n}.bin": write_random(tmp_path / "a-out" / f"a{n}.bin", 300_000 * n + 1) for n in range(3)}
    theirs = {f"b{n}.bin": write_random(tmp_path / "b-out" / f"b{n}.bin", 500_000 + n) for n in range(3)}
    async with two_sessions(tmp_path, auto_accept_files=True) as (a, b):
        await asyncio.gather(
            a.session.offer_files([tmp_path / "a-out" / n for n in mine]),
            b.session.offer_files([tmp_path / "b-out" / n for n in theirs]),
        )
        await wait_final(a, 2)  # each side: the batch it sent and the batch it received
        await wait_final(b, 2)
        assert {(t.state, t.name, t.file_count) for t in final_of(a) + final_of(b)} == {("done", "3 files", 3)}
    for name, data in mine.items():
        assert (tmp_path / "bob" / "downloads" / name).read_bytes() == data
    for name, data in theirs.items():
        assert (tmp_path / "alice" / "downloads" / name).read_bytes() == data


async def test_a_folder_tree_with_an_empty_folder(tmp_path):
    tree = tmp_path / "out" / "project"
    files = {
        "readme.txt": b"hello\n",
        "src/main.py": os.urandom(70_000),
        "src/deep/er/data.bin": os.urandom(SEND_CHUNK + 1),
    }
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    (tree / "empty").mkdir()
    async with two_sessions(tmp_path, auto_accept_files=True) as (a, b):
        ids = await a.session.offer_files([tree])
        assert len(ids) == 1  # one folder, one transfer
        (done,) = await wait_final(b, 1)
        assert (done.state, done.name, done.file_count, done.files_done) == ("done", "project/", 4, 4)
        assert done.path == tmp_path / "bob" / "downloads" / "project"
        (sent,) = await wait_final(a, 1)
        assert (sent.state, sent.name, sent.file_count) == ("done", "project/", 4)
    root = tmp_path / "bob" / "downloads" / "project"
    for rel, data in files.items():
        assert (root / rel).read_bytes() == data
    assert (root / "empty").is_dir() and not any((root / "empty").iterdir())


async def test_a_folder_with_a_fifo_and_an_outside_link_sends_the_rest_and_tells_the_sender(tmp_path):
    tree = tmp_path / "out" / "project"
    data = write_random(tree / "readme.txt", 100)
    write_random(tmp_path / "secret.txt", 10)
    os.mkfifo(tree / "pipe")
    os.symlink(tmp_path / "secret.txt", tree / "notes.txt")
    async with two_sessions(tmp_path, auto_accept_files=True) as (a, b):
        await a.session.offer_files([tree])
        (done,) = await wait_final(b, 1)
        assert (done.state, done.file_count) == ("done", 1)
        told = [e for e in a.events.of(Notice) if "not sent" in e.text]
        assert len(told) == 1 and told[0].level == "warning", told
        assert "project/notes.txt (a link out of the folder)" in told[0].text
        assert "project/pipe (a FIFO)" in told[0].text
        assert not [e for e in b.events.of(Notice) if "not sent" in e.text]
    root = tmp_path / "bob" / "downloads" / "project"
    assert sorted(p.name for p in root.iterdir()) == ["readme.txt"]
    assert (root / "readme.txt").read_bytes() == data


def make_tree(top: Path, count: int, size: int = 1000) -> dict[str, bytes]:
    return {f"f{n}.txt": write_random(top / f"f{n}.txt", size) for n in range(count)}


async def test_a_folder_is_one_question_one_row_and_one_result_on_each_side(tmp_path):
    make_tree(tmp_path / "out" / "many", 8)
    async with two_sessions(tmp_path) as (a, b):
        (sent_id,) = await a.session.offer_files([tmp_path / "out" / "many"])
        shown = a.events.find(TransferUpdated, lambda e: e.transfer.id == sent_id)  # its row, at once
        assert (shown.transfer.state, shown.transfer.file_count) == ("offered", 8)
        offer = (await b.events.wait_for(TransferOffered)).transfer
        assert (offer.name, offer.file_count, offer.size) == ("many/", 8, 8000)
        assert [t.id for t in b.session.transfers] == [offer.id]
        b.session.accept(offer.id)
        (received,) = await wait_final(b, 1)
        (sent,) = await wait_final(a, 1)
        assert len(b.events.of(TransferOffered)) == 1
        assert (received.state, received.files_done, sent.state, sent.id) == ("done", 8, "done", sent_id)
        assert [t.id for t in a.session.transfers] == [sent_id]
        assert {e.transfer.id for e in b.events.of(TransferUpdated)} == {offer.id}  # one row
    assert sorted(p.name for p in (tmp_path / "bob" / "downloads" / "many").iterdir()) == [f"f{n}.txt" for n in range(8)]


async def test_a_folder_sent_again_gets_a_new_name_as_a_whole(tmp_path):
    files = make_tree(tmp_path / "out" / "many", 3)
    async with two_sessions(tmp_path, auto_accept_files=True) as (a, b):
        for _ in range(2):
            await a.session.offer_files([tmp_path / "out" / "many"])
        await wait_final(b, 2)
        assert sorted(t.path.name for t in final_of(b)) == ["many", "many (1)"]
    downloads = tmp_path / "bob" / "downloads"
    assert sorted(p.name for p in downloads.iterdir()) == ["many", "many (1)"]
    for folder in ("many", "many (1)"):
        assert {p.name: p.read_bytes() for p in (downloads / folder).iterdir()} == files


async def test_declining_a_batch_declines_every_file_once(tmp_path):
    make_tree(tmp_path / "out" / "many", 5)
    async with two_sessions(tmp_path) as (a, b):
        await a.session.offer_files([tmp_path / "out" / "many"])
        offer = (await b.events.wait_for(TransferOffered)).transfer
        b.session.decline(offer.id)
        (sent,) = await wait_final(a, 1)
        (received,) = await wait_final(b, 1)
        assert (sent.state, sent.reason, received.state) == ("declined", "declined", "declined")
    assert not (tmp_path / "bob" / "downloads").exists()


async def test_decline_reaches_the_sender_and_nothing_is_written(tmp_path):
    source = tmp_path / "out" / "unwanted.bin"
    write_random(source, 1000)
    async with two_sessions(tmp_path) as (a, b):
        await a.session.offer_files([source])
        offer = (await b.events.wait_for(TransferOffered)).transfer
        b.session.decline(offer.id, "no thanks")
        (sent,) = await wait_final(a, 1)
        assert (sent.state, sent.reason) == ("declined", "no thanks")
        assert final_of(b)[0].state == "declined"
    downloads = tmp_path / "bob" / "downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []


@pytest.mark.parametrize("canceller", ["sender", "receiver"])
async def test_cancel_from_either_side_stops_both_and_removes_the_part_file(tmp_path, canceller):
    source = tmp_path / "out" / "big.bin"
    write_random(source, 8 * 1024 * 1024)
    async with two_sessions(tmp_path) as (a, b):
        (sent_id,) = await a.session.offer_files([source])
        offer = (await b.events.wait_for(TransferOffered)).transfer
        b.session.accept(offer.id)
        await b.events.wait_for(TransferUpdated, lambda e: e.transfer.state == "active")
        if canceller == "sender":
            a.session.cancel(sent_id)
        else:
            b.session.cancel(offer.id)
        (sent,) = await wait_final(a, 1)
        (received,) = await wait_final(b, 1)
        assert (sent.state, received.state) == ("cancelled", "cancelled")
        downloads = tmp_path / "bob" / "downloads"
        await wait_until(lambda: leftovers(downloads) == [])
        assert not (downloads / "big.bin").exists()
        # The chat goes on.
        a.session.send_text("still here")
        await b.events.wait_for(MessageReceived, lambda e: e.message.body == "still here")


async def test_an_existing_file_is_never_overwritten(tmp_path):
    downloads = tmp_path / "bob" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "report.txt").write_bytes(b"mine, keep me")
    source = tmp_path / "out" / "report.txt"
    data = write_random(source, 5000)
    async with two_sessions(tmp_path, auto_accept_files=True) as (a, b):
        await a.session.offer_files([source])
        (received,) = await wait_final(b, 1)
    assert received.state == "done"
    assert (downloads / "report.txt").read_bytes() == b"mine, keep me"
    assert received.path == downloads / "report (1).txt"
    assert received.path.read_bytes() == data


async def test_an_offer_above_the_size_limit_is_declined_with_the_reason(tmp_path):
    source = tmp_path / "out" / "huge.bin"
    write_random(source, 20_000)
    async with start_session(tmp_path, "alice") as a, start_session(
        tmp_path, "bob", auto_accept_files=True, max_file_size=10_000
    ) as b:
        await b.session.connect(a.address)
        await a.events.wait_for(Connected)
        await a.session.offer_files([source])
        (sent,) = await wait_final(a, 1)
        assert sent.state == "declined"
        assert "too large" in sent.reason and "limit" in sent.reason
        assert b.events.find(TransferOffered) is None  # never put to the user
        assert b.events.find(Notice, lambda e: "huge.bin" in e.text and "too large" in e.text)
    assert not (tmp_path / "bob" / "downloads").exists() or leftovers(tmp_path / "bob" / "downloads") == []


async def test_a_file_of_a_folder_above_the_size_limit_fails_the_batch_alike_on_both_sides(tmp_path):
    write_random(tmp_path / "out" / "mixed" / "big.bin", 20_000)
    small = write_random(tmp_path / "out" / "mixed" / "small.txt", 100)
    async with start_session(tmp_path, "alice") as a, start_session(
        tmp_path, "bob", auto_accept_files=True, max_file_size=10_000
    ) as b:
        await b.session.connect(a.address)
        await a.events.wait_for(Connected)
        await a.session.offer_files([tmp_path / "out" / "mixed"])
        (sent,) = await wait_final(a, 1)
        (received,) = await wait_final(b, 1)
        for side in (sent, received):
            assert side.state == "failed"
            assert side.reason.startswith("1 of 2 files failed, mixed/big.bin: file too large")
    assert (tmp_path / "bob" / "downloads" / "mixed" / "small.txt").read_bytes() == small


@pytest.fixture
def tiny_disk(tmp_path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        reason = f"cannot mount a 1 MiB tmpfs: {result.stderr.strip() or result.returncode}"
        print(reason)
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


async def test_a_full_disk_fails_clearly_on_both_sides_and_the_chat_goes_on(tmp_path, tiny_disk):
    source = tmp_path / "out" / "toobig.bin"
    write_random(source, 3 * 1024 * 1024)
    async with two_sessions(tmp_path, auto_accept_files=True, download_dir=tiny_disk) as (a, b):
        await a.session.offer_files([source])
        (received,) = await wait_final(b, 1)
        (sent,) = await wait_final(a, 1)
        assert (received.state, received.reason) == ("failed", "disk full")
        assert (sent.state, sent.reason) == ("failed", "disk full")
        await wait_until(lambda: list(tiny_disk.iterdir()) == [])
        a.session.send_text("after the disk filled up")
        await b.events.wait_for(MessageReceived, lambda e: e.message.body == "after the disk filled up")


# -- resume after the receiver was killed -------------------------------------------------


class SlowRelay:
    """Forwards loopback TCP to `target_port`, at most `rate` bytes/s from the dialer, so a
    transfer is still running when the test kills the receiver."""

    def __init__(self, target_port: int, rate: int) -> None:
        self.target_port = target_port
        self.rate = rate
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> SlowRelay:
        self.server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _accepted(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer, self.rate), self._pump(up_reader, writer, None),
                             return_exceptions=True)

    @staticmethod
    async def _pump(reader, writer, rate) -> None:
        try:
            while data := await reader.read(16384):
                writer.write(data)
                await writer.drain()
                if rate:
                    await asyncio.sleep(len(data) / rate)
        finally:
            writer.close()


class PlainReceiver:
    """`python -m p2pchat --plain --auto-accept` with its own P2PCHAT_HOME; stdout lines collected."""

    def __init__(self, home: Path, port: int, downloads: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("P2PCHAT_")}
        env.update(P2PCHAT_HOME=str(home), P2PCHAT_ACCEPT_UNKNOWN="always", PYTHONUNBUFFERED="1",
                   P2PCHAT_RELAY="", P2PCHAT_RENDEZVOUS="")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p2pchat", "--plain", "--nickname", "bob", "--bind", "127.0.0.1",
             "--port", str(port), "--auto-accept", "--download-dir", str(downloads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    async def wait_line(self, pattern: str, timeout: float = 20) -> str:
        regex = re.compile(pattern)
        await wait_until(lambda: any(regex.search(line) for line in self.lines), timeout)
        return next(line for line in self.lines if regex.search(line))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.mark.parametrize("what", ["file", "folder"])
async def test_a_killed_receiver_resumes_where_it_stopped(tmp_path, what):
    size = 6 * 1024 * 1024
    top = tmp_path / "out" / "album"
    big = write_random(top / "movie.bin", size)
    small = write_random(top / "notes.txt", 1000)
    downloads = tmp_path / "bob-downloads"
    lands_in = downloads / "album" if what == "folder" else downloads
    part = lands_in / "movie.bin.part"
    port = free_port()
    receiver = PlainReceiver(tmp_path / "bob", port, downloads)
    try:
        await receiver.wait_line("listening on port")
        async with SlowRelay(port, rate=6 * 1024 * 1024) as relay, start_session(tmp_path, "alice", reconnect=1) as a:
            await a.session.connect(f"127.0.0.1:{relay.port}")
            await a.events.wait_for(Connected)
            await a.session.offer_files([top if what == "folder" else top / "movie.bin"])
            await wait_until(lambda: part.exists() and part.stat().st_size >= size // 2, 20)
            receiver.kill()
            assert not (lands_in / "movie.bin").exists()
            kept = part.stat().st_size
            assert 0 < kept < size

            receiver = PlainReceiver(tmp_path / "bob", port, downloads)
            line = await receiver.wait_line(r"movie\.bin: resumed at \d+%", 30)
            percent = int(re.search(r"resumed at (\d+)%", line).group(1))
            assert percent >= 40
            # The sender says so once it has hashed what the receiver holds: maybe a little later.
            await a.events.wait_for(Notice, lambda e: re.search(r"movie\.bin: resumed at \d+%", e.text))
            line = await receiver.wait_line(r"(movie\.bin|album/) received", 30)
            assert "of it this time" in line  # what crossed after the resume, not the whole file
            (sent,) = [t for t in await wait_final(a, 1)]
            assert sent.state == "done" and sent.resumed_from > 0
            assert sent.file_count == (2 if what == "folder" else 1)
    finally:
        receiver.kill()
    # The folder resumes where it started: no `album (1)` beside it.
    assert sorted(p.name for p in downloads.iterdir()) == (["album"] if what == "folder" else ["movie.bin"])
    assert (lands_in / "movie.bin").read_bytes() == big
    if what == "folder":
        assert (lands_in / "notes.txt").read_bytes() == small
    assert leftovers(downloads) == []


async def test_an_offer_that_resumes_says_so_and_the_result_counts_what_crossed(tmp_path):
    source = tmp_path / "out" / "movie.bin"
    data = write_random(source, 200_000)
    async with two_sessions(tmp_path) as (a, b):
        # What an earlier, interrupted download of this file left behind at bob's.
        downloads = tmp_path / "bob" / "downloads"
        downloads.mkdir(parents=True)
        (downloads / "movie.bin.part").write_bytes(data[:100_000])
        info = source.stat()
        (downloads / "movie.bin.part.json").write_text(json.dumps({
            "peer_id": a.session.own_fingerprint, "key": source_key(source, info.st_size, info.st_mtime_ns),
            "size": info.st_size, "name": "movie.bin"}))
        await a.session.offer_files([source])
        offer = (await b.events.wait_for(TransferOffered)).transfer
        assert offer.resumed_from == 100_000
        assert offer_line(offer, "alice") == f"alice offers #{offer.id} movie.bin (195.3 KiB, resumes an interrupted download at 50%)"
        b.session.accept(offer.id)
        (received,) = await wait_final(b, 1)
        assert received.state == "done" and received.resumed_from == 100_000
        assert "97.7 KiB of it this time" in result_line(received)
    assert (downloads / "movie.bin").read_bytes() == data


async def test_a_download_sent_again_after_the_sender_restarted_replaces_its_interrupted_row(tmp_path):
    size = 6 * 1024 * 1024
    source = tmp_path / "out" / "movie.bin"
    data = write_random(source, size)
    async with start_session(tmp_path, "bob", auto_accept_files=True) as b:
        part = b.session.transfers_engine.downloads_dir / "movie.bin.part"
        async with SlowRelay(b.session.listening_port, rate=6 * 1024 * 1024) as relay:
            async with start_session(tmp_path, "alice") as a:
                await a.session.connect(f"127.0.0.1:{relay.port}")
                await a.events.wait_for(Connected)
                await a.session.offer_files([source])
                await wait_until(lambda: part.exists() and part.stat().st_size >= size // 4, 20)
            # alice quit mid-transfer: bob's row waits for her
            await wait_until(lambda: [t.state for t in b.session.transfers] == ["interrupted"], 10)
            (old,) = b.session.transfers
        async with start_session(tmp_path, "alice") as again:  # the same identity, restarted
            await again.session.connect(b.address)
            await again.events.wait_for(Connected)  # the unfinished send goes out again by itself
            await wait_until(lambda: [t.state for t in final_of(b)] == ["cancelled", "done"], 30)
            replaced, received = final_of(b)
            (sent,) = again.session.transfers
            assert replaced.id == received.id == sent.id == old.id  # numbered as before the restart
            assert replaced.reason == "offered again"
            assert [t.state for t in b.session.transfers] == ["done"]  # the old row gave its number up
    assert (b.session.transfers_engine.downloads_dir / "movie.bin").read_bytes() == data


async def test_after_the_receiver_restarts_a_folder_keeps_its_number_and_one_resume_percentage(tmp_path):
    size = 6 * 1024 * 1024
    top = tmp_path / "out" / "album"
    write_random(top / "movie.bin", size)
    write_random(top / "notes.txt", 1000)
    write_random(tmp_path / "out" / "first.txt", 10)
    port = free_port()
    part = tmp_path / "bob" / "downloads" / "album" / "movie.bin.part"
    async with SlowRelay(port, rate=6 * 1024 * 1024) as relay, start_session(tmp_path, "alice", reconnect=1) as a:
        async with start_session(tmp_path, "bob", port=port) as b:
            await a.session.connect(f"127.0.0.1:{relay.port}")
            await b.events.wait_for(Connected)
            await a.session.offer_files([tmp_path / "out" / "first.txt"])  # declined: both list it
            first = (await b.events.wait_for(TransferOffered)).transfer
            b.session.decline(first.id)
            (number,) = await a.session.offer_files([top])
            offer = (await b.events.wait_for(TransferOffered, lambda e: e.transfer.name == "album/")).transfer
            assert offer.id == number != first.id
            b.session.accept(offer.id)
            await wait_until(lambda: part.exists() and part.stat().st_size >= size // 3, 20)
        # bob quit mid-transfer and starts again: alice offers the rest of the folder again
        async with start_session(tmp_path, "bob", port=port) as again:
            await a.session.connect(f"127.0.0.1:{relay.port}")  # he said goodbye: she calls again
            offer = (await again.events.wait_for(TransferOffered, timeout=20)).transfer
            kept = part.stat().st_size
            assert (offer.id, offer.name, offer.resumed_from, offer.done) == (number, "album/", kept, kept)
            shown = percent(kept, offer.size)
            assert shown >= 33
            assert offer_line(offer, "alice").endswith(f"resumes an interrupted download at {shown}%)")
            await asyncio.sleep(0.3)  # the batch is summed up again meanwhile: what is here stays counted
            (listed,) = again.session.transfers
            assert (listed.state, listed.done) == ("offered", kept)
            assert transfer_lines([listed])[0].endswith(f"offered (resumes an interrupted download at {shown}%)")
            again.session.accept(number)
            (received,) = await wait_final(again, 1, 30)
            assert (received.id, received.state, received.resumed_from) == (number, "done", kept)
    assert leftovers(tmp_path / "bob" / "downloads") == []
