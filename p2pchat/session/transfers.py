"""File transfers on top of the live connection.

Disk work (reading, hashing, writing) runs in one worker thread per transfer, so
the event loop only moves frames; hashlib and file I/O release the GIL, which lets
a transfer use the second core. Bytes in flight are bounded on both sides: the
sender waits for the transport's buffer to drain (`Connection.send_chunk`), and
the receiver stops reading the socket while more than `WRITE_BACKLOG` bytes wait
for the disk.

Users see small local ids (1, 2, 3...); the wire uses the sender's random 64-bit tid.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from p2pchat.display import human_duration
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.protocol import (
    MAX_CHUNK_DATA,
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    OfferBatch,
    new_transfer_id,
)
from p2pchat.session.batches import Batch, batch_name
from p2pchat.session.events import TransferInfo, TransferOffered, TransferUpdated
from p2pchat.transfer import (
    IncomingFile,
    OutgoingFile,
    ProgressMeter,
    TransferError,
    expand_send_paths,
    format_size,
)
from p2pchat.transfer.folders import batch_partial_bytes, claim_batch_folder, partial_bytes

if TYPE_CHECKING:
    from p2pchat.session.core import Session

WRITE_BACKLOG = 8 * 1024 * 1024
# Big chunks mean fewer frames, thread hand-offs and events per byte; page-aligned reads.
SEND_CHUNK = MAX_CHUNK_DATA // 4096 * 4096
MIN_CHUNK = 64 * 1024
CHUNK_TIME = 0.05  # seconds of data per chunk at the current speed: chat never waits long behind one


def _chunk_size(speed: float) -> int:
    """Big chunks on a fast link (fewer frames and hand-offs), small ones on a slow link."""
    return max(MIN_CHUNK, min(SEND_CHUNK, int(speed * CHUNK_TIME) // 4096 * 4096))


FINAL_STATES = {"done", "failed", "declined", "cancelled"}
BATCH_REFRESH = 0.05  # seconds: a batch is summed up at most this often


def _close_soon(out: OutgoingFile) -> None:
    """Close off the event loop: close() waits for a read or a resume hash still running."""
    asyncio.get_running_loop().run_in_executor(None, out.close)


class _Transfer:
    def __init__(self, local_id: int, tid: int, direction: str, name: str, size: int, peer_id: str | None) -> None:
        self.local_id = local_id
        self.tid = tid
        self.direction = direction
        self.peer_id = peer_id
        self.info = TransferInfo(local_id, name, size, direction, "offered")
        self.meter: ProgressMeter | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"transfer-{local_id}")
        self.task: asyncio.Task | None = None
        self.outgoing: OutgoingFile | None = None
        self.incoming: IncomingFile | None = None
        self.pending: list[asyncio.Future] = []  # incoming writes not yet on disk
        self.pending_bytes = 0
        self.expected = 0  # incoming: offset of the next chunk
        self.batch: Batch | None = None  # the /send it belongs to, if it came with others

    @property
    def final(self) -> bool:
        return self.info.state in FINAL_STATES

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


class Transfers:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._ids = itertools.count(1)
        self._by_local: dict[int, _Transfer] = {}
        self._outgoing: dict[int, _Transfer] = {}  # by tid
        self._incoming: dict[int, _Transfer] = {}  # by tid
        self._batches: dict[int, Batch] = {}  # by local id
        self._incoming_batches: dict[int, Batch] = {}  # by the sender's batch id
        self._tasks: set[asyncio.Task] = set()

    def _background(self, coro) -> None:
        """Run `coro` as a task that is kept (not garbage-collected mid-run) and whose
        failure is logged and shown, not lost."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.opt(exception=task.exception()).error("transfer task failed")
            self.session.notice(f"transfer error: {task.exception()}", "error")

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

    def _get(self, local_id: int) -> _Transfer:
        transfer = self._by_local.get(local_id)
        if transfer is None:
            raise ValueError(f"no transfer #{local_id} (see /transfers)")
        return transfer

    # -- state changes ---------------------------------------------------------------
    def _update(self, t: _Transfer, **changes) -> None:
        t.info = replace(t.info, **changes)
        if t.final:
            t.executor.shutdown(wait=False)
        if t.batch is None:
            self.session.emit(TransferUpdated(t.info))
        else:
            self._batch_changed(t.batch)
            if t.final:
                self._download_next(t.batch)  # at once: a folder of small files is mostly turns

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
            self.session.emit(TransferUpdated(info))
        self._download_next(batch)

    def _download_next(self, batch: Batch) -> None:
        for member in batch.next_to_download():
            self._start_download(member)

    def _progress(self, t: _Transfer, done: int) -> None:
        meter = t.meter
        now = asyncio.get_running_loop().time()
        if meter is not None and meter.update(done, now):
            self._update(t, done=done, speed=meter.speed, eta=meter.eta)

    def _finish(self, t: _Transfer, state: str, reason: str = "", path: Path | None = None) -> None:
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
        conn = self.session.connection
        if conn is None:
            return False
        try:
            conn.send(frame)
            return True
        except ConnectionClosed:
            return False

    # -- sending -----------------------------------------------------------------------
    async def offer(self, paths: list[Path]) -> list[int]:
        """Offer what one /send names: a single file on its own, a folder or several files as
        one batch. Returns the id the user sees (one)."""
        items = await asyncio.to_thread(expand_send_paths, [str(p) for p in paths], Path.cwd())
        # Offered while disconnected: it is for the peer we last talked to, nobody else.
        peer_id = self.session.peer_id or self.session.last_peer_id
        batch = None
        if len(items) > 1 or "/" in items[0].name:
            batch = Batch(next(self._ids), new_transfer_id(), "send", batch_name([i.name for i in items]),
                          sum(i.size for i in items), len(items), peer_id)
            self._batches[batch.info.id] = batch
        made = []
        for item in items:
            local_id = batch.info.id if batch else next(self._ids)
            t = _Transfer(local_id, new_transfer_id(), "send", item.name, item.size, peer_id)
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
            self.session.emit(TransferUpdated(batch.info))  # the row appears at once
        return [made[0].local_id]

    def _offer(self, t: _Transfer, round_: OfferBatch | None = None) -> None:
        out = t.outgoing
        if self._send(FileOffer(t.tid, out.name, out.size, out.key, round_)):
            t.peer_id = self.session.peer_id
            self._update(t, state="offered")
        else:
            self._update(t, state="waiting", reason="offered when the peer is back")

    async def _stream(self, t: _Transfer, conn: Connection, offset: int) -> None:
        out = t.outgoing
        try:
            await t.run(out.open, offset)
            t.meter = ProgressMeter(out.size, asyncio.get_running_loop().time(), start=offset)
            self._update(t, state="active", done=offset, resumed_from=offset, reason="")
            if offset:
                self.session.notice(f"{t.info.name}: resumed at {offset * 100 // max(out.size, 1)}%")
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

    # -- receiving ---------------------------------------------------------------------
    def _on_offer(self, frame: FileOffer) -> None:
        session = self.session
        known = self._incoming.get(frame.tid)
        if known is not None and known.final:
            # Our FILE_RESULT was lost with the connection: say it again, do not download twice.
            self._send(FileResult(frame.tid, known.info.state == "done", known.info.reason))
            return
        if known is not None:
            if known.info.state == "interrupted" and known.incoming is not None:
                self._start_download(known)  # the user accepted it before
            return
        if frame.batch is not None:
            self._on_batch_offer(frame)
            return
        t = _Transfer(next(self._ids), frame.tid, "receive", frame.name, frame.size, session.peer_id)
        try:
            t.incoming = self._incoming_file(frame)
        except TransferError as exc:
            self._send(FileDecline(frame.tid, exc.reason))
            session.notice(f"declined an offer of {frame.name!r}: {exc.reason}", "warning")
            return
        t.info = replace(t.info, name=t.incoming.display_name)
        self._by_local[t.local_id] = t
        self._incoming[frame.tid] = t
        if session.settings.auto_accept_files:
            self.accept(t.local_id)
        else:
            inc = t.incoming
            directory = inc.download_dir / inc.relative.parent
            self._announce(t, partial_bytes, directory, inc.peer_id, inc.key, inc.size)

    def _announce(self, t: _Transfer | Batch, probe, *args) -> None:
        """Put the offer to the user, saying whether it resumes an interrupted download."""

        async def announce() -> None:
            try:
                held = await asyncio.to_thread(probe, *args)
            except OSError:
                held = 0
            if t.info.state == "offered":  # not withdrawn meanwhile
                t.info = replace(t.info, resumed_from=held)
                self.session.emit(TransferOffered(t.info))

        self._background(announce())

    def _incoming_file(self, frame: FileOffer) -> IncomingFile:
        session = self.session
        download_dir = session.settings.download_dir or session.paths.downloads_dir
        return IncomingFile(
            Path(download_dir), frame.name, frame.size, frame.key, session.peer_id or "",
            session.settings.max_file_size,
        )

    def _on_batch_offer(self, frame: FileOffer) -> None:
        """One file of a batch: the first one asks about the whole batch, the rest join it."""
        session = self.session
        batch = self._incoming_batches.get(frame.batch.id)
        new = batch is None
        if new:
            about = frame.batch
            batch = Batch(
                next(self._ids), about.id, "receive", about.name, about.size, about.files, session.peer_id
            )
            self._batches[batch.info.id] = batch
            self._incoming_batches[about.id] = batch
        t = _Transfer(batch.info.id, frame.tid, "receive", frame.name, frame.size, session.peer_id)
        t.batch = batch
        batch.members.append(t)
        self._incoming[frame.tid] = t
        try:
            t.incoming = self._incoming_file(frame)
            t.incoming.batch_id = frame.batch.id
            t.info = replace(t.info, name=t.incoming.display_name)
        except TransferError as exc:
            self._send(FileDecline(frame.tid, exc.reason))
            self._finish(t, "failed", exc.reason)
        if batch.final and not t.final:  # more files than it announced: nobody will answer them
            self._send(FileDecline(frame.tid, "this batch is already finished"))
            self._finish(t, "declined", "this batch is already finished")
        elif batch.answer == "decline" and not t.final:  # answered before this file's offer came
            self._send(FileDecline(frame.tid, "declined"))
            self._finish(t, "declined", "declined")
        elif batch.answer == "cancel" and not t.final:
            self._send(FileCancel(frame.tid, f"cancelled by {session.nickname}"))
            self._finish(t, "cancelled", "cancelled by you")
        self._batch_changed(batch)
        if not new:
            return
        if session.settings.auto_accept_files:
            self.accept(batch.info.id)
        elif t.incoming is not None and t.incoming.top_folder is not None:
            inc = t.incoming
            self._announce(
                batch, batch_partial_bytes, inc.download_dir, inc.top_folder, inc.peer_id, batch.wire_id
            )
        else:
            self._announce(batch, lambda: 0)

    def accept(self, local_id: int, save_as: Path | None = None) -> None:
        batch = self._batches.get(local_id)
        if batch is not None:
            if batch.info.direction == "send" or batch.answer or batch.final:
                raise ValueError(f"transfer #{local_id} is not waiting for an answer")
            batch.answer = "accept"
            if save_as is not None:
                batch.root = Path(save_as).expanduser()
            self._batch_changed(batch)  # which starts the first file
            return
        t = self._get(local_id)
        if t.direction != "receive" or t.info.state != "offered":
            raise ValueError(f"transfer #{local_id} is not waiting for an answer")
        if save_as is not None:
            inc = t.incoming
            try:
                t.incoming = IncomingFile(
                    Path(save_as).expanduser().parent, inc.display_name, inc.size, inc.key, inc.peer_id,
                    self.session.settings.max_file_size, save_as=Path(save_as).expanduser(),
                )
            except TransferError as exc:
                raise ValueError(exc.reason) from None
        self._start_download(t)

    def _start_download(self, t: _Transfer) -> None:
        self._update(t, state="preparing")
        t.task = asyncio.create_task(self._prepare(t), name=f"prepare-{t.local_id}")

    async def _prepare(self, t: _Transfer) -> None:
        inc = t.incoming
        try:
            if t.batch is not None:
                path = await t.run(self._place_in_batch, t.batch, inc)
                if t.batch.info.path is None:
                    t.batch.info = replace(t.batch.info, path=path)
            offset = await t.run(inc.prepare)
        except TransferError as exc:
            self._send(FileDecline(t.tid, exc.reason))
            self._finish(t, "failed", exc.reason)
            return
        t.expected = offset
        t.meter = ProgressMeter(inc.size, asyncio.get_running_loop().time(), start=offset)
        if not self._send(FileAccept(t.tid, offset)):
            await t.run(inc.abort, True)
            self._update(t, state="interrupted")
            return
        self._update(t, state="active", done=offset, resumed_from=offset, path=inc.part_path)
        if offset:
            self.session.notice(f"{t.info.name}: resumed at {offset * 100 // max(inc.size, 1)}%")

    def _place_in_batch(self, batch: Batch, inc: IncomingFile) -> Path:
        """In a worker thread: put this file of the batch in its folder (a folder sent again
        gets a new name as a whole: `photos (1)/a.jpg`, never `photos/a (1).jpg`); return
        where the batch is saved."""
        settings = self.session.settings
        root = batch.root or Path(settings.download_dir or self.session.paths.downloads_dir)
        top = inc.top_folder
        with batch.placing:
            if top is not None and top not in batch.folders:
                batch.folders[top] = claim_batch_folder(root, top, inc.peer_id, batch.wire_id)
        inc.relocate(root, batch.folders.get(top))
        return root / batch.folders[top] if top is not None else root

    def decline(self, local_id: int, reason: str = "declined") -> None:
        batch = self._batches.get(local_id)
        if batch is not None:
            if batch.info.direction == "send" or batch.answer or batch.final:
                raise ValueError(f"transfer #{local_id} is not waiting for an answer")
            batch.answer = "decline"
            for t in batch.members:
                if not t.final:
                    self._send(FileDecline(t.tid, reason))
                    self._finish(t, "declined", reason)
            return
        t = self._get(local_id)
        if t.direction != "receive" or t.info.state != "offered":
            raise ValueError(f"transfer #{local_id} is not waiting for an answer")
        self._send(FileDecline(t.tid, reason))
        self._finish(t, "declined", reason)

    async def on_chunk(self, frame: FileChunk) -> None:
        t = self._incoming.get(frame.tid)
        if t is not None and t.final:
            return  # still in flight when the transfer ended: nothing to say again
        if t is None or t.info.state != "active":
            self._send(FileCancel(frame.tid, "unknown transfer or not accepted"))
            if t is not None and not t.final:
                await self._fail_incoming(t, "chunk before the transfer was accepted")
            return
        size = len(frame.data)
        if frame.offset != t.expected:
            await self._fail_incoming(t, f"chunk out of order (offset {frame.offset}, expected {t.expected})")
            return
        if t.expected + size > t.info.size:
            await self._fail_incoming(t, f"more data than the announced {t.info.size} bytes")
            return
        t.expected += size
        t.pending_bytes += size
        future = asyncio.get_running_loop().run_in_executor(t.executor, t.incoming.write, frame.offset, frame.data)
        t.pending.append(future)
        future.add_done_callback(lambda f, t=t, size=size: self._written(t, f, size))
        if t.pending_bytes > WRITE_BACKLOG:
            # Wait for one write only: the reader keeps serving chat frames between writes.
            await self._wait_written(t, WRITE_BACKLOG)

    def _written(self, t: _Transfer, future: asyncio.Future, size: int) -> None:
        with contextlib.suppress(ValueError):
            t.pending.remove(future)
        t.pending_bytes -= size
        exc = future.exception() if not future.cancelled() else None
        if exc is not None:
            if not t.final:
                reason = exc.reason if isinstance(exc, TransferError) else str(exc)
                self._background(self._fail_incoming(t, reason, our_fault=True))
            return
        if t.info.state == "active":
            self._progress(t, t.incoming.received)

    @staticmethod
    async def _wait_written(t: _Transfer, backlog: int) -> None:
        """Wait until at most `backlog` bytes wait for the disk."""
        while t.pending and t.pending_bytes > backlog:
            await asyncio.wait([t.pending[0]])
            await asyncio.sleep(0)  # let the done-callbacks update the backlog

    async def _drain(self, t: _Transfer) -> None:
        await self._wait_written(t, -1)

    async def _fail_incoming(self, t: _Transfer, reason: str, our_fault: bool = False) -> None:
        """End a download: FILE_CANCEL for what the sender did wrong, a failed FILE_RESULT
        for what went wrong here (disk full...), so the sender reports it as failed."""
        if t.final:
            return
        self._send(FileResult(t.tid, False, reason) if our_fault else FileCancel(t.tid, reason))
        self._finish(t, "failed", reason)
        await self._drain(t)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(t.incoming.abort, False)

    async def _on_done(self, frame: FileDone) -> None:
        t = self._incoming.get(frame.tid)
        if t is None or t.info.state != "active":
            self._send(FileCancel(frame.tid, "unknown transfer"))
            return
        self._update(t, state="verifying")
        await self._drain(t)
        if t.final:
            return
        try:
            path = await t.run(t.incoming.finish, frame.sha256)
        except TransferError as exc:
            self._send(FileResult(t.tid, False, exc.reason))
            self._finish(t, "failed", exc.reason)
            return
        self._send(FileResult(t.tid, True, ""))
        self._finish(t, "done", path=path)

    # -- cancel from either side ---------------------------------------------------------
    def cancel(self, local_id: int) -> None:
        batch = self._batches.get(local_id)
        if batch is not None:
            if batch.final:
                raise ValueError(f"transfer #{local_id} is already {batch.info.state}")
            batch.answer = "cancel"
            for t in batch.members:
                if not t.final:
                    self._send(FileCancel(t.tid, f"cancelled by {self.session.nickname}"))
                    self._stop(t, "cancelled", "cancelled by you")
            return
        t = self._get(local_id)
        if t.final:
            raise ValueError(f"transfer #{local_id} is already {t.info.state}")
        self._send(FileCancel(t.tid, f"cancelled by {self.session.nickname}"))
        self._stop(t, "cancelled", "cancelled by you")

    def _stop(self, t: _Transfer, state: str, reason: str) -> None:
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
            if t is None or t.final or t.info.state == "active":
                self._send(FileCancel(frame.tid, "unknown transfer"))
                return
            if frame.offset > t.info.size:
                self._send(FileCancel(frame.tid, "resume offset past the end of the file"))
                self._finish(t, "failed", "the peer asked to resume past the end of the file")
                return
            t.task = asyncio.create_task(self._stream(t, conn, frame.offset), name=f"send-{t.local_id}")
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
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def pick_transfer(transfers: list[TransferInfo], command: str, arg: str | None) -> int:
    """The transfer `/accept`, `/decline` or `/cancel` means: the id given (`3` or `#3`), or
    the only one it can apply to. Raises ValueError with a hint for the user."""
    if arg is not None:
        text = arg.lstrip("#")
        if not text.isdigit():
            raise ValueError(f"/{command}: {arg!r} is not a transfer id")
        return int(text)
    if command == "cancel":
        candidates = [t for t in transfers if t.state not in FINAL_STATES]
    else:
        candidates = [t for t in transfers if t.state == "offered" and t.direction == "receive"]
    if len(candidates) == 1:
        return candidates[0].id
    if not candidates:
        raise ValueError(f"/{command}: no transfer to {command}")
    ids = ", ".join(f"#{t.id} {t.name}" for t in candidates)
    raise ValueError(f"/{command}: which one? {ids} (e.g. /{command} {candidates[0].id})")


