"""Where a folder sent as a whole lands: its own name, or a numbered one, never inside an old copy.

Blocking disk I/O: run it in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from p2pchat.transfer.errors import TransferError
from p2pchat.transfer.incoming import SIDECAR_SUFFIX, read_sidecar
from p2pchat.transfer.names import MAX_PART_BYTES, resolve_inside, truncate_name

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
