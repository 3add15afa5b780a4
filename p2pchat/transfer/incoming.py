"""The receiving side of one file: part file, resume, size and order checks, hash, safe rename.

Every method except the constructor does blocking disk I/O; a session runs them in
a worker thread (`asyncio.to_thread` or an executor). Calls on one IncomingFile are
serialised by a lock, so an abort from another thread waits for a write in flight.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from p2pchat.transfer.errors import TransferError, UnsafeName, describe_os_error
from p2pchat.transfer.hashing import HASH_LABELS, SHA256, hash_prefix, new_hasher
from p2pchat.transfer.locking import serialised
from p2pchat.transfer.names import (
    MAX_PART_BYTES,
    numbered_name,
    resolve_inside,
    safe_relative_path,
)
from p2pchat.transfer.progress import format_size
from p2pchat.transfer.writeback import WriteBehind

PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".part.json"
MAX_KEY_CHARS = 128
_MAX_SIDECAR_BYTES = 16 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # never write through a symlink planted as a part file
_BINARY = getattr(os, "O_BINARY", 0)
# Room for ".part.json" after the longest final name.
_MAX_NAME_BYTES = MAX_PART_BYTES - len(SIDECAR_SUFFIX)

# Part files some IncomingFile in this process is writing, so two offers of the
# same source cannot resume into the same part file at once.
_parts_in_use: set[Path] = set()
_parts_lock = threading.Lock()


class IncomingFile:
    """One download, from offer to final file.

    The constructor validates the offer without touching the disk and raises
    TransferError (the reason suits FILE_DECLINE) for an unsafe name, a bad key
    or a size above `max_size`. Then: `prepare()` -> offset for FILE_ACCEPT,
    `write()` per FILE_CHUNK, `finish()` on FILE_DONE, or `abort()`. The disk writes each
    stretch while the next arrives (writeback.py), so the fsync in `finish()`, which makes
    the file durable before it is reported received, waits for the last stretch only.
    """

    def __init__(
        self,
        download_dir: Path,
        name: str,
        size: int,
        key: str,
        peer_id: str,
        max_size: int,
        *,
        save_as: Path | None = None,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise TransferError(f"bad file size {size!r}")
        if size > max_size:
            raise TransferError(
                f"file too large: {format_size(size)} is above the limit of {format_size(max_size)}"
            )
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
            raise TransferError(f"bad transfer key (1-{MAX_KEY_CHARS} characters expected)")
        self.is_directory = isinstance(name, str) and name.endswith(("/", "\\"))
        if self.is_directory and size != 0:
            raise TransferError("a folder offer must have size 0")
        self.relative = safe_relative_path(name, max_part_bytes=_MAX_NAME_BYTES)
        self.display_name = str(self.relative) + ("/" if self.is_directory else "")
        self.size = size
        self.key = key
        self.peer_id = peer_id
        self.received = 0
        self.resumed_from = 0
        self.batch_id: int | None = None  # recorded beside the part file: finds the batch's folder again
        self.part_path: Path | None = None
        self.final_path: Path | None = None
        self._root = Path(download_dir).expanduser()
        self._save_as = Path(save_as).expanduser() if save_as is not None else None
        self._file: BinaryIO | None = None
        self._behind: WriteBehind | None = None
        self.hash_name = SHA256  # the connection's file hash, set by prepare()
        self._hasher = new_hasher()
        self._done = False
        self._lock = threading.RLock()

    def relocate(self, root: Path, top: str | None) -> None:
        """Save under `root` instead, and under folder `top` instead of the offered first folder
        (a folder sent again lands as `photos (1)/...` as a whole). Before `prepare()` only."""
        self._root = Path(root).expanduser()
        if top is not None and self.top_folder is not None:
            self.relative = PurePosixPath(top, *self.relative.parts[1:])
            self.display_name = str(self.relative) + ("/" if self.is_directory else "")

    @property
    def download_dir(self) -> Path:
        return self._root

    @property
    def top_folder(self) -> str | None:
        """The first folder of the name (`photos` in `photos/a.jpg` and in `photos/`), if any."""
        if len(self.relative.parts) > 1 or self.is_directory:
            return self.relative.parts[0]
        return None

    @property
    def sidecar_path(self) -> Path | None:
        return _sidecar_of(self.part_path) if self.part_path else None

    # -- lifecycle ---------------------------------------------------------------

    @serialised
    def prepare(self, offset_hint: int | None = None, hash_name: str = SHA256) -> int:
        """Create folders and the part file, or reopen a partial download; return the offset.

        A part file in the target folder whose sidecar names the same peer id, key
        and size is resumed: its bytes are hashed and its length returned.
        `offset_hint` caps the resume offset (the part file is cut to it; 0 starts
        afresh). A folder offer just creates the folder and returns 0. `hash_name` is
        the hash FILE_DONE will carry on this connection (hashing.agreed_hash).
        """
        if self._done:
            raise TransferError("this download is already finished")
        if self._file is not None:
            raise TransferError("this download is already prepared")
        self.hash_name, self._hasher = hash_name, new_hasher(hash_name)
        save_as = self._save_as
        try:
            if self.is_directory:
                self.final_path = self._make_dirs(self.relative, save_as)
                return 0
            directory = self._make_dirs(self.relative.parent, save_as and save_as.parent)
            if not self._resume(directory, offset_hint):
                self._create_part(directory)
            return self.resumed_from
        except OSError as error:
            self._discard()
            raise TransferError(describe_os_error(error)) from error

    @serialised
    def write(self, offset: int, data: bytes) -> None:
        """Append one chunk; `offset` must be where the previous chunk ended."""
        if self._file is None:
            raise TransferError("this download is not open for writing")
        if offset != self.received:
            raise TransferError(f"chunk out of order: offset {offset}, expected {self.received}")
        if self.received + len(data) > self.size:
            raise TransferError(f"data goes past the announced size of {self.size} bytes")
        try:
            self._file.write(data)
            self._behind.written(self.received + len(data))
        except OSError as error:
            self._fail(error)
        self._hasher.update(data)
        self.received += len(data)

    @serialised
    def finish(self, hex_digest: str, hash_name: str = SHA256) -> Path:
        """Check the size and the hash (`hash_name`, as FILE_DONE named it), then move the
        file to a name nothing else has; return it.

        A mismatch deletes the part file, and so does a hash of another kind than the one
        prepared for. The final name is claimed with O_EXCL before the rename, so an
        existing file is never overwritten, even in a race.
        """
        if self._done:
            raise TransferError("this download is already finished")
        expected = hex_digest.lower() if isinstance(hex_digest, str) else ""
        if hash_name != self.hash_name:
            self._discard()
            raise TransferError(f"the peer sent a {hash_name} hash where {self.hash_name} was agreed")
        if self.is_directory:
            if self.final_path is None:
                raise TransferError("this download is not open")
            if expected != new_hasher(hash_name).hexdigest():
                raise TransferError("a folder must end with the hash of empty data")
            self._done = True
            return self.final_path
        if self._file is None:
            raise TransferError("this download is not open")
        if self.received != self.size:
            reason = f"incomplete: received {self.received} of {self.size} bytes"
            self._discard()
            raise TransferError(reason)
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._close()
        except OSError as error:
            self._fail(error)
        if self._hasher.hexdigest() != expected:
            self._discard()
            raise TransferError(f"the file arrived damaged (its {HASH_LABELS[self.hash_name]} hash does not match the sender's) and was deleted")
        try:
            self.final_path = self._claim_final_name()
            os.replace(self.part_path, self.final_path)
        except OSError as error:
            if self.final_path is not None:
                _unlink_quietly(self.final_path)
                self.final_path = None
            self._fail(error)
        _unlink_quietly(_sidecar_of(self.part_path))
        _resume_index.remove(self.part_path)
        self._release()
        self._done = True
        return self.final_path

    @serialised
    def abort(self, keep_part: bool) -> None:
        """Stop. keep_part=True leaves the part file for a later resume (connection lost);
        False deletes it (cancelled, declined, failed). Safe to call more than once, and
        `prepare()` may be called again afterwards (it finds the kept part file)."""
        if self._done:
            return
        if keep_part:
            self._close()
            self._release()
            self._reset()
        else:
            self._discard()

    # -- internals ---------------------------------------------------------------

    def _final_name(self) -> str:
        return self._save_as.name if self._save_as is not None else self.relative.name

    def _make_dirs(self, rel: PurePosixPath, chosen: Path | None) -> Path:
        """Create the folder `rel` under the download folder (or the user's `chosen` one)."""
        if chosen is not None:
            directory = chosen
        elif rel.parts:
            directory = resolve_inside(self._root, rel)
        else:
            directory = self._root.resolve()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise TransferError(f"cannot create folder {directory}: a file has that name") from None
        if chosen is None and rel.parts:
            resolve_inside(self._root, rel)  # again, now that every component exists
        return directory

    def _resume(self, directory: Path, offset_hint: int | None) -> bool:
        wanted = (self.peer_id, self.key, self.size)
        for part in _resume_index.candidates(directory, wanted):
            if _record_key(read_sidecar(_sidecar_of(part))) != wanted:
                _resume_index.remove(part)  # changed or deleted behind our back
                continue
            if part.is_symlink() or not part.is_file() or part.stat().st_size > self.size:
                continue
            if not _reserve(part):
                continue
            self.part_path = part
            fd = os.open(part, os.O_RDWR | _NOFOLLOW | _BINARY)
            self._file = os.fdopen(fd, "r+b")
            length = os.fstat(fd).st_size
            if offset_hint is not None:
                length = min(length, max(offset_hint, 0))
            self._file.truncate(length)
            self.resumed_from = self.received = hash_prefix(self._file, length, self._hasher)
            self._file.seek(self.received)
            self._behind = WriteBehind(self._file, self.received)
            return True
        return False

    def _create_part(self, directory: Path) -> None:
        name = self._final_name()
        for n in range(0, 100_000):
            part = directory / (numbered_name(name, n, _MAX_NAME_BYTES) + PART_SUFFIX)
            if os.path.lexists(_sidecar_of(part)) or not _reserve(part):
                continue
            try:
                fd = os.open(part, os.O_CREAT | os.O_EXCL | os.O_RDWR | _BINARY, 0o666)
            except OSError as error:
                _unreserve(part)
                if isinstance(error, FileExistsError):
                    continue
                raise
            self.part_path = part
            self._file = os.fdopen(fd, "r+b")
            self._behind = WriteBehind(self._file)
            record = {
                "peer_id": self.peer_id,
                "key": self.key,
                "size": self.size,
                "name": self.display_name,
            }
            if self.batch_id is not None:
                record["batch"] = self.batch_id
            with open(_sidecar_of(part), "x", encoding="utf-8") as out:
                json.dump(record, out)
            _resume_index.add(part, _record_key(record))
            return
        raise TransferError(f"too many partial downloads named {name!r}")

    def _claim_final_name(self) -> Path:
        directory, name = self.part_path.parent, self._final_name()
        for n in range(0, 1_000_000):
            candidate = directory / numbered_name(name, n, _MAX_NAME_BYTES)
            try:
                os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            except FileExistsError:
                continue
            return candidate
        raise UnsafeName(f"too many files named {name!r} already")

    def _release(self) -> None:
        if self.part_path is not None:
            _unreserve(self.part_path)

    def _close(self) -> None:
        file, self._file, behind, self._behind = self._file, None, self._behind, None
        if behind is not None:
            behind.close()  # before the file: its flusher uses the descriptor
        if file is not None:
            try:
                file.close()
            except OSError:
                pass

    def _discard(self) -> None:
        self._close()
        if self.part_path is not None:
            _unlink_quietly(self.part_path)
            _unlink_quietly(_sidecar_of(self.part_path))
            _resume_index.remove(self.part_path)
        self._release()
        self._reset()

    def _reset(self) -> None:
        """Back to the state before prepare(); the part file, if kept, stays on disk."""
        self.part_path = None
        self.received = self.resumed_from = 0
        self._hasher = new_hasher(self.hash_name)

    def _fail(self, error: OSError):
        self._discard()
        raise TransferError(describe_os_error(error)) from error


class _ResumeIndex:
    """Partial downloads by (peer id, key, size), per folder.

    A folder's sidecars are read once, the first time a download there looks for a
    partial file; after that the downloads of this process keep the index up to date.
    Reading them all for every offer made a flood of offers quadratic."""

    def __init__(self) -> None:
        self._folders: dict[Path, dict[tuple, set[Path]]] = {}
        self._keys: dict[Path, tuple] = {}  # part file -> its key
        self._lock = threading.Lock()

    def candidates(self, directory: Path, wanted: tuple) -> list[Path]:
        with self._lock:
            parts = self._folder(directory).get(wanted, set())
            return sorted(parts)

    def add(self, part: Path, key: tuple) -> None:
        with self._lock:
            self._folder(part.parent).setdefault(key, set()).add(part)
            self._keys[part] = key

    def remove(self, part: Path) -> None:
        with self._lock:
            key = self._keys.pop(part, None)
            self._folders.get(part.parent, {}).get(key, set()).discard(part)

    def _folder(self, directory: Path) -> dict[tuple, set[Path]]:
        folder = self._folders.get(directory)
        if folder is None:
            folder = self._folders[directory] = {}
            for sidecar in directory.glob("*" + SIDECAR_SUFFIX):
                key = _record_key(read_sidecar(sidecar))
                if key is not None:
                    part = sidecar.with_name(sidecar.name[: -len(".json")])
                    folder.setdefault(key, set()).add(part)
                    self._keys[part] = key
        return folder


_resume_index = _ResumeIndex()


def _record_key(record: dict | None) -> tuple | None:
    """What a sidecar's download is matched on; None for a sidecar that is not ours."""
    if record is None:
        return None
    key = (record.get("peer_id"), record.get("key"), record.get("size"))
    return key if all(isinstance(value, (str, int)) for value in key) else None


def _reserve(part: Path) -> bool:
    with _parts_lock:
        if part in _parts_in_use:
            return False
        _parts_in_use.add(part)
        return True


def _unreserve(part: Path) -> None:
    with _parts_lock:
        _parts_in_use.discard(part)


def _sidecar_of(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def read_sidecar(path: Path) -> dict | None:
    try:
        if path.is_symlink() or path.stat().st_size > _MAX_SIDECAR_BYTES:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
