"""Streaming SHA-256 helpers shared by the sending and receiving sides."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

CHUNK_SIZE = 256 * 1024  # bytes read at a time while hashing, and read_chunk()'s default
EMPTY_SHA256 = hashlib.sha256().hexdigest()


def hash_prefix(file: BinaryIO, length: int, hasher: hashlib._Hash) -> int:
    """Feed the first `length` bytes of `file` to `hasher`, chunk by chunk.

    Leaves the file positioned after them and returns how many bytes were read
    (fewer than `length` only if the file is shorter).
    """
    file.seek(0)
    remaining = length
    while remaining > 0:
        block = file.read(min(CHUNK_SIZE, remaining))
        if not block:
            break
        hasher.update(block)
        remaining -= len(block)
    return length - remaining
