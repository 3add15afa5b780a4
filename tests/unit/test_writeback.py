"""Write-behind of downloads, seen in the kernel's own page flags: while a file arrives, what is
more than two stretches behind is already on the disk, and a finished download has no page
left that is not.

Reading page flags needs Linux, root (/proc/kpageflags) and a file system with a disk under it
(tmpfs pages never become clean): elsewhere these tests skip.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import struct
import sys
import threading
from pathlib import Path

import pytest

from p2pchat.transfer import IncomingFile
from p2pchat.transfer.writeback import STRETCH, WriteBehind

PAGE = mmap.PAGESIZE
_DIRTY, _WRITEBACK = 1 << 4, 1 << 8  # KPF_DIRTY, KPF_WRITEBACK (linux/kernel-page-flags.h)
CHUNK = 1 << 20


def unwritten_pages(path: Path, start: int, end: int) -> int:
    """Pages of path[start:end] that the page cache holds but the disk does not have yet."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    start -= start % PAGE
    length, pages = end - start, -(-(end - start) // PAGE)
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, start)
        if address in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        try:
            for page in range(pages):  # map each page: cached already, nothing is read
                ctypes.c_ubyte.from_address(address + page * PAGE).value  # noqa: B018
            with open("/proc/self/pagemap", "rb") as pagemap, open("/proc/kpageflags", "rb") as kpageflags:
                pagemap.seek(address // PAGE * 8)
                entries = struct.unpack(f"{pages}Q", pagemap.read(pages * 8))
                count = 0
                for entry in entries:
                    kpageflags.seek((entry & ((1 << 55) - 1)) * 8)
                    count += bool(struct.unpack("Q", kpageflags.read(8))[0] & (_DIRTY | _WRITEBACK))
                return count
        finally:
            libc.munmap(address, length)
    finally:
        os.close(fd)


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """tmp_path, if page flags can be read there and an fsync leaves its pages clean."""
    if not sys.platform.startswith("linux") or not os.access("/proc/kpageflags", os.R_OK):
        pytest.skip("page flags need Linux and root")
    probe = tmp_path / "probe"
    with open(probe, "wb") as out:
        out.write(os.urandom(4 * PAGE))
        out.flush()
        dirty = unwritten_pages(probe, 0, 4 * PAGE)
        os.fsync(out.fileno())
    if not dirty or unwritten_pages(probe, 0, 4 * PAGE):
        pytest.skip(f"{tmp_path} has no disk under it (tmpfs?): its pages never become clean")
    return tmp_path


def test_a_download_is_on_disk_two_stretches_behind_and_whole_when_finished(disk: Path) -> None:
    size = 4 * STRETCH + CHUNK // 2
    incoming = IncomingFile(disk, "big.bin", size, "key", "PEER", 1 << 40)
    assert incoming.prepare() == 0
    digest = hashlib.sha256()
    block = os.urandom(CHUNK)
    checked = 0
    while incoming.received < size:
        data = block[: min(CHUNK, size - incoming.received)]
        incoming.write(incoming.received, data)
        digest.update(data)
        behind = incoming.received - 2 * STRETCH
        if behind > 0 and incoming.received % STRETCH == 0:
            assert unwritten_pages(incoming.part_path, 0, behind) == 0, f"at {incoming.received}"
            checked += 1
    assert checked == 2
    final = incoming.finish(digest.hexdigest())
    assert unwritten_pages(final, 0, size) == 0


def test_a_resumed_download_writes_behind_from_where_it_resumes(disk: Path) -> None:
    size = 4 * STRETCH
    data = os.urandom(size)
    first = IncomingFile(disk, "resumed.bin", size, "key", "PEER", 1 << 40)
    first.prepare()
    first.write(0, data[:CHUNK])
    first.abort(keep_part=True)
    again = IncomingFile(disk, "resumed.bin", size, "key", "PEER", 1 << 40)
    assert again.prepare() == CHUNK
    for offset in range(CHUNK, size, CHUNK):
        again.write(offset, data[offset:offset + CHUNK])
    assert unwritten_pages(again.part_path, CHUNK, 2 * STRETCH) == 0
    assert again.finish(hashlib.sha256(data).hexdigest()).read_bytes() == data


def test_the_flusher_keeps_up_two_stretches_behind_and_stops_when_closed(disk: Path) -> None:
    path = disk / "direct.bin"
    with open(path, "wb") as out:
        behind = WriteBehind(out, stretch=2 * CHUNK)
        for n in range(1, 9):
            out.write(os.urandom(CHUNK))
            behind.written(n * CHUNK)
            if n >= 6 and n % 2 == 0:  # a stretch is complete: all but the last two are durable
                assert unwritten_pages(path, 0, (n - 4) * CHUNK) == 0, f"after {n} MiB"
        behind.close()
    assert not any(thread.name == "write-behind" for thread in threading.enumerate())
