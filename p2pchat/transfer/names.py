"""Turning names a peer chose into paths that stay inside our download folder.

A peer's name is data: it may carry `..`, absolute paths, Windows drive letters,
terminal escapes or device names. Harmless parts are neutralised (dropped or
rewritten) so an honest name from another OS still arrives; a name with nothing
usable left is refused.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath

from p2pchat.transfer.errors import UnsafeName

MAX_NAME_CHARS = 4096  # the protocol's limit on FILE_OFFER.name
MAX_PART_BYTES = 255  # most file systems cap one path component at 255 bytes
MAX_DEPTH = 64
MAX_EXTENSION_BYTES = 32  # a longer "extension" is just part of the name

# Device names Windows resolves whatever the extension or case (CON.txt is CON);
# the superscript digits count too.
_WINDOWS_RESERVED = re.compile(
    r"^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|(COM|LPT)[0-9\u00b9\u00b2\u00b3])$", re.IGNORECASE
)
# Characters Windows refuses in names; rewriting them keeps names portable both ways.
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_DRIVE = re.compile(r"^[A-Za-z]:$")


def safe_relative_path(name: str, *, max_part_bytes: int = MAX_PART_BYTES) -> PurePosixPath:
    """Return a safe relative path made of the usable parts of `name`.

    Both `/` and `\\` separate parts. Empty, `.` and `..` parts, a leading drive
    (`C:`) and leading slashes are dropped; control characters and characters
    Windows forbids become `_`; trailing dots and spaces go; a Windows device
    name gets a `_` prefix; each part is cut to `max_part_bytes` of UTF-8,
    keeping its extension. Raises UnsafeName if no part is left.
    """
    if not isinstance(name, str):
        raise UnsafeName("the file name is not text")
    if len(name) > MAX_NAME_CHARS:
        raise UnsafeName(f"the file name is longer than {MAX_NAME_CHARS} characters")
    raw_parts = name.replace("\\", "/").split("/")
    if raw_parts and _DRIVE.match(raw_parts[0]):
        raw_parts = raw_parts[1:]
    parts = [p for p in (_safe_part(raw, max_part_bytes) for raw in raw_parts) if p]
    if not parts:
        raise UnsafeName(f"no usable file name in {name!r}")
    if len(parts) > MAX_DEPTH:
        raise UnsafeName(f"the path is more than {MAX_DEPTH} folders deep")
    return PurePosixPath(*parts)


def _safe_part(part: str, max_bytes: int) -> str:
    part = "".join("_" if unicodedata.category(ch).startswith("C") else ch for ch in part)
    part = _WINDOWS_FORBIDDEN.sub("_", part)
    part = part.rstrip(". ")
    if part in ("", ".", ".."):
        return ""
    if _WINDOWS_RESERVED.match(part.split(".", 1)[0].rstrip(" ")):
        part = "_" + part
    return truncate_name(part, max_bytes)


def truncate_name(name: str, max_bytes: int) -> str:
    """Cut `name` to at most `max_bytes` of UTF-8 on a character boundary, keeping its extension."""
    if len(name.encode()) <= max_bytes:
        return name
    stem, ext = _split_extension(name)
    if len(ext.encode()) > min(MAX_EXTENSION_BYTES, max_bytes // 2):
        stem, ext = name, ""
    budget = max_bytes - len(ext.encode())
    cut = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return (cut or "_") + ext


def _split_extension(name: str) -> tuple[str, str]:
    """`report.pdf` -> (`report`, `.pdf`); `.bashrc` and `archive` have no extension."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def numbered_name(name: str, n: int, max_bytes: int = MAX_PART_BYTES) -> str:
    """`report.pdf`, 2 -> `report (2).pdf`; cut to stay within `max_bytes` of UTF-8."""
    if n == 0:
        return truncate_name(name, max_bytes)
    stem, ext = _split_extension(name)
    tag = f" ({n})"
    stem = truncate_name(stem, max_bytes - len(tag.encode()) - len(ext.encode()))
    return f"{stem}{tag}{ext}"


def unique_path(directory: Path, name: str) -> Path:
    """The first of `name`, `name (1)`, `name (2)`... that does not exist in `directory`.

    A dangling symlink counts as existing. Only a hint under concurrency: create the
    result with O_EXCL (or mkdir) and try the next number if that fails.
    """
    for n in range(0, 1_000_000):
        candidate = directory / numbered_name(name, n)
        if not os.path.lexists(candidate):
            return candidate
    raise UnsafeName(f"too many files named {name!r} already")


def resolve_inside(root: Path, rel: PurePosixPath | str) -> Path:
    """`root / rel` with symlinks resolved, refused unless it stays inside `root`.

    Symlinks already present under `root` are followed only while they point
    inside it; the returned path need not exist yet.
    """
    real_root = Path(root).resolve()
    rel = PurePosixPath(rel)
    if rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts):
        raise UnsafeName(f"not a plain relative path: {str(rel)!r}")
    target = real_root.joinpath(*rel.parts).resolve()
    if target != real_root and real_root not in target.parents:
        raise UnsafeName(f"{str(rel)!r} leads outside {str(root)!r} through a symbolic link")
    return target