def result_line(info: TransferInfo) -> str:
    """One line for a finished transfer, the same in every front end."""
    if info.state == "done":
        verb = "received" if info.direction == "receive" else "sent"
        where = f" to {info.path}" if info.direction == "receive" and info.path else ""
        figures = [format_size(info.size)]
        if info.file_count > 1:
            figures.insert(0, f"{info.file_count} files")
        if info.resumed_from:
            figures.append(f"{format_size(info.size - info.resumed_from)} of it this time")
        if info.speed > 0:  # a file too quick to time has no meaningful speed
            figures.append(f"{format_size(info.speed)}/s")
        return f"#{info.id} {info.name} {verb}{where} ({', '.join(figures)})"
    return f"#{info.id} {info.name} {_state_and_reason(info)}"


def _state_and_reason(info: TransferInfo) -> str:
    """`declined`, `cancelled by bob`, `failed: disk full`: the reason never repeats the state."""
    reason = info.reason
    if not reason or reason == info.state:
        return info.state
    if reason.startswith(info.state + " "):
        return reason
    return f"{info.state}: {reason}"


def offer_line(info: TransferInfo, peer: str) -> str:
    """What an incoming offer is, the same in every front end."""
    figures = [format_size(info.size)]
    if info.file_count > 1:
        figures.insert(0, f"{info.file_count} files")
    if info.resumed_from:
        figures.append(f"resumes an interrupted download at {info.resumed_from * 100 // max(info.size, 1)}%")
    return f"{peer} offers #{info.id} {info.name} ({', '.join(figures)})"


def describe(info: TransferInfo) -> str:
    """One /transfers line: bytes, and while it moves, speed and time left."""
    arrow = "->" if info.direction == "send" else "<-"
    done = f"{format_size(info.done)}/{format_size(info.size)}"
    files = f" ({info.files_done}/{info.file_count} files)" if info.file_count > 1 else ""
    line = f"#{info.id} {arrow} {info.name}{files} {done} {info.state}"
    if info.state == "active":
        speed = f"{format_size(info.speed)}/s" if info.speed > 0 else "speed not measured yet"
        line += f", {speed}, {human_duration(info.eta)} left"
    elif info.reason and info.reason != info.state:
        line += f" ({info.reason})"
    return line



