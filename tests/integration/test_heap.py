"""Two real `p2pchat --plain` processes chat and move a file with every thread on one heap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

THREAD_HEAP = 64 * 1024 * 1024  # glibc reserves each extra heap at an address aligned to this


def thread_heaps(pid: int) -> list[str]:
    """The extra malloc heaps glibc made for threads: a reservation of exactly THREAD_HEAP
    bytes at an aligned address, its used part readable, the rest not."""
    regions = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) == 5:  # anonymous
            start, end = (int(part, 16) for part in fields[0].split("-"))
            regions.append((start, end, fields[1]))
    heaps = []
    for (start, end, perms), (next_start, next_end, next_perms) in zip(regions, regions[1:], strict=False):
        if start % THREAD_HEAP == 0 and perms == "rw-p" and next_start == end and next_perms == "---p" \
                and next_end == start + THREAD_HEAP:  # fmt: skip
            heaps.append(f"{start:x}")
    return heaps


@pytest.mark.skipif(not hasattr(os, "confstr") or "glibc" not in (os.confstr("CS_GNU_LIBC_VERSION") or ""),
                    reason="glibc's heaps")  # fmt: skip
def test_every_thread_shares_one_heap(spawn, tmp_path):
    # A thread's heap is chosen when it first allocates: the terminal's and the history's
    # threads start early, and what transfers left in their heaps stayed resident.
    alice = spawn("Alice", "--bind", "127.0.0.1", "--port", "0", "--auto-accept")
    bob = spawn("Bob", "--bind", "127.0.0.1", "--port", "0", "--connect", f"127.0.0.1:{alice.port()}")
    bob.wait_line(r"^\* connected to Alice")
    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    bob.type("hello", f"/send {source}")
    alice.wait_received("Bob", 1, 15)
    bob.wait_line(r"sent \(", 30)
    assert (tmp_path / "Alice" / "downloads" / "payload.bin").read_bytes() == source.read_bytes()
    assert thread_heaps(alice.pid) == []
    assert thread_heaps(bob.pid) == []
