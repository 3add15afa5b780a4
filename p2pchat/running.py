"""The port a running p2pchat listens on, for the commands run beside it (`p2pchat invite`,
`p2pchat id`), which would otherwise name the settings' port.

The session writes `running.json` (its process id and port) in the data folder once it
listens, and removes it when it stops. A record whose process is gone (killed) is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def record_listening(path: Path, port: int) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"pid": os.getpid(), "port": port}), "utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # only `invite` and `id` beside us lose the live port


def clear_listening(path: Path) -> None:
    """Remove the record if it is ours (another instance may have written its own since)."""
    if _read(path)[0] == os.getpid():
        path.unlink(missing_ok=True)


def live_port(path: Path) -> int | None:
    """The port of the p2pchat running with this data folder, or None if none runs."""
    pid, port = _read(path)
    return port if pid is not None and port is not None and _alive(pid) else None


def _read(path: Path) -> tuple[int | None, int | None]:
    try:
        data = json.loads(path.read_text("utf-8"))
        return int(data["pid"]), int(data["port"])
    except (OSError, ValueError, TypeError, KeyError):
        return None, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours, but alive
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:  # a process id reused by another program after a kill
        return b"p2pchat" in cmdline.read_bytes()
    except OSError:
        return True  # no /proc here: trust the process id
