"""File transfer on disk: safe names, part files and resume, chunked hashed reading, progress.

No networking here. Constructors and properties never block; the other methods do
disk I/O and are meant to run in a worker thread (`asyncio.to_thread`).
"""

from p2pchat.transfer.errors import TransferError, UnsafeName, describe_os_error
from p2pchat.transfer.hashing import CHUNK_SIZE, EMPTY_SHA256
from p2pchat.transfer.incoming import IncomingFile
from p2pchat.transfer.names import (
    MAX_PART_BYTES,
    resolve_inside,
    safe_relative_path,
    unique_path,
)
from p2pchat.transfer.outgoing import (
    OutgoingFile,
    SendItem,
    SendPathError,
    describe_skipped,
    expand_send_paths,
    source_key,
)
from p2pchat.transfer.progress import ProgressMeter, format_size

__all__ = [
    "CHUNK_SIZE",
    "EMPTY_SHA256",
    "MAX_PART_BYTES",
    "IncomingFile",
    "OutgoingFile",
    "ProgressMeter",
    "SendItem",
    "SendPathError",
    "TransferError",
    "UnsafeName",
    "describe_os_error",
    "describe_skipped",
    "expand_send_paths",
    "format_size",
    "resolve_inside",
    "safe_relative_path",
    "source_key",
    "unique_path",
]
