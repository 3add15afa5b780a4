"""Write-behind for a download: the disk makes each finished stretch durable while the next
arrives.

A download is made durable by one fsync at the end. Left to itself, the kernel keeps the
whole file dirty in the page cache until then, and that fsync waits for all of it to reach
the disk (on a virtual machine, for the host to flush it too). Here, each time a stretch is
complete, a flusher thread fdatasyncs the file while the writer goes on; the writer waits only
when the flusher is more than two stretches behind, so no more than three stretches are ever
unflushed and the final fsync has at most those left.

Each fdatasync also flushes the disk's cache, which costs about as much as the data on a
virtual machine: measured here, 8 MiB stretches flushed at about 250 MiB/s, 32 MiB ones at
400-470. So stretches are long, and on Linux the writer starts the kernel's writeback of each
few MiB as they are written (sync_file_range, which neither waits nor flushes the cache): the
fdatasync then finds most of its stretch already written and only has the cache to flush.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import BinaryIO

STRETCH = 16 * 1024 * 1024  # bytes: long enough that the cache flush of each costs little
IN_FLIGHT = 2  # stretches the flusher may lag behind before the writer waits for it
START_EVERY = 4 * 1024 * 1024  # bytes written before their writeback is started
_SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>


def _start_writeback_call():
    """libc's sync_file_range (Linux; Python has no binding), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return call


_start_writeback = _start_writeback_call()


def _flush_all(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # macOS, Windows
        os.fsync(fd)


class WriteBehind:
    """Follows one file written front to back from `start`: `written(end)` after each write,
    `close()` when done with it (before the file is closed)."""

    def __init__(self, file: BinaryIO, start: int = 0, stretch: int = STRETCH) -> None:
        self._file = file
        self._fd = file.fileno()
        self._stretch = stretch
        self._asked = start  # a flush up to here is asked for (or done)
        self._started = start  # writeback started up to here
        self._flushed = start  # durable below this offset
        self._wanted = start  # what the flusher is to flush next
        self._error: OSError | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def written(self, end: int) -> None:
        """The bytes up to `end` are written; OSError if the disk fails them."""
        if end - self._started >= START_EVERY and _start_writeback is not None:
            self._file.flush()
            # A hint: a failure here (EIO included) comes back from the fdatasync.
            _start_writeback(self._fd, self._started, end - self._started, _SYNC_FILE_RANGE_WRITE)
            self._started = end
        if end - self._asked < self._stretch:
            return
        self._file.flush()  # what Python still buffers is invisible to the kernel
        self._asked = end
        with self._changed:
            self._raise_error()
            self._wanted = end
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._flush_loop, name="write-behind", daemon=True)
                self._thread.start()
            while self._flushed < end - IN_FLIGHT * self._stretch and self._error is None:
                self._changed.wait()
            self._raise_error()

    def close(self) -> None:
        """Stop the flusher (what it flushes now it finishes first)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _flush_loop(self) -> None:
        while True:
            with self._changed:
                while self._wanted <= self._flushed and not self._closed:
                    self._changed.wait()
                if self._closed or self._error is not None:
                    return
                target = self._wanted
            try:
                _flush_all(self._fd)
            except OSError as error:
                with self._changed:
                    self._error = error
                    self._changed.notify_all()
                return
            with self._changed:
                self._flushed = target
                self._changed.notify_all()
