"""File transfers on top of the live connection (the receiving half is in receiving.py).

Disk work (reading, hashing, writing) runs on a small pool of disk threads, each
transfer's calls in order on its own lane, so the event loop only moves frames;
hashlib and file I/O release the GIL, which lets a transfer use the second core.
Bytes in flight are bounded on both sides: the sender waits for the transport's
buffer to drain (`Connection.send_chunk`), and the receiver stops reading the
socket while more than `WRITE_BACKLOG` bytes wait for the disk.

Users see small local ids (1, 2, 3...); the wire uses the sender's random 64-bit tid.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
from dataclasses import replace
from pathlib import Path

from loguru import logger

from p2pchat.net.connection import Connection, ConnectionClosed, return_free_memory
from p2pchat.protocol import (
    MAX_CHUNK_DATA,
    FileAccept,
    FileCancel,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    OfferBatch,
    new_transfer_id,
)
from p2pchat.session.batches import Batch, batch_name
from p2pchat.session.context import PeerLink, Reporter, addressee, send
from p2pchat.session.events import TransferInfo, TransferState, TransferUpdated
from p2pchat.session.receiving import MAX_OPEN_OFFERS, OPEN_STATES, Receiving
from p2pchat.session.tasks import Tasks
from p2pchat.session.transfer_job import TransferJob
from p2pchat.settings import Settings
from p2pchat.transfer import (
    OutgoingFile,
    ProgressMeter,
    TransferError,
    expand_send_paths,
)

# Big chunks mean fewer frames, thread hand-offs and events per byte; page-aligned reads.
SEND_CHUNK = MAX_CHUNK_DATA // 4096 * 4096
MIN_CHUNK = 64 * 1024
CHUNK_TIME = 0.05  # seconds of data per chunk at the current speed: chat never waits long behind one


def _chunk_size(speed: float) -> int:
    """Big chunks on a fast link (fewer frames and hand-offs), small ones on a slow link."""
    return max(MIN_CHUNK, min(SEND_CHUNK, int(speed * CHUNK_TIME) // 4096 * 4096))


FINAL_STATES = frozenset(state for state in TransferState if state.final)
FINISHED_KEPT = 100  # finished transfers /transfers still lists; older ones are forgotten
BATCH_REFRESH = 0.05  # seconds: a batch is summed up at most this often


def _close_soon(out: OutgoingFile) -> None:
    """Close off the event loop: close() waits for a read or a resume hash still running."""
    asyncio.get_running_loop().run_in_executor(None, out.close)


class Transfers(Receiving):
    def __init__(self, report: Reporter, link: PeerLink, settings: Settings, downloads_dir: Path) -> None:
        self.report = report
        self.link = link
        self.settings = settings
        self.downloads_dir = downloads_dir  # unless the settings name one
        self._ids = itertools.count(1)
        self._by_local: dict[int, TransferJob] = {}
        self._outgoing: dict[int, TransferJob] = {}  # by tid
        self._incoming: dict[int, TransferJob] = {}  # by tid
        self._batches: dict[int, Batch] = {}  # by local id
        self._incoming_batches: dict[int, Batch] = {}  # by the sender's batch id
        # Open offers by direction: local id (a batch's members share one) -> tids open in it.
        self._open: dict[str, dict[int, set[int]]] = {"send": {}, "receive": {}}
        self._refusing = False  # declining offers past the cap (told the user once)
        self._held: collections.deque[TransferJob] = collections.deque()  # our offers past the cap
        self._tasks = Tasks(lambda name, exc: report.notice(f"transfer error: {exc}", "error"))

    def _background(self, coro, name: str = "transfer") -> asyncio.Task:
        return self._tasks.spawn(coro, name)

    # -- queries ---------------------------------------------------------------------
    def infos(self) -> list[TransferInfo]:
        shown = [t.info for t in self._by_local.values()] + [b.info for b in self._batches.values()]
        return sorted(shown, key=lambda info: info.id)

    def _every_file(self):
        """Files on their own and the members of batches."""
        yield from self._by_local.values()
        for batch in self._batches.values():
            yield from batch.members

    def sending(self) -> bool:
        """Files of ours still on their way (offered, moving or being verified)."""
        return any(t.direction == "send" and not t.final for t in self._every_file())

    def _get(self, local_id: int) -> TransferJob:
        transfer = self._by_local.get(local_id)
        if transfer is None:
            raise ValueError(f"no transfer #{local_id} (see /transfers)")
        return transfer

    # -- state changes ---------------------------------------------------------------
    def _update(self, t: TransferJob, **changes) -> None:
        t.info = replace(t.info, **changes)
        self._track_open(t)
        if t.final:
            t.executor.shutdown(wait=False)
        if t.batch is None:
            self.report.emit(TransferUpdated(t.info))
        else:
            self._batch_changed(t.batch)
            if t.final:
                self._download_next(t.batch)  # at once: a folder of small files is mostly turns
        if t.final:
            self._forget_finished()

    def _forget_finished(self) -> None:
        """Keep the newest FINISHED_KEPT finished transfers (a batch counts once), so a long
        session's list, and what it holds, stays bounded."""
        finished = sorted([t.local_id for t in self._by_local.values() if t.final]
                          + [b.info.id for b in self._batches.values() if b.final])  # fmt: skip
        # What the finished one's buffers held goes back to the system once its lane is done.
        asyncio.get_running_loop().call_later(1.0, return_free_memory)
        for local_id in finished[:-FINISHED_KEPT]:
            batch = self._batches.pop(local_id, None)
            files = batch.members if batch else [self._by_local.pop(local_id)]
            if batch is not None:
                self._incoming_batches.pop(batch.wire_id, None)
            for t in files:
                self._outgoing.pop(t.tid, None)
                self._incoming.pop(t.tid, None)

    def _track_open(self, t: TransferJob) -> None:
        """Keep count of open offers (a batch is one); a sender's ending offer lets a held one go."""
        by_id = self._open[t.direction]
        if t.info.state in OPEN_STATES:
            by_id.setdefault(t.local_id, set()).add(t.tid)
            return
        tids = by_id.get(t.local_id)
        if tids is None or t.tid not in tids:
            return
        tids.discard(t.tid)
        if not tids:
            del by_id[t.local_id]
            if t.direction == "send":
                self._offer_held_back()

    def _over_cap(self, direction: str, t: TransferJob) -> bool:
        """A new offer now would pass MAX_OPEN_OFFERS (the files of an open batch join it freely)."""
        by_id = self._open[direction]
        return t.local_id not in by_id and len(by_id) >= MAX_OPEN_OFFERS

    def _batch_changed(self, batch: Batch) -> None:
        """Sum the batch up soon, once for however many of its files changed meanwhile (summing
        is linear in its files: thousands of offers arriving must not cost thousands of sums)."""
        if not batch.refresh_due:
            batch.refresh_due = True
            asyncio.get_running_loop().call_later(BATCH_REFRESH, self._refresh_batch, batch)

    def _refresh_batch(self, batch: Batch) -> None:
        batch.refresh_due = False
        if batch.final:
            return  # its one result line is out
        info = batch.summary()
        if info != batch.info:
            batch.info = info
            self.report.emit(TransferUpdated(info))
        self._download_next(batch)

    def _download_next(self, batch: Batch) -> None:
        for member in batch.next_to_download():
            self._start_download(member)

    def _progress(self, t: TransferJob, done: int) -> None:
        meter = t.meter
        now = asyncio.get_running_loop().time()
        if meter is not None and meter.update(done, now):
            self._update(t, done=done, speed=meter.speed, eta=meter.eta)

    def _finish(self, t: TransferJob, state: str, reason: str = "", path: Path | None = None) -> None:
        if t.final:
            return
        speed = t.meter.average_speed if t.meter else 0.0
        changes = {"state": state, "reason": reason, "eta": None}
        if path is not None:
            changes["path"] = path
        if state == "done":
            changes.update(done=t.info.size, speed=speed)
        if t.task is not None and t.task is not asyncio.current_task():
            t.task.cancel()
        if t.outgoing is not None:
            _close_soon(t.outgoing)
        self._update(t, **changes)  # front ends show the outcome with result_line()

    def _send(self, frame) -> bool:
        return send(self.link, frame)

    # -- sending -----------------------------------------------------------------------
    async def offer(self, paths: list[Path]) -> list[int]:
        """Offer what one /send names: a single file on its own, a folder or several files as
        one batch. Returns the id the user sees (one)."""
        items = await asyncio.to_thread(expand_send_paths, [str(p) for p in paths], Path.cwd())
        # Offered while disconnected: it is for the peer we last talked to, nobody else.
        peer_id = addressee(self.link)
        batch = None
        if len(items) > 1 or "/" in items[0].name:
            batch = Batch(next(self._ids), new_transfer_id(), "send", batch_name([i.name for i in items]),
                          sum(i.size for i in items), len(items), peer_id)
            self._batches[batch.info.id] = batch
        made = []
        for item in items:
            local_id = batch.info.id if batch else next(self._ids)
            t = TransferJob(local_id, new_transfer_id(), "send", item.name, item.size, peer_id)
            t.outgoing = OutgoingFile(item)
            t.info = replace(t.info, path=item.source)
            t.batch = batch
            if batch:
                batch.members.append(t)
            else:
                self._by_local[t.local_id] = t
            self._outgoing[t.tid] = t
            made.append(t)
        round_ = batch.offer_round() if batch else None
        for t in made:
            self._offer(t, round_)
        if batch:
            batch.info = batch.summary()
            self.report.emit(TransferUpdated(batch.info))  # the row appears at once
        return [made[0].local_id]

    def _offer(self, t: TransferJob, round_: OfferBatch | None = None) -> None:
        out = t.outgoing
        t.accepted = False
        if self._over_cap("send", t) and self.link.connection is not None:
            self._update(t, state="waiting", reason=f"held back while {MAX_OPEN_OFFERS} offers are open")
            self._held.append(t)
        elif self._send(FileOffer(t.tid, out.name, out.size, out.key, round_)):
            t.peer_id = self.link.peer_id
            self._update(t, state="offered")
        else:
            self._update(t, state="waiting", reason="offered when the peer is back")

    def _offer_held_back(self) -> None:
        """Offer what waited for earlier offers to end, oldest first."""
        if self.link.peer_id is None:
            return
        while self._held and not self._over_cap("send", self._held[0]):
            t = self._held.popleft()
            if t.info.state == "waiting":
                self._offer(t, t.batch.offer_round() if t.batch else None)

    async def _stream(self, t: TransferJob, conn: Connection, offset: int) -> None:
        out = t.outgoing
        try:
            await t.run(out.open, offset)
            t.meter = ProgressMeter(out.size, asyncio.get_running_loop().time(), start=offset)
            self._update(t, state="active", done=offset, resumed_from=offset, reason="")
            if offset:
                self.report.notice(f"{t.info.name}: resumed at {offset * 100 // max(out.size, 1)}%")
            position = offset
            next_read = asyncio.ensure_future(t.run(out.read_chunk, MIN_CHUNK))
            while True:
                data = await next_read
                if not data:
                    break
                next_read = asyncio.ensure_future(t.run(out.read_chunk, _chunk_size(t.meter.speed)))
                await conn.send_chunk(t.tid, position, data)
                position += len(data)
                self._progress(t, position)
            conn.send(FileDone(t.tid, out.sha256_hex()))
            _close_soon(out)
            self._update(t, state="verifying", done=out.size, eta=0.0)
        except TransferError as exc:
            self._send(FileCancel(t.tid, exc.reason))
            self._finish(t, "failed", exc.reason)
        except ConnectionClosed:
            _close_soon(out)  # interrupted: resumed after the reconnect

    # -- cancel from either side ---------------------------------------------------------
    def cancel(self, local_id: int) -> None:
        batch = self._batches.get(local_id)
        if batch is not None:
            if batch.final:
                raise ValueError(f"transfer #{local_id} is already {batch.info.state}")
            batch.answer = "cancel"
            for t in batch.members:
                if not t.final:
                    self._send(FileCancel(t.tid, f"cancelled by {self.link.nickname}"))
                    self._stop(t, "cancelled", "cancelled by you")
            return
        t = self._get(local_id)
        if t.final:
            raise ValueError(f"transfer #{local_id} is already {t.info.state}")
        self._send(FileCancel(t.tid, f"cancelled by {self.link.nickname}"))
        self._stop(t, "cancelled", "cancelled by you")

    def _stop(self, t: TransferJob, state: str, reason: str) -> None:
        self._finish(t, state, reason)
        if t.incoming is not None:
            inc = t.incoming

            async def discard() -> None:
                await self._drain(t)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(inc.abort, False)

            self._background(discard())

    # -- frames ---------------------------------------------------------------------------
    def on_frame(self, conn: Connection, frame) -> None:
        if isinstance(frame, FileOffer):
            self._on_offer(frame)
        elif isinstance(frame, FileAccept):
            t = self._outgoing.get(frame.tid)
            if t is None or t.final:
                self._send(FileCancel(frame.tid, "unknown transfer"))
                return
            if t.accepted:
                logger.info("ignored a repeated FILE_ACCEPT for {}", t.info.name)
                return  # one stream per offer
            t.accepted = True
            if frame.offset > t.info.size:
                self._send(FileCancel(frame.tid, "resume offset past the end of the file"))
                self._finish(t, "failed", "the peer asked to resume past the end of the file")
                return
            t.task = self._background(self._stream(t, conn, frame.offset), f"send-{t.local_id}")
        elif isinstance(frame, FileDecline):
            t = self._outgoing.get(frame.tid)
            if t is not None:
                self._finish(t, "declined", frame.reason)
        elif isinstance(frame, FileResult):
            t = self._outgoing.get(frame.tid)
            if t is not None:
                self._finish(t, "done" if frame.ok else "failed", frame.reason)
        elif isinstance(frame, FileCancel):
            t = self._outgoing.get(frame.tid) or self._incoming.get(frame.tid)
            if t is not None and not t.final:
                reason = frame.reason if frame.reason.startswith("cancelled by ") else f"cancelled by the peer: {frame.reason}"
                self._stop(t, "cancelled", reason)
        elif isinstance(frame, FileDone):
            self._background(self._on_done(frame))
        else:
            logger.debug("ignored {}", type(frame).__name__)

    # -- connection changes ----------------------------------------------------------------
    def on_connected(self, conn: Connection, peer_id: str) -> None:
        self._held.clear()  # every unfinished offer is made again below, the cap applied anew
        rounds = {b.info.id: b.offer_round() for b in self._batches.values() if b.info.direction == "send"}
        for t in list(self._outgoing.values()):
            if t.final or (t.peer_id is not None and t.peer_id != peer_id):
                continue
            if t.task is not None:
                t.task.cancel()
            t.outgoing = OutgoingFile(t.outgoing.item)  # fresh hash: the receiver says where to resume
            self._offer(t, rounds.get(t.batch.info.id) if t.batch else None)

    def on_disconnected(self) -> None:
        for t in self._every_file():
            if t.final:
                continue
            if t.batch is not None and t.batch.answer == "accept" and t.info.state == "offered":
                continue  # accepted with its batch, not started yet: the sender offers it again
            if t.direction == "send":
                if t.task is not None:
                    t.task.cancel()
                if t.outgoing is not None:
                    _close_soon(t.outgoing)
                self._update(t, state="interrupted", reason="waiting for the peer")
            elif t.info.state in ("active", "preparing", "verifying"):
                if t.task is not None:
                    t.task.cancel()
                inc = t.incoming

                async def keep(t=t, inc=inc) -> None:
                    await self._drain(t)
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(inc.abort, True)

                self._background(keep())
                self._update(t, state="interrupted", reason="waiting for the peer")
            elif t.info.state == "offered":
                self._finish(t, "cancelled", "the peer disconnected")

    async def shutdown(self, keep_parts: bool) -> None:
        for t in self._every_file():
            if t.task is not None:
                t.task.cancel()
            if t.outgoing is not None:
                _close_soon(t.outgoing)
            if t.incoming is not None and t.info.state in ("active", "verifying", "preparing"):
                await self._drain(t)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(t.incoming.abort, keep_parts)
            t.executor.shutdown(wait=False)
        await self._tasks.cancel_all()
