"""What the transfer engine asks the runner to do: each effect is carried out, and its result
fed back to the engine by the method its docstring names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from p2pchat.protocol import Frame
from p2pchat.session.events import Event
from p2pchat.session.transfers.batches import Batch
from p2pchat.session.transfers.jobs import Job


@dataclass(frozen=True)
class Send:
    frame: Frame  # on the live connection, if there is one


@dataclass(frozen=True)
class Emit:
    event: Event


@dataclass(frozen=True)
class Notify:
    text: str
    level: str = "info"


@dataclass(frozen=True)
class Log:
    text: str  # for the log file only


@dataclass(frozen=True)
class Probe:
    """Look for a partial download of this offer (of `job`, or of its batch), then call
    `probed(subject, bytes held)`."""

    subject: Job | Batch
    job: Job | None  # None: nothing to look for (a batch of loose files)


@dataclass(frozen=True)
class Prepare:
    """Find where the file lands (in its batch's folder under `root`) and a part file to resume;
    then `prepared(job, offset, batch folder)` or `prepare_failed(job, reason)`."""

    job: Job
    root: Path | None  # batch: the folder the user chose, else the download folder


@dataclass(frozen=True)
class Stream:
    """Send the file from `offset`: `stream_opened`, `sent` per chunk, then `streamed(digest)`
    or `stream_failed(reason)`."""

    job: Job
    offset: int


@dataclass(frozen=True)
class Write:
    """Write a chunk on the job's lane: `written(job, bytes received)` or `write_failed`."""

    job: Job
    offset: int
    data: bytes | memoryview


@dataclass(frozen=True)
class Verify:
    """After the writes before it: check the hash and rename, `verified(path)` or `verify_failed`."""

    job: Job
    hash_name: str  # as FILE_DONE named it
    digest: str


@dataclass(frozen=True)
class Halt:
    """Stop the job's disk work (a read or prepare running, an open file). `keep_part`: abort
    the download after its pending writes, keeping the part file or not (None: nothing to
    abort). `final`: the job will never need its lane again."""

    job: Job
    keep_part: bool | None = None
    final: bool = False


Effect = Send | Emit | Notify | Log | Probe | Prepare | Stream | Write | Verify | Halt
