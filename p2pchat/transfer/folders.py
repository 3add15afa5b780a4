"""Where a download lands and what of it is already there: a folder sent as a whole gets its
own name or a numbered one, never a place inside an old copy; part files of an interrupted
download tell how much an offer would resume from.

Blocking disk I/O: run it in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from p2pchat.transfer.errors import TransferError
from p2pchat.transfer.incoming import SIDECAR_SUFFIX, read_sidecar
from p2pchat.transfer.names import MAX_PART_BYTES, resolve_inside, truncate_name
from p2pchat.transfer.progress import percent

_MAX_NAME_BYTES = MAX_PART_BYTES - len(SIDECAR_SUFFIX)


def numbered_folder(name: str, n: int) -> str:
    """`photos`, 2 -> `photos (2)` (a folder keeps its dots: `v1.2 (2)`, not `v1 (2).2`)."""
    if n == 0:
        return name
    tag = f" ({n})"
    return truncate_name(name, _MAX_NAME_BYTES - len(tag.encode())) + tag


def claim_batch_folder(root: Path, top: str, peer_id: str, batch_id: int) -> str:
    """The name under `root` for the folder `top` of one batch: the first of `top`, `top (1)`...
    that is either new (created here, so nobody else takes it) or holds part files of this very
    batch from this peer (an interrupted download of it, resumed in place)."""
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    for n in range(100_000):
        name = numbered_folder(top, n)
        folder = resolve_inside(root, name)
        try:
            folder.mkdir()
            return name
        except FileExistsError:
            if folder.is_dir() and _holds_batch(folder, peer_id, batch_id):
                return name
        except OSError as error:
            raise TransferError(f"cannot create folder {folder}: {error.strerror or error}") from error
    raise TransferError(f"too many folders named {top!r} already")


def _holds_batch(folder: Path, peer_id: str, batch_id: int) -> bool:
    for sidecar in folder.rglob("*" + SIDECAR_SUFFIX):
        record = read_sidecar(sidecar)
        if record is not None and record.get("peer_id") == peer_id and record.get("batch") == batch_id:
            return True
    return False


def partial_bytes(directory: Path, peer_id: str, key: str, size: int) -> int:
    """How much of this offer a part file in `directory` already holds (0: none): what a
    download would resume from. Only looks; `IncomingFile.prepare()` checks and resumes."""
    try:
        sidecars = sorted(Path(directory).glob("*" + SIDECAR_SUFFIX))
    except OSError:
        return 0
    for sidecar in sidecars:
        record = read_sidecar(sidecar)
        if record is None or (record.get("peer_id"), record.get("key"), record.get("size")) != (peer_id, key, size):
            continue
        part = sidecar.with_name(sidecar.name[: -len(".json")])
        try:
            if not part.is_symlink() and part.stat().st_size <= size:
                return part.stat().st_size
        except OSError:
            continue
    return 0


def batch_partial_bytes(root: Path, top: str, peer_id: str, batch_id: int) -> int:
    """The bytes part files of this batch already hold in the folder it would resume in."""
    for n in range(100_000):
        try:
            folder = resolve_inside(Path(root).expanduser(), numbered_folder(top, n))
        except TransferError:
            return 0
        if not folder.is_dir():
            return 0
        if _holds_batch(folder, peer_id, batch_id):
            total = 0
            for sidecar in folder.rglob("*" + SIDECAR_SUFFIX):
                record = read_sidecar(sidecar)
                part = sidecar.with_name(sidecar.name[: -len(".json")])
                if record and record.get("batch") == batch_id and part.is_file() and not part.is_symlink():
                    total += part.stat().st_size
            return total
    return 0


@dataclass(frozen=True)
class WaitingDownload:
    """A download an earlier run left unfinished in the downloads folder."""

    name: str
    peer_id: str
    size: int
    held: int

    @property
    def percent(self) -> int:
        return percent(self.held, self.size)


def waiting_downloads(directory: Path, limit: int = 20) -> list[WaitingDownload]:
    """The single-file downloads left as part files in `directory` (at most `limit`, oldest
    first), to say at start that they resume when their sender offers them again."""
    try:
        sidecars = sorted(Path(directory).glob("*" + SIDECAR_SUFFIX), key=lambda p: p.stat().st_mtime)
    except OSError:
        return []
    found = []
    for sidecar in sidecars:
        record = read_sidecar(sidecar)
        part = sidecar.with_name(sidecar.name[: -len(".json")])
        if record is None or "batch" in record or part.is_symlink() or not part.is_file():
            continue
        size, peer_id, name = record.get("size"), record.get("peer_id"), record.get("name")
        if isinstance(size, int) and isinstance(peer_id, str) and isinstance(name, str):
            found.append(WaitingDownload(name, peer_id, size, min(part.stat().st_size, size)))
        if len(found) == limit:
            break
    return found
