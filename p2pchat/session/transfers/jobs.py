"""One transfer as the engine keeps it: what the user sees (`info`), and where it stands on
the wire. Plain data: the runner keeps the disk side (lanes, tasks, open files) beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from p2pchat.session.events import TransferInfo, TransferState
from p2pchat.transfer.progress import ProgressMeter


@dataclass(frozen=True)
class Outbound:
    """A file (or empty folder) of ours to offer. `handle` is the runner's (what it streams from)."""

    name: str
    size: int
    key: str
    source: Path
    handle: Any = None


class Inbound(Protocol):
    """A validated offer of the peer's (`IncomingFile` on the runner's side): what the engine
    reads of it."""

    display_name: str
    size: int
    key: str
    peer_id: str
    batch_id: int | None
    part_path: Path | None  # once prepared

    @property
    def top_folder(self) -> str | None: ...


@dataclass(eq=False)
class Job:
    local_id: int  # what the user types; the files of a batch share the batch's
    tid: int  # on the wire: the sender's random 64-bit id
    direction: str
    peer_id: str | None
    info: TransferInfo
    batched: bool = False  # one file of a batch (the engine's batch with the same local id)
    outbound: Outbound | None = None  # ours to send
    inbound: Inbound | None = None  # the peer's, to receive
    meter: ProgressMeter | None = None
    expected: int = 0  # incoming: offset of the next chunk
    accepted: bool = False  # outgoing: FILE_ACCEPT received for the current offer

    @property
    def final(self) -> bool:
        return self.info.state.final

    @property
    def upload(self) -> Outbound:
        """Ours: what we offer."""
        if self.outbound is None:
            raise TypeError(f"transfer {self.tid} is not an upload")
        return self.outbound

    @property
    def download(self) -> Inbound:
        """The peer's: what we receive."""
        if self.inbound is None:
            raise TypeError(f"transfer {self.tid} is not a download")
        return self.inbound


def new_job(local_id: int, tid: int, direction: str, name: str, size: int, peer_id: str | None) -> Job:
    return Job(local_id, tid, direction, peer_id, TransferInfo(local_id, name, size, direction, TransferState.OFFERED))
