"""The file side of transfers with real files: part files, resume, hashes, disk errors, sending."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import blake3
import pytest

from p2pchat.transfer import (
    CHUNK_SIZE,
    EMPTY_SHA256,
    IncomingFile,
    OutgoingFile,
    ProgressMeter,
    SendPathError,
    TransferError,
    describe_skipped,
    expand_send_paths,
    format_size,
)

PEER = "PEER-ID-ALICE"
LIMIT = 1 << 40


def make_file(path: Path, size: int, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(str(seed).encode()).digest() * (CHUNK_SIZE // 32 + 1)
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            out.write(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def offer_of(source: Path) -> OutgoingFile:
    [item] = expand_send_paths([str(source)], source.parent)
    return OutgoingFile(item)


def pump(sender: OutgoingFile, receiver: IncomingFile, limit: int | None = None) -> None:
    """Copy chunks as the session would, optionally stopping after `limit` bytes."""
    while not sender.finished and (limit is None or sender.sent < limit):
        offset = sender.sent
        receiver.write(offset, sender.read_chunk())


def incoming(downloads: Path, sender: OutgoingFile, **kwargs) -> IncomingFile:
    params = {"peer_id": PEER, "max_size": LIMIT} | kwargs
    return IncomingFile(downloads, sender.name, sender.size, sender.key, **params)


@pytest.fixture
def dirs(tmp_path):
    src, downloads = tmp_path / "src", tmp_path / "downloads"
    src.mkdir()
    return src, downloads


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- receiving --------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 17])
def test_round_trip_gives_identical_file(dirs, size):
    src, downloads = dirs
    source = make_file(src / "data.bin", size)
    sender = offer_of(source)
    receiver = incoming(downloads, sender)
    assert receiver.prepare() == 0
    sender.open(0)
    assert receiver.part_path.name == "data.bin.part"
    pump(sender, receiver)
    final = receiver.finish(sender.hex_digest())
    assert final == downloads.resolve() / "data.bin"
    assert sha256_of(final) == sha256_of(source)
    assert files_in(downloads) == ["data.bin"]  # no part file, no sidecar left


def test_a_blake3_transfer_resumes_and_checks_with_blake3(dirs):
    src, downloads = dirs
    source = make_file(src / "clip.bin", 4 * CHUNK_SIZE + 3)
    sender = OutgoingFile(expand_send_paths([str(source)], src)[0], "blake3")
    first = incoming(downloads, sender)
    first.prepare(None, "blake3")
    sender.open(0)
    pump(sender, first, limit=CHUNK_SIZE)
    first.abort(keep_part=True)
    sender.close()

    again = OutgoingFile(expand_send_paths([str(source)], src)[0], "blake3")
    second = incoming(downloads, again)
    assert second.prepare(None, "blake3") == CHUNK_SIZE  # the prefix on disk is hashed with BLAKE3
    again.open(CHUNK_SIZE)
    pump(again, second)
    digest = again.hex_digest()
    assert digest == blake3.blake3(source.read_bytes()).hexdigest()
    assert sha256_of(second.finish(digest, "blake3")) == sha256_of(source)


def test_a_hash_of_another_kind_than_prepared_fails_and_deletes_the_part(dirs):
    src, downloads = dirs
    source = make_file(src / "data.bin", 1000)
    sender = offer_of(source)
    receiver = incoming(downloads, sender)
    receiver.prepare(None, "blake3")
    sender.open(0)
    pump(sender, receiver)
    with pytest.raises(TransferError, match="sha256 hash where blake3 was agreed"):
        receiver.finish(sender.hex_digest(), "sha256")
    assert files_in(downloads) == []


def test_resume_after_connection_loss_continues_the_hash(dirs):
    src, downloads = dirs
    source = make_file(src / "movie.mkv", 5 * CHUNK_SIZE + 5)
    sender = offer_of(source)
    first = incoming(downloads, sender)
    first.prepare()
    sender.open(0)
    pump(sender, first, limit=2 * CHUNK_SIZE)
    first.abort(keep_part=True)
    sender.close()
    assert files_in(downloads) == ["movie.mkv.part", "movie.mkv.part.json"]

    again = offer_of(source)
    second = incoming(downloads, again)
    offset = second.prepare()
    assert offset == 2 * CHUNK_SIZE == second.resumed_from
    again.open(offset)
    pump(again, second)
    final = second.finish(again.hex_digest())
    assert sha256_of(final) == sha256_of(source)
    assert files_in(downloads) == ["movie.mkv"]


def leave_partial(downloads: Path, sender: OutgoingFile, length: int) -> None:
    """An earlier attempt that got `length` bytes before the connection dropped."""
    earlier = incoming(downloads, sender)
    earlier.prepare()
    earlier.write(0, b"x" * length)
    earlier.abort(keep_part=True)


def test_the_same_download_can_be_prepared_again_after_a_kept_abort(dirs):
    src, downloads = dirs
    source = make_file(src / "a.bin", 2 * CHUNK_SIZE)
    sender = offer_of(source)
    receiver = incoming(downloads, sender)
    receiver.prepare()
    sender.open(0)
    pump(sender, receiver, limit=CHUNK_SIZE)
    receiver.abort(keep_part=True)
    assert receiver.received == 0 and receiver.part_path is None
    assert receiver.prepare() == CHUNK_SIZE
    with pytest.raises(TransferError, match="already prepared"):
        receiver.prepare()
    pump(sender, receiver)
    assert sha256_of(receiver.finish(sender.hex_digest())) == sha256_of(source)
    with pytest.raises(TransferError, match="already finished"):
        receiver.prepare()
    receiver.abort(keep_part=False)  # after the end: changes nothing
    assert files_in(downloads) == ["a.bin"]


def test_resume_only_matches_same_peer_key_and_size(dirs):
    src, downloads = dirs
    sender = offer_of(make_file(src / "a.bin", 1000))
    leave_partial(downloads, sender, 400)
    other_peer = incoming(downloads, sender, peer_id="PEER-ID-MALLORY")
    assert other_peer.prepare() == 0
    assert other_peer.part_path.name == "a (1).bin.part"
    other_size = IncomingFile(downloads, "a.bin", 999, sender.key, PEER, LIMIT)
    assert other_size.prepare() == 0
    same = incoming(downloads, sender)
    assert same.prepare() == 400
    for download in (other_peer, other_size, same):
        download.abort(keep_part=False)
    assert files_in(downloads) == []


def test_offset_hint_caps_the_resume(dirs):
    src, downloads = dirs
    sender = offer_of(make_file(src / "a.bin", 1000))
    leave_partial(downloads, sender, 600)
    capped = incoming(downloads, sender)
    assert capped.prepare(offset_hint=100) == 100
    assert capped.part_path.stat().st_size == 100
    capped.abort(keep_part=True)
    fresh = incoming(downloads, sender)
    assert fresh.prepare(offset_hint=0) == 0


def test_one_part_file_is_never_shared_by_two_downloads(dirs):
    src, downloads = dirs
    sender = offer_of(make_file(src / "a.bin", 10))
    first, second = incoming(downloads, sender), incoming(downloads, sender)
    first.prepare()
    first.write(0, b"12345")
    assert second.prepare() == 0
    assert second.part_path != first.part_path


def test_hash_mismatch_deletes_the_part_file(dirs):
    src, downloads = dirs
    sender = offer_of(make_file(src / "a.bin", 3000))
    receiver = incoming(downloads, sender)
    receiver.prepare()
    sender.open(0)
    pump(sender, receiver)
    with pytest.raises(TransferError, match="its SHA-256 hash does not match"):
        receiver.finish("0" * 64)
    assert files_in(downloads) == []
    receiver.abort(keep_part=False)  # harmless afterwards


def receive_bytes(downloads: Path, name: str, data: bytes, key: str = "k", **kwargs) -> Path:
    """A whole download in one chunk; returns the final path."""
    receiver = IncomingFile(downloads, name, len(data), key, PEER, LIMIT, **kwargs)
    receiver.prepare()
    receiver.write(0, data)
    return receiver.finish(hashlib.sha256(data).hexdigest())


def ten_byte_download(downloads: Path) -> IncomingFile:
    receiver = IncomingFile(downloads, "a.bin", 10, "k", PEER, LIMIT)
    receiver.prepare()
    return receiver


def test_incomplete_file_is_refused_and_deleted(dirs):
    _, downloads = dirs
    receiver = ten_byte_download(downloads)
    receiver.write(0, b"12345")
    with pytest.raises(TransferError, match="received 5 of 10"):
        receiver.finish(hashlib.sha256(b"12345").hexdigest())
    assert files_in(downloads) == []


def test_data_past_the_announced_size_is_refused(dirs):
    _, downloads = dirs
    receiver = ten_byte_download(downloads)
    receiver.write(0, b"1234567")
    with pytest.raises(TransferError, match="past the announced size of 10"):
        receiver.write(7, b"8901")
    assert receiver.received == 7
    receiver.abort(keep_part=False)
    assert files_in(downloads) == []


def test_out_of_order_chunks_are_refused(dirs):
    _, downloads = dirs
    receiver = ten_byte_download(downloads)
    with pytest.raises(TransferError, match="offset 5, expected 0"):
        receiver.write(5, b"abc")
    receiver.write(0, b"abc")
    with pytest.raises(TransferError, match="offset 0, expected 3"):
        receiver.write(0, b"abc")  # a replayed chunk
    receiver.write(3, b"defghij")  # the refused chunks left no trace
    final = receiver.finish(hashlib.sha256(b"abcdefghij").hexdigest())
    assert final.read_bytes() == b"abcdefghij"
    with pytest.raises(TransferError, match="not open"):
        IncomingFile(downloads, "b.bin", 10, "k", PEER, LIMIT).write(0, b"x")


def test_existing_files_are_never_overwritten(dirs):
    src, downloads = dirs
    downloads.mkdir()
    (downloads / "report.pdf").write_bytes(b"precious")
    sender = offer_of(make_file(src / "report.pdf", 100))
    receiver = incoming(downloads, sender)
    receiver.prepare()
    sender.open(0)
    pump(sender, receiver)
    (downloads / "report (1).pdf").write_bytes(b"appeared meanwhile")  # a race
    final = receiver.finish(sender.hex_digest())
    assert final.name == "report (2).pdf"
    assert (downloads / "report.pdf").read_bytes() == b"precious"
    assert (downloads / "report (1).pdf").read_bytes() == b"appeared meanwhile"


def test_existing_symlink_with_the_offered_name_is_left_alone(dirs, tmp_path):
    _, downloads = dirs
    downloads.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    os.symlink(victim, downloads / "note.txt")
    assert receive_bytes(downloads, "note.txt", b"bad").name == "note (1).txt"
    assert victim.read_bytes() == b"keep me"


def test_symlinked_folder_pointing_outside_is_refused(dirs, tmp_path):
    _, downloads = dirs
    outside = tmp_path / "outside"
    outside.mkdir()
    downloads.mkdir()
    os.symlink(outside, downloads / "docs")
    receiver = IncomingFile(downloads, "docs/passwd", 4, "k", PEER, LIMIT)
    with pytest.raises(TransferError, match="outside"):
        receiver.prepare()
    assert list(outside.iterdir()) == []


def test_hostile_name_lands_inside_the_download_folder(dirs):
    _, downloads = dirs
    final = receive_bytes(downloads, "../../etc/passwd", b"hi")
    assert final == downloads.resolve() / "etc" / "passwd"


@pytest.mark.parametrize("name", ["..", "", "/", "C:\\"])
def test_unusable_names_are_refused_before_touching_disk(dirs, name):
    _, downloads = dirs
    with pytest.raises(TransferError):
        IncomingFile(downloads, name, 1, "k", PEER, LIMIT)
    assert not downloads.exists()


def test_offer_above_the_limit_is_refused_before_anything_is_created(dirs):
    _, downloads = dirs
    with pytest.raises(TransferError, match="above the limit of 1.0 MiB"):
        IncomingFile(downloads, "big.iso", 2 * 1024**2, "k", PEER, max_size=1024**2)
    assert not downloads.exists()
    for size in (-1, 1.5, True):
        with pytest.raises(TransferError, match="bad file size"):
            IncomingFile(downloads, "x", size, "k", PEER, LIMIT)
    with pytest.raises(TransferError, match="key"):
        IncomingFile(downloads, "x", 1, "k" * 129, PEER, LIMIT)


def test_nested_names_create_folders(dirs):
    _, downloads = dirs
    final = receive_bytes(downloads, "album/disc 1/track.flac", b"t")
    assert final == downloads.resolve() / "album" / "disc 1" / "track.flac"


def test_a_file_in_the_way_of_a_folder_is_a_clear_error(dirs):
    _, downloads = dirs
    downloads.mkdir()
    (downloads / "album").write_text("a file")
    with pytest.raises(TransferError):
        IncomingFile(downloads, "album/track.flac", 1, "k", PEER, LIMIT).prepare()
    assert (downloads / "album").read_text() == "a file"


def test_empty_folder_offer_creates_the_folder(dirs):
    _, downloads = dirs
    receiver = IncomingFile(downloads, "project/empty/", 0, "k", PEER, LIMIT)
    assert receiver.is_directory and receiver.display_name == "project/empty/"
    assert receiver.prepare() == 0
    assert receiver.finish(EMPTY_SHA256) == downloads.resolve() / "project" / "empty"
    assert (downloads / "project" / "empty").is_dir()
    with pytest.raises(TransferError, match="size 0"):
        IncomingFile(downloads, "other/", 5, "k", PEER, LIMIT)
    bad = IncomingFile(downloads, "x/", 0, "k", PEER, LIMIT)
    bad.prepare()
    with pytest.raises(TransferError, match="empty data"):
        bad.finish("1" * 64)


def test_save_as_puts_the_file_where_the_user_chose(dirs, tmp_path):
    _, downloads = dirs
    chosen = tmp_path / "elsewhere" / "renamed.txt"
    assert receive_bytes(downloads, "orig.txt", b"ok", save_as=chosen) == chosen
    assert chosen.read_bytes() == b"ok"


def test_long_offered_name_fits_with_part_suffix_and_numbering(dirs):
    _, downloads = dirs
    name = "z" * 400 + ".txt"
    for expected_suffix in (".txt", " (1).txt"):
        final = receive_bytes(downloads, name, b"z", key="k" + expected_suffix)
        assert final.name.endswith(expected_suffix) and len(final.name.encode()) <= 255


# -- disk errors ----------------------------------------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        reason = f"cannot mount a 64 KiB tmpfs here: {result.stderr.strip() or 'mount failed'}"
        print(reason)
        pytest.skip(reason)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_is_a_clear_error_and_removes_the_part_file(tiny_tmpfs):
    receiver = IncomingFile(tiny_tmpfs, "big.bin", 1024**2, "k", PEER, LIMIT)
    receiver.prepare()
    with pytest.raises(TransferError, match="disk full"):
        for offset in range(0, 1024**2, CHUNK_SIZE):
            receiver.write(offset, b"\0" * CHUNK_SIZE)
    assert list(tiny_tmpfs.iterdir()) == []
    with pytest.raises(TransferError):
        receiver.write(receiver.received, b"x")


def test_read_only_download_folder_is_a_clear_error(tiny_tmpfs):
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    receiver = IncomingFile(tiny_tmpfs, "a.txt", 1, "k", PEER, LIMIT)
    with pytest.raises(TransferError, match="read-only file system"):
        receiver.prepare()
    assert receiver.part_path is None


# -- sending ----------------------------------------------------------------------------


def test_expand_walks_folders_with_empty_ones(tmp_path):
    make_file(tmp_path / "proj" / "a.txt", 3)
    make_file(tmp_path / "proj" / "sub" / "b.txt", 5)
    (tmp_path / "proj" / "sub" / "empty").mkdir()
    (tmp_path / "proj" / "blank").mkdir()
    (tmp_path / "proj" / "nested" / "deeper").mkdir(parents=True)
    os.symlink(tmp_path / "proj", tmp_path / "proj" / "loop")  # not followed
    items = expand_send_paths(["proj"], tmp_path)
    assert [(i.name, i.size) for i in items] == [
        ("proj/a.txt", 3),
        ("proj/blank/", 0),
        ("proj/nested/deeper/", 0),
        ("proj/sub/b.txt", 5),
        ("proj/sub/empty/", 0),
    ]
    assert all(i.source.is_absolute() for i in items)
    assert [i.is_directory for i in items] == [False, True, True, False, True]
    (tmp_path / "lonely").mkdir()
    assert [i.name for i in expand_send_paths(["lonely/"], tmp_path)] == ["lonely/"]


def test_expand_handles_globs_home_and_several_paths(tmp_path, monkeypatch):
    for name in ("one.txt", "two.txt", "three.log"):
        make_file(tmp_path / name, 1)
    monkeypatch.setenv("HOME", str(tmp_path))
    names = [i.name for i in expand_send_paths(["*.txt", "~/three.log", "one.txt"], tmp_path)]
    assert names == ["one.txt", "two.txt", "three.log"]  # one.txt only once
    absolute = expand_send_paths([str(tmp_path / "t*")], Path("/"))
    assert [i.name for i in absolute] == ["three.log", "two.txt"]


def test_expand_reports_every_bad_path(tmp_path):
    make_file(tmp_path / "good.txt", 1)
    os.symlink(tmp_path / "gone", tmp_path / "broken")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(SendPathError) as caught:
        expand_send_paths(["good.txt", "missing.txt", "*.nothing", "broken", "pipe"], tmp_path)
    assert caught.value.problems == [
        "missing.txt: no such file or folder",
        "*.nothing: no files match",
        "broken: broken symbolic link",
        "pipe: not a regular file",
    ]


def test_a_folder_leaves_out_special_files_and_links_that_leave_it_and_says_so(tmp_path):
    import socket

    proj = tmp_path / "proj"
    make_file(proj / "a.txt", 3)
    make_file(tmp_path / "outside.txt", 7)
    os.mkfifo(proj / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(proj / "sock"))
    os.symlink(tmp_path / "outside.txt", proj / "escape.txt")  # would send an outside file's content
    os.symlink(proj / "a.txt", proj / "alias.txt")  # inside: followed
    os.symlink(tmp_path, proj / "up")  # a folder: loops and leaves
    os.symlink(tmp_path / "gone", proj / "broken")
    skipped: list[str] = []
    items = expand_send_paths(["proj"], tmp_path, skipped)
    listener.close()
    assert [(i.name, i.size) for i in items] == [("proj/a.txt", 3), ("proj/alias.txt", 3)]
    assert skipped == [
        "proj/up (a link to a folder)",
        "proj/broken (a broken link)",
        "proj/escape.txt (a link out of the folder)",
        "proj/pipe (a FIFO)",
        "proj/sock (a socket)",
    ]
    line = describe_skipped(skipped)
    assert "\n" not in line and line.endswith("proj/pipe (a FIFO) and 1 more")


def test_a_folder_holding_only_a_fifo_is_sent_as_an_empty_folder(tmp_path):
    (tmp_path / "only").mkdir()
    os.mkfifo(tmp_path / "only" / "pipe")
    skipped: list[str] = []
    assert [i.name for i in expand_send_paths(["only"], tmp_path, skipped)] == ["only/"]
    assert skipped == ["only/pipe (a FIFO)"]


def as_unprivileged_user(action):
    """Run action() as `nobody` in a forked child when we are root (root reads every file),
    and return what it returned or the text of what it raised."""
    if os.geteuid() != 0:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - the caller checks the text
            return f"{type(exc).__name__}: {exc}"
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                outcome = repr(action())
            except Exception as exc:  # noqa: BLE001
                outcome = f"{type(exc).__name__}: {exc}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(child, 0)
    return outcome


def test_expand_reports_unreadable_files(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="p2pchat-unreadable-"))
    try:
        folder.chmod(0o755)  # `nobody` may list the folder but not read the file
        secret = make_file(folder / "secret", 1)
        secret.chmod(0)
        outcome = as_unprivileged_user(lambda: expand_send_paths(["secret"], folder))
    finally:
        shutil.rmtree(folder)
    assert outcome.startswith("SendPathError") and "secret: permission denied" in outcome, outcome


def test_key_is_stable_for_the_same_file_and_changes_with_it(tmp_path):
    source = make_file(tmp_path / "a.bin", 10)
    first, second = offer_of(source), offer_of(source)
    assert first.key == second.key and len(first.key) <= 128
    os.utime(source, ns=(1, 1))
    assert offer_of(source).key != first.key
    assert offer_of(make_file(tmp_path / "b.bin", 10)).key != first.key


def test_file_changed_after_offer_is_refused(tmp_path):
    source = make_file(tmp_path / "a.bin", 10)
    sender = offer_of(source)
    make_file(source, 20)
    with pytest.raises(TransferError, match="changed since it was offered"):
        sender.open(0)


def test_file_shrinking_while_sent_is_an_error(tmp_path):
    source = make_file(tmp_path / "a.bin", 3 * CHUNK_SIZE)
    sender = offer_of(source)
    sender.open(0)
    sender.read_chunk()
    os.truncate(source, CHUNK_SIZE + 10)
    sender.read_chunk()
    with pytest.raises(TransferError, match="shrank"):
        sender.read_chunk()


def test_outgoing_resume_hashes_the_skipped_bytes(tmp_path):
    source = make_file(tmp_path / "a.bin", 2 * CHUNK_SIZE + 3)
    sender = offer_of(source)
    sender.open(CHUNK_SIZE + 1)
    assert sender.sent == CHUNK_SIZE + 1
    while sender.read_chunk():
        pass
    assert sender.hex_digest() == sha256_of(source)
    with pytest.raises(TransferError, match="outside the file"):
        offer_of(source).open(2 * CHUNK_SIZE + 4)
    half = offer_of(source)
    half.open(0)
    half.read_chunk()
    with pytest.raises(TransferError, match="hash asked for"):
        half.hex_digest()


def test_open_again_starts_over_and_closed_objects_refuse_cleanly(dirs):
    src, downloads = dirs
    source = make_file(src / "a.bin", 2 * CHUNK_SIZE + 1)
    sender = offer_of(source)
    sender.open(0)
    sender.read_chunk()
    sender.open(CHUNK_SIZE)  # a new FILE_ACCEPT after a reconnect
    while sender.read_chunk():
        pass
    assert sender.hex_digest() == sha256_of(source)
    sender.open(0)
    sender.close()
    with pytest.raises(TransferError, match="not open"):
        sender.read_chunk()
    receiver = incoming(downloads, sender)
    receiver.prepare()
    receiver.abort(keep_part=False)
    with pytest.raises(TransferError, match="not open"):
        receiver.write(0, b"late chunk")


def test_empty_folder_item_sends_nothing(tmp_path):
    (tmp_path / "void").mkdir()
    sender = offer_of(tmp_path / "void")
    assert sender.name == "void/" and sender.size == 0
    sender.open(0)
    assert sender.read_chunk() == b""
    assert sender.hex_digest() == EMPTY_SHA256


def test_memory_stays_flat_for_a_large_file(tmp_path):
    source = tmp_path / "sparse.bin"
    with open(source, "wb") as out:
        out.truncate(64 * 1024**2)
    sender = offer_of(source)
    receiver = incoming(tmp_path / "downloads", sender)
    receiver.prepare()
    tracemalloc.start()
    try:
        sender.open(0)
        pump(sender, receiver)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * CHUNK_SIZE, f"peak {peak} bytes"
    receiver.finish(sender.hex_digest())


# -- progress -------------------------------------------------------------------------


def test_progress_reports_about_ten_times_a_second_and_at_the_end():
    meter = ProgressMeter(total=1_000_000, now=0.0)
    reports = sum(meter.update(done=t * 500, now=t / 1000) for t in range(1, 2000))
    assert 18 <= reports <= 21
    assert meter.update(1_000_000, now=2.0005) is True  # the end, even 0.5 ms later
    assert meter.update(1_000_000, now=2.001) is False  # only once
    assert meter.eta == 0.0


def test_progress_speed_eta_and_average():
    meter = ProgressMeter(total=18_000_000, now=100.0, start=2_000_000)
    assert meter.eta is None  # unknown before any movement
    for step in range(1, 41):  # 1 MB/s for 4 s
        meter.update(2_000_000 + step * 100_000, now=100.0 + step / 10)
    assert meter.speed == pytest.approx(1_000_000, rel=0.01)
    assert meter.eta == pytest.approx(12.0, rel=0.02)
    for step in range(1, 121):  # then 4 MB/s: the smoothed speed follows within seconds
        meter.update(6_000_000 + step * 100_000, now=104.0 + step / 40)
    assert meter.speed > 3_500_000
    assert meter.finished
    assert meter.average_speed == pytest.approx(16_000_000 / 7.0)


def test_format_size():
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(16 * 1024**3) == "16.0 GiB"


def test_many_downloads_in_one_folder_do_not_reread_every_partial_file(dirs, monkeypatch):
    import p2pchat.transfer.incoming as incoming_module

    src, downloads = dirs
    reads = []
    read_sidecar = incoming_module.read_sidecar
    monkeypatch.setattr(incoming_module, "read_sidecar", lambda path: reads.append(path) or read_sidecar(path))
    many = [IncomingFile(downloads, f"f{n}.bin", 10, f"key-{n}", PEER, LIMIT) for n in range(200)]
    for download in many:
        assert download.prepare() == 0
    assert len(reads) < len(many)  # not once per partial file per offer: that grew with the square
    for download in many:
        download.abort(keep_part=True)
    again = IncomingFile(downloads, "f7.bin", 10, "key-7", PEER, LIMIT)
    assert again.prepare() == 0 and again.part_path.name == "f7.bin.part"  # found without a rescan
