"""File transfers on the live connection: the engine's effects carried out with asyncio.

`TransferEngine` decides; this module does the I/O it asks for and feeds the results back.
Disk work (reading, hashing, writing) runs on a small pool of disk threads, each transfer's
calls in order on its own lane, so the event loop only moves frames; hashlib and file I/O
release the GIL, which lets a transfer use the second core. Bytes in flight are bounded on
both sides: the sender waits for the transport's buffer to drain (`Connection.send_chunk`),
and the receiver holds reading the socket while more than `WRITE_BACKLOG` bytes wait for the
disk. Its reader never waits for the disk itself: frames already received (a PING, a BYE)
are handled at once however far behind the disk is.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from p2pchat.heap import return_free_memory
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.protocol import MAX_CHUNK_DATA, FileChunk
from p2pchat.session.context import PeerLink, Reporter, addressee, send
from p2pchat.session.events import TransferInfo, TransferUpdated
from p2pchat.session.tasks import Tasks
from p2pchat.session.transfers.batches import Batch
from p2pchat.session.transfers.effects import (
    Emit,
    Halt,
    Log,
    Notify,
    Prepare,
    Probe,
    Send,
    Stream,
    Verify,
    Write,
)
from p2pchat.session.transfers.engine import TransferEngine
from p2pchat.session.transfers.jobs import Job, Outbound
from p2pchat.session.transfers.writes import Writes
from p2pchat.settings import Settings
from p2pchat.transfer import (
    IncomingFile,
    OutgoingFile,
    TransferError,
    describe_skipped,
    expand_send_paths,
)
from p2pchat.transfer.folders import batch_partial_bytes, claim_batch_folder, partial_bytes
from p2pchat.transfer.hashing import SHA256
from p2pchat.transfer.lanes import Lane, disk_lane
from p2pchat.transfer.outgoing import source_key

# Big chunks mean fewer frames, thread hand-offs and events per byte; page-aligned reads.
SEND_CHUNK = MAX_CHUNK_DATA // 4096 * 4096
MIN_CHUNK = 64 * 1024
CHUNK_TIME = 0.05  # seconds of data per chunk at the current speed: chat never waits long behind one
WRITE_BACKLOG = 2 * 1024 * 1024  # bytes waiting for the disk before the reader waits too


def _chunk_size(speed: float) -> int:
    """Big chunks on a fast link (fewer frames and hand-offs), small ones on a slow link."""
    return max(MIN_CHUNK, min(SEND_CHUNK, int(speed * CHUNK_TIME) // 4096 * 4096))


def _file(job: Job) -> IncomingFile:
    """The download on disk behind an engine job (the engine sees it as an `Inbound`)."""
    inc = job.download
    assert isinstance(inc, IncomingFile)
    return inc


def _close_soon(out: OutgoingFile) -> None:
    """Close off the event loop: close() waits for a read or a resume hash still running."""
    asyncio.get_running_loop().run_in_executor(None, out.close)


@dataclass(eq=False)
class DiskWork:
    """What the runner keeps beside one engine job: its lane, the task reading or preparing
    for it, the file it streams from, and its writes not yet on disk."""

    lane: Lane = field(default_factory=disk_lane)
    task: asyncio.Task | None = None
    outgoing: OutgoingFile | None = None
    writes: Writes | None = None  # the download's chunks on their way to the disk
    settling: asyncio.Task | None = None  # the part file being closed after a drop

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.lane, fn, *args)

    @property
    def pending_bytes(self) -> int:
        return self.writes.pending_bytes if self.writes is not None else 0


class Transfers:
    def __init__(self, report: Reporter, link: PeerLink, settings: Settings, downloads_dir: Path) -> None:
        self.report = report
        self.link = link
        self.settings = settings
        self.downloads_dir = downloads_dir  # unless the settings name one
        self.engine = TransferEngine(settings, link, self._new_incoming)
        self._work: dict[Job, DiskWork] = {}
        self._folders: dict[int, dict[str, str]] = {}  # batch wire id -> top folder -> where it lands
        self._placing = threading.Lock()  # worker threads claim batch folders one at a time
        self._aborts: set[asyncio.Task] = set()
        self._held: Connection | None = None  # reading held while the disk is behind
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at: float | None = None
        self._tasks = Tasks(lambda name, exc: report.notice(f"transfer error: {exc}", "error"))

    @staticmethod
    def _now() -> float:
        return time.monotonic()  # the event loop's clock, also read outside it

    def _new_incoming(self, name: str, size: int, key: str, peer_id: str, save_as: Path | None) -> IncomingFile:
        if save_as is not None:
            return IncomingFile(save_as.parent, name, size, key, peer_id, self.settings.max_file_size,
                                save_as=save_as)
        download_dir = self.settings.download_dir or self.downloads_dir
        return IncomingFile(Path(download_dir), name, size, key, peer_id, self.settings.max_file_size)

    # -- the public surface the session uses ---------------------------------------------
    def infos(self) -> list[TransferInfo]:
        return self.engine.infos()

    def sending(self) -> bool:
        return self.engine.sending()

    async def offer(self, paths: list[Path]) -> list[int]:
        """Offer what one /send names; returns the id the user sees (one)."""
        skipped: list[str] = []
        items = await asyncio.to_thread(expand_send_paths, [str(p) for p in paths], Path.cwd(), skipped)
        if skipped:
            self.report.notice(describe_skipped(skipped), "warning")
        files = [Outbound(item.name, item.size, source_key(item.source, item.size, item.mtime_ns), item.source, item)
                 for item in items]
        # Offered while disconnected: it is for the peer we last talked to, nobody else.
        local_id = self.engine.offer(files, addressee(self.link), self._now())
        self._carry_out()
        return [local_id]

    def accept(self, local_id: int, save_as: Path | None = None) -> None:
        try:
            self.engine.accept(local_id, save_as, now=self._now())
        finally:
            self._carry_out()

    def decline(self, local_id: int, reason: str = "declined") -> None:
        try:
            self.engine.decline(local_id, reason, now=self._now())
        finally:
            self._carry_out()

    def cancel(self, local_id: int) -> None:
        try:
            self.engine.cancel(local_id, self._now())
        finally:
            self._carry_out()

    def on_frame(self, conn: Connection, frame) -> None:
        if not self.engine.receive(frame, self._now()):
            logger.debug("ignored {}", type(frame).__name__)
        self._carry_out()

    def on_chunk(self, frame: FileChunk) -> None:
        job = self.engine.chunk(frame, self._now())
        self._carry_out()
        conn = self.link.connection
        if job is not None and self._held is None and conn is not None \
                and self._work_of(job).pending_bytes > WRITE_BACKLOG:
            conn.hold_reading(True)
            self._held = conn

    def _release_reading(self) -> None:
        """Read on once no transfer has more than `WRITE_BACKLOG` waiting for the disk."""
        if self._held is not None and all(w.pending_bytes <= WRITE_BACKLOG for w in self._work.values()):
            self._held.hold_reading(False)
            self._held = None

    def on_connected(self, conn: Connection, peer_id: str) -> None:
        self.engine.connected(peer_id, self._now())
        self._carry_out()

    def on_disconnected(self) -> None:
        self._held = None  # a held connection is gone with its hold
        self.engine.disconnected(self._now())
        self._carry_out()

    async def shutdown(self, keep_parts: bool) -> None:
        self.engine.shutdown(keep_parts)
        self._carry_out()
        if self._wake is not None:
            self._wake.cancel()
        await asyncio.gather(*self._aborts, return_exceptions=True)
        await self._tasks.cancel_all()

    # -- carrying out ------------------------------------------------------------------------
    def _carry_out(self) -> None:
        for effect in self.engine.take_effects():
            if isinstance(effect, Send):
                send(self.link, effect.frame)
            elif isinstance(effect, Emit):
                self.report.emit(effect.event)
                if isinstance(effect.event, TransferUpdated) and effect.event.transfer.state.final:
                    # What its buffers held goes back to the system once its lane is done.
                    asyncio.get_running_loop().call_later(1.0, return_free_memory)
            elif isinstance(effect, Notify):
                self.report.notice(effect.text, effect.level)
            elif isinstance(effect, Log):
                logger.info(effect.text)
            elif isinstance(effect, Write):
                self._write(effect.job, effect.offset, effect.data)
            elif isinstance(effect, Stream):
                self._start(effect.job, self._stream(effect.job, effect.offset), f"send-{effect.job.local_id}")
            elif isinstance(effect, Prepare):
                self._start(effect.job, self._prepare(effect.job, effect.root), f"prepare-{effect.job.local_id}")
            elif isinstance(effect, Verify):
                self._tasks.spawn(self._verify(effect.job, effect.hash_name, effect.digest), "verify")
            elif isinstance(effect, Probe):
                self._tasks.spawn(self._probe(effect.subject, effect.job), "announce")
            elif isinstance(effect, Halt):
                self._halt(effect)
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        due = self.engine.next_wake()
        if due is None or (self._wake_at is not None and self._wake_at <= due):
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake_at = due
        self._wake = asyncio.get_running_loop().call_later(max(0.0, due - self._now()), self._tick)

    def _tick(self) -> None:
        self._wake, self._wake_at = None, None
        self.engine.tick(self._now())
        self._carry_out()

    def _work_of(self, job: Job) -> DiskWork:
        work = self._work.get(job)
        if work is None:
            work = self._work[job] = DiskWork()
        return work

    def _start(self, job: Job, coro, name: str) -> None:
        self._work_of(job).task = self._tasks.spawn(coro, name)

    def _halt(self, halt: Halt) -> None:
        job = halt.job
        work = self._work.get(job)
        if work is None:
            if halt.keep_part is None or job.inbound is None:
                return
            work = self._work_of(job)
        if work.task is not None and work.task is not asyncio.current_task():
            work.task.cancel()
        if work.outgoing is not None:
            _close_soon(work.outgoing)
            work.outgoing = None
        if halt.keep_part is not None and job.inbound is not None:
            task = asyncio.get_running_loop().create_task(self._abort(work, _file(job), halt.keep_part))
            work.settling = task
            self._aborts.add(task)
            task.add_done_callback(self._aborts.discard)
        if halt.final:
            work.lane.shutdown(wait=False)
            del self._work[job]
            self._release_reading()

    async def _abort(self, work: DiskWork, inc: IncomingFile, keep_part: bool) -> None:
        await self._wait_written(work, -1)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(inc.abort, keep_part)

    # -- sending -------------------------------------------------------------------------------
    async def _stream(self, job: Job, offset: int) -> None:
        conn = self.link.connection
        work = self._work_of(job)
        out = work.outgoing = OutgoingFile(job.upload.handle, self._file_hash())  # a fresh hash for each stream
        try:
            if conn is None:
                raise ConnectionClosed("not connected")
            await work.run(out.open, offset)
            self.engine.stream_opened(job, offset, self._now())
            self._carry_out()
            position = offset
            next_read = asyncio.ensure_future(work.run(out.read_chunk, MIN_CHUNK))
            while True:
                data = await next_read
                if not data:
                    break
                speed = job.meter.speed if job.meter is not None else 0.0
                next_read = asyncio.ensure_future(work.run(out.read_chunk, _chunk_size(speed)))
                await conn.send_chunk(job.tid, position, data)
                position += len(data)
                self.engine.sent(job, position, self._now())
                self._carry_out()
            if conn.is_closing:
                raise ConnectionClosed("closed")
            self.engine.streamed(job, out.hex_digest(), self._now(), out.hash_name)
            self._carry_out()
        except TransferError as exc:
            self.engine.stream_failed(job, exc.reason, self._now())
            self._carry_out()
        except ConnectionClosed:
            pass  # interrupted: resumed after the reconnect
        finally:
            if work.outgoing is out:
                _close_soon(out)
                work.outgoing = None

    # -- receiving -----------------------------------------------------------------------------
    async def _probe(self, subject: Job | Batch, job: Job | None) -> None:
        held = 0
        inc = _file(job) if job is not None else None
        try:
            if inc is not None and inc.top_folder is not None and isinstance(subject, Batch):
                held = await asyncio.to_thread(
                    batch_partial_bytes, inc.download_dir, inc.top_folder, inc.peer_id, subject.wire_id
                )
            elif inc is not None:
                held = await asyncio.to_thread(
                    partial_bytes, inc.download_dir / inc.relative.parent, inc.peer_id, inc.key, inc.size
                )
        except OSError:
            held = 0
        self.engine.probed(subject, held, self._now())
        self._carry_out()

    def _file_hash(self) -> str:
        """The hash FILE_DONE carries on the live connection (SHA-256 when there is none)."""
        conn = self.link.connection
        return conn.file_hash if conn is not None else SHA256

    async def _prepare(self, job: Job, root: Path | None) -> None:
        work = self._work_of(job)
        if work.settling is not None:  # offered again right after a drop: the part file closes first
            await asyncio.wait([work.settling])
            work.settling = None
        inc = _file(job)
        folder = None
        try:
            batch = self.engine.batch_of(job)
            if batch is not None:
                folder = await work.run(self._place_in_batch, batch.wire_id, root, inc)
            offset = await work.run(inc.prepare, None, self._file_hash())
        except TransferError as exc:
            self.engine.prepare_failed(job, exc.reason, self._now())
            self._carry_out()
            return
        self.engine.prepared(job, offset, folder, self._now())
        self._carry_out()

    def _place_in_batch(self, wire_id: int, root: Path | None, inc: IncomingFile) -> Path:
        """In a worker thread: put this file of the batch in its folder (a folder sent again
        gets a new name as a whole: `photos (1)/a.jpg`, never `photos/a (1).jpg`); return
        where the batch is saved."""
        root = root or Path(self.settings.download_dir or self.downloads_dir)
        top = inc.top_folder
        with self._placing:
            folders = self._folders.setdefault(wire_id, {})
            if top is not None and top not in folders:
                folders[top] = claim_batch_folder(root, top, inc.peer_id, wire_id)
        if top is None:
            inc.relocate(root, None)
            return root
        inc.relocate(root, folders[top])
        return root / folders[top]

    def _write(self, job: Job, offset: int, data: bytes | memoryview) -> None:
        work = self._work_of(job)
        if work.writes is None:
            work.writes = Writes(work.lane, _file(job).write, lambda nbytes, exc: self._written(job, exc))
        work.writes.put(offset, data)

    def _written(self, job: Job, exc: BaseException | None) -> None:
        self._release_reading()
        if exc is not None:
            reason = exc.reason if isinstance(exc, TransferError) else str(exc)
            self.engine.write_failed(job, reason, self._now())
        else:
            self.engine.written(job, _file(job).received, self._now())
        self._carry_out()

    @staticmethod
    async def _wait_written(work: DiskWork, backlog: int) -> None:
        """Wait until at most `backlog` bytes wait for the disk (negative: none at all)."""
        if work.writes is not None:
            await work.writes.wait(backlog)

    async def _verify(self, job: Job, hash_name: str, digest: str) -> None:
        work = self._work.get(job)
        if work is None:
            return  # ended meanwhile
        await self._wait_written(work, -1)
        if job.final:
            return
        try:
            path = await work.run(_file(job).finish, digest, hash_name)
        except TransferError as exc:
            self.engine.verify_failed(job, exc.reason, self._now())
        else:
            self.engine.verified(job, path, self._now())
        self._carry_out()
