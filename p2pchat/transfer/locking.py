"""One lock per transfer object: a session may call close/abort from another thread
while a read or write is still running in its worker; they wait for it instead of
pulling the file out from under it."""

from __future__ import annotations

import functools


def serialised(method):
    """Run `method` holding the instance's `_lock` (a threading.RLock)."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked
