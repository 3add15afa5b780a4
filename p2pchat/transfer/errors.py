"""The one exception type the transfer layer raises, so a session needs one `except`."""

from __future__ import annotations

import errno


class TransferError(Exception):
    """A transfer cannot go on. `reason` is short, human readable, and fit to send to the peer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeName(TransferError):
    """A peer-supplied file name leaves nothing usable once made safe."""


def describe_os_error(error: OSError) -> str:
    """A short reason for a disk error, fit for the user and the peer."""
    where = f": {error.filename}" if error.filename else ""
    messages = {
        errno.ENOSPC: "disk full",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENAMETOOLONG: "file name too long",
    }
    return messages.get(error.errno, error.strerror or str(error)) + where
