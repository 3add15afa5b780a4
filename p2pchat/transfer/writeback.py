"""Write-behind for a download: the disk writes each finished stretch while the next arrives.

A download is made durable by one fsync at the end. Left to itself, the kernel keeps the
whole file dirty in the page cache until then, and that fsync waits for all of it to reach
the disk. Here, each time a stretch is complete its writeback is started (Linux's
sync_file_range, through ctypes: Python has no binding), and the writer waits only for what
lies more than two stretches back, so a short stall of the disk holds nothing up, no more than
three stretches are ever unwritten, and the final fsync has at most those left.
Elsewhere the previous stretches are flushed with fdatasync at each stretch boundary.
Neither replaces the final fsync: they only move its work earlier.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import BinaryIO

STRETCH = 8 * 1024 * 1024  # bytes: large enough that the disk sees long sequential writes
IN_FLIGHT = 2  # stretches the disk may still be writing before the writer waits for the oldest

# <linux/fs.h>
_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4
_unavailable = object()
_sync_file_range = None  # loaded on first use; `_unavailable` where it cannot be


def _linux_sync_file_range():
    global _sync_file_range
    if _sync_file_range is None:
        _sync_file_range = _unavailable
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                function = ctypes.CDLL(None, use_errno=True).sync_file_range
                function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                function.restype = ctypes.c_int
                _sync_file_range = function
            except (OSError, AttributeError):
                pass
    return None if _sync_file_range is _unavailable else _sync_file_range


# What sync_file_range says where the file system or kernel does not do it.
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE}


def _flush_all(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # macOS, Windows
        os.fsync(fd)


class WriteBehind:
    """Follows one file written front to back from `start`: `written(end)` after each write."""

    def __init__(self, file: BinaryIO, start: int = 0, stretch: int = STRETCH) -> None:
        self._file = file
        self._fd = file.fileno()
        self._stretch = stretch
        self._started = start  # writeback is under way (or done) below this offset
        self._waited = start  # and known to be finished below this one
        self._range = _linux_sync_file_range()

    def written(self, end: int) -> None:
        """The bytes up to `end` are written; OSError if the disk fails them."""
        if end - self._started < self._stretch:
            return
        self._file.flush()  # what Python still buffers is invisible to the kernel
        wait_to = max(self._waited, end - IN_FLIGHT * self._stretch)
        if self._range is not None and self._call(self._started, end - self._started, _WRITE) and (
            wait_to <= self._waited
            or self._call(self._waited, wait_to - self._waited, _WAIT_BEFORE | _WRITE | _WAIT_AFTER)
        ):
            self._waited, self._started = wait_to, end
            return
        _flush_all(self._fd)
        self._started = self._waited = end

    def _call(self, offset: int, length: int, flags: int) -> bool:
        """False (and fdatasync from now on) where this file system does not do it."""
        if self._range(self._fd, offset, length, flags) == 0:
            return True
        import ctypes

        error = ctypes.get_errno()
        if error in _UNSUPPORTED:
            self._range = None
            return False
        raise OSError(error, os.strerror(error))
