"""glibc's heap, tuned for file chunks and kept from creeping up in a long session.

`tune()` runs once, before the process starts any thread; `return_free_memory()` after
a transfer. Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

_tuned = False
_libc: ctypes.CDLL | None = None  # glibc, once tuned


def _is_glibc() -> bool:
    try:
        return sys.platform == "linux" and os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):
        return False


def tune() -> None:
    """Keep chunk-sized buffers on the heap, and one heap for every thread.

    Above 128 KiB glibc serves each allocation with a fresh mmap and returns it with
    munmap, so every file chunk costs page faults on both sides; that halved the
    throughput. With a higher threshold such buffers are reused from the heap.

    A thread gets a heap of its own the first time it allocates, and what a transfer left
    scattered in one kept its pages resident. The limit only holds for threads that start
    after it, so it is set before any thread starts: set at the first connection, after the
    history's, the terminal's and the executor's threads, it left two or three extra heaps
    (a sending side held 4 MiB more after its first 10 MB file, and crept on after).
    """
    global _tuned, _libc
    if _tuned:
        return
    _tuned = True
    if not _is_glibc():
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 16 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 * 1024 * 1024)
        libc.mallopt(_M_ARENA_MAX, 1)
        _libc = libc
    except (OSError, AttributeError):
        pass


def return_free_memory() -> None:
    """Give the heap's free pages back to the system, once big buffers are done with.

    With the thresholds above glibc keeps what is freed (up to 64 MiB at the top of the
    heap, and every free page inside it) for reuse: each transfer left a few MiB more
    resident, so a long session crept up. malloc_trim(0) takes about a millisecond.
    """
    if _libc is not None:
        with contextlib.suppress(AttributeError):
            _libc.malloc_trim(0)
