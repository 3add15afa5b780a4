"""The sending side: which files a /send means, and reading one file as hashed chunks.

`expand_send_paths` and the OutgoingFile methods `open` and `read_chunk` do blocking
disk I/O; a session runs them in a worker thread. Calls on one OutgoingFile are
serialised by a lock, so `close()` from another thread waits for a read in flight.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from p2pchat.transfer.errors import TransferError, describe_os_error
from p2pchat.transfer.hashing import CHUNK_SIZE, SHA256, hash_prefix, new_hasher
from p2pchat.transfer.locking import serialised

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class SendItem:
    """One thing to offer: a regular file, or an empty folder (`name` ends in `/`, size 0)."""

    source: Path  # absolute
    name: str  # relative name for FILE_OFFER: `file`, `dir/sub/file`, `dir/empty/`
    size: int
    mtime_ns: int

    @property
    def is_directory(self) -> bool:
        return self.name.endswith("/")


class SendPathError(TransferError):
    """Some of the paths given to send are unusable; `problems` has one line for each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def expand_send_paths(args: list[str], cwd: Path, skipped: list[str] | None = None) -> list[SendItem]:
    """Turn what the user typed into items: `~` expanded, globs matched, folders walked.

    A folder gives one item per file (named `folder/sub/file`) plus one per empty
    folder (`folder/empty/`). Inside a folder, what cannot be sent as a file of that folder is
    left out and named in `skipped` (`proj/pipe (a FIFO)`): special files, links to folders
    (loops), links that lead out of the folder (the peer would get an outside file's content
    under an inside name) and broken links. Links to files inside the folder are followed.
    Raises SendPathError listing every path that is missing, unreadable or not a
    regular file; nothing is returned then.
    """
    items: list[SendItem] = []
    problems: list[str] = []
    skipped = [] if skipped is None else skipped
    for arg in args:
        pattern = os.path.expanduser(arg)
        path = Path(cwd, pattern)  # an absolute pattern replaces cwd
        if os.path.lexists(path) or not _GLOB_CHARS & set(pattern):
            _add_path(path, items, problems, skipped, shown=arg)
            continue
        matches = sorted(glob.glob(pattern, root_dir=cwd))
        if not matches:
            problems.append(f"{arg}: no files match")
        for match in matches:
            _add_path(Path(cwd, match), items, problems, skipped)
    if problems:
        raise SendPathError(problems)
    unique = dict.fromkeys(items)  # the same file named twice is sent once
    return list(unique)


def describe_skipped(skipped: list[str], shown: int = 4) -> str:
    """One line for the sender: what a folder send left out, the first few and a count."""
    more = f" and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return f"not sent (only files inside the folder are): {', '.join(skipped[:shown])}{more}"


def _add_path(path: Path, items: list[SendItem], problems: list[str], skipped: list[str],
              shown: str = "") -> None:
    shown = shown or str(path)
    path = Path(os.path.abspath(path))
    try:
        info = path.stat()
    except FileNotFoundError:
        kind = "broken symbolic link" if os.path.islink(path) else "no such file or folder"
        problems.append(f"{shown}: {kind}")
        return
    except OSError as error:
        problems.append(f"{shown}: {describe_os_error(error)}")
        return
    if stat.S_ISDIR(info.st_mode):
        base = path.resolve().name or "files"
        _walk_folder(path, base, items, problems, skipped)
    else:
        _add_file(path, path.name, info, items, problems, shown)


def _add_file(path, name, info, items, problems, shown) -> None:
    if not stat.S_ISREG(info.st_mode):
        problems.append(f"{shown}: not a regular file")
    elif not os.access(path, os.R_OK):
        problems.append(f"{shown}: permission denied")
    else:
        items.append(SendItem(path, name, info.st_size, info.st_mtime_ns))


_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
            (stat.S_ISBLK, "a device"))  # fmt: skip


