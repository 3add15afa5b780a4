"""One transfer as the session keeps it: what the user sees (`info`), and what moves it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from p2pchat.session.events import TransferInfo
from p2pchat.transfer import IncomingFile, OutgoingFile, ProgressMeter
from p2pchat.transfer.lanes import disk_lane

if TYPE_CHECKING:
    from p2pchat.session.batches import Batch


class TransferJob:
    """Disk work runs on the job's own lane of the shared disk threads (`run`), its calls in
    order, so the event loop only moves frames."""

    def __init__(self, local_id: int, tid: int, direction: str, name: str, size: int, peer_id: str | None) -> None:
        self.local_id = local_id
        self.tid = tid
        self.direction = direction
        self.peer_id = peer_id
        self.info = TransferInfo(local_id, name, size, direction, "offered")
        self.meter: ProgressMeter | None = None
        self.executor = disk_lane()
        self.task: asyncio.Task | None = None
        self.settling: asyncio.Task | None = None  # incoming: the part file being closed after a drop
        self.outgoing: OutgoingFile | None = None
        self.incoming: IncomingFile | None = None
        self.pending: list[asyncio.Future] = []  # incoming writes not yet on disk
        self.pending_bytes = 0
        self.expected = 0  # incoming: offset of the next chunk
        self.accepted = False  # outgoing: FILE_ACCEPT received for the current offer
        self.batch: Batch | None = None  # the /send it belongs to, if it came with others

    @property
    def final(self) -> bool:
        return self.info.state.final

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