def _left_out(path: Path, real_top: str) -> tuple[str, os.stat_result | None]:
    """Why a folder's entry is not sent ("" if it is), and its status when it is."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "a broken link", None
    if path.is_symlink() and os.path.commonpath([os.path.realpath(path), real_top]) != real_top:
        return "a link out of the folder", None
    for test, kind in _SPECIAL:
        if test(info.st_mode):
            return kind, None
    return "", info


def _walk_folder(top: Path, base: str, items: list[SendItem], problems: list[str],
                 skipped: list[str]) -> None:
    def on_error(error: OSError) -> None:
        problems.append(f"{error.filename or top}: {describe_os_error(error)}")

    if not os.access(top, os.R_OK | os.X_OK):
        problems.append(f"{top}: permission denied")
        return
    real_top = os.path.realpath(top)
    for folder, dirs, files in os.walk(top, onerror=on_error):
        dirs.sort()
        rel = Path(folder).relative_to(top).as_posix()
        prefix = base if rel == "." else f"{base}/{rel}"
        linked = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        skipped.extend(f"{prefix}/{d} (a link to a folder)" for d in linked)
        sent = 0
        for file_name in sorted(files):
            path = Path(folder, file_name)
            try:
                why, info = _left_out(path, real_top)
            except OSError as error:
                problems.append(f"{path}: {describe_os_error(error)}")
                continue
            if why:
                skipped.append(f"{prefix}/{file_name} ({why})")
                continue
            _add_file(path, f"{prefix}/{file_name}", info, items, problems, str(path))
            sent += 1
        if not sent and len(dirs) == len(linked):  # nothing else will name this folder
            info = Path(folder).stat()
            items.append(SendItem(Path(folder), prefix + "/", 0, info.st_mtime_ns))


def source_key(source: Path, size: int, mtime_ns: int) -> str:
    """Stable for the same file content on disk: path, size and modification time."""
    return hashlib.sha256(f"{source}\0{size}\0{mtime_ns}".encode()).hexdigest()


class OutgoingFile:
    """One upload: `open(offset)`, then `read_chunk()` until it returns b"", then `hex_digest()`.

    The hash covers the whole file even after a resume, because `open` hashes the
    bytes before `offset`. Memory stays at one chunk whatever the file size.
    """

    def __init__(self, item: SendItem, hash_name: str = SHA256) -> None:
        self.item = item
        self.hash_name = hash_name  # the connection's file hash (hashing.agreed_hash)
        self.name = item.name
        self.size = item.size
        self.key = source_key(item.source, item.size, item.mtime_ns)
        self.sent = 0  # position in the file: the offset of the next chunk
        self._file: BinaryIO | None = None
        self._hasher = new_hasher(hash_name)
        self._lock = threading.RLock()

    @serialised
    def open(self, offset: int) -> None:
        """Start at `offset` (the receiver's FILE_ACCEPT). Refuses a file changed since the offer.

        Calling it again starts over (a new FILE_ACCEPT after a reconnect)."""
        self.close()
        self._hasher = new_hasher(self.hash_name)
        self.sent = 0
        if not 0 <= offset <= self.size:
            raise TransferError(f"resume offset {offset} is outside the file (size {self.size})")
        if self.item.is_directory:
            if offset:
                raise TransferError("a folder has no bytes to resume from")
            return
        try:
            self._file = open(self.item.source, "rb")
            info = os.fstat(self._file.fileno())
            if (info.st_size, info.st_mtime_ns) != (self.size, self.item.mtime_ns):
                raise TransferError(f"{self.name} changed since it was offered")
            self.sent = hash_prefix(self._file, offset, self._hasher)
        except (OSError, TransferError) as error:
            self.close()
            if isinstance(error, TransferError):
                raise
            raise TransferError(describe_os_error(error)) from error

    @serialised
    def read_chunk(self, n: int = CHUNK_SIZE) -> bytes:
        """The next at most `n` bytes (b"" at the end), fed to the hash."""
        if self.item.is_directory or self.sent >= self.size:
            return b""
        if self._file is None:
            raise TransferError("this upload is not open")
        try:
            data = self._file.read(min(n, self.size - self.sent))
        except OSError as error:
            self.close()
            raise TransferError(describe_os_error(error)) from error
        if not data:
            self.close()
            raise TransferError(f"{self.name} shrank while it was being sent")
        self._hasher.update(data)
        self.sent += len(data)
        return data

    @property
    def finished(self) -> bool:
        return self.sent >= self.size

    @serialised
    def hex_digest(self) -> str:
        """The hash (`hash_name`) of the whole file, for FILE_DONE; only once everything was read."""
        if not self.finished:
            raise TransferError(
                f"{self.name}: hash asked for after {self.sent} of {self.size} bytes"
            )
        return self._hasher.hexdigest()

    @serialised
    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def __enter__(self) -> OutgoingFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
