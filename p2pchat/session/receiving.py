"""The receiving half of `Transfers`: offers that arrive (alone or in a batch), the user's
answer, where a file lands, its chunks written off the event loop, and the final hash check.

A mixin: its methods work on the state `Transfers` keeps (the transfers by id, the open-offer
count, the reporter and peer link) and call its shared steps (`_update`, `_finish`, `_send`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from pathlib import Path

from p2pchat.protocol import (
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
)
from p2pchat.session.batches import Batch
from p2pchat.session.events import TransferOffered, TransferState
from p2pchat.session.transfer_job import TransferJob
from p2pchat.transfer import (
    IncomingFile,
    ProgressMeter,
    TransferError,
)
from p2pchat.transfer.folders import batch_partial_bytes, claim_batch_folder, partial_bytes

WRITE_BACKLOG = 2 * 1024 * 1024  # bytes waiting for the disk before the reader waits too
# Offers of one side still open on the other (neither answered nor ended). A receiver declines
# offers past MAX_OPEN_OFFERS; our sender holds its own back until earlier ones end. A batch
# counts as one offer, however many files it has.
OPEN_STATES = frozenset(
    {TransferState.OFFERED, TransferState.PREPARING, TransferState.ACTIVE, TransferState.VERIFYING}
)
MAX_OPEN_OFFERS = 256
TOO_MANY_OFFERS = f"too many open offers: at most {MAX_OPEN_OFFERS} at a time; offer it again when some have ended"


class Receiving:
    def _on_offer(self, frame: FileOffer) -> None:
        known = self._incoming.get(frame.tid)
        if known is not None and known.final:
            # Our FILE_RESULT was lost with the connection: say it again, do not download twice.
            self._send(FileResult(frame.tid, known.info.state == "done", known.info.reason))
            return
        if known is not None:
            if known.info.state == "interrupted" and known.incoming is not None:
                self._start_download(known)  # the user accepted it before
            return
        joins_a_batch = frame.batch is not None and frame.batch.id in self._incoming_batches
        if not joins_a_batch and len(self._open["receive"]) >= MAX_OPEN_OFFERS:
            self._send(FileDecline(frame.tid, TOO_MANY_OFFERS))
            if not self._refusing:
                self._refusing = True
                self.report.notice(f"declining the peer's offers: {TOO_MANY_OFFERS}", "warning")
            return
        self._refusing = False
        if frame.batch is not None:
            self._on_batch_offer(frame)
            return
        t = TransferJob(next(self._ids), frame.tid, "receive", frame.name, frame.size, self.link.peer_id)
        try:
            t.incoming = self._incoming_file(frame)
        except TransferError as exc:
            self._send(FileDecline(frame.tid, exc.reason))
            self.report.notice(f"declined an offer of {frame.name!r}: {exc.reason}", "warning")
            return
        t.info = replace(t.info, name=t.incoming.display_name)
        self._by_local[t.local_id] = t
        self._incoming[frame.tid] = t
        self._track_open(t)
        self._replace_interrupted(t)
        if self.settings.auto_accept_files:
            self.accept(t.local_id)
        else:
            inc = t.incoming
            directory = inc.download_dir / inc.relative.parent
            self._announce(t, partial_bytes, directory, inc.peer_id, inc.key, inc.size)

    def _replace_interrupted(self, new: TransferJob) -> None:
        """A restarted sender offers the file again under a new id: its interrupted row goes."""
        wanted = (new.incoming.peer_id, new.incoming.key, new.incoming.size)
        for old in list(self._by_local.values()):
            inc = old.incoming
            if old is not new and old.info.state == "interrupted" and inc is not None and (
                (inc.peer_id, inc.key, inc.size) == wanted
            ):
                self._finish(old, "cancelled", f"offered again: it goes on as #{new.local_id}")

    def _announce(self, t: TransferJob | Batch, probe, *args) -> None:
        """Put the offer to the user, saying whether it resumes an interrupted download."""

        async def announce() -> None:
            try:
                held = await asyncio.to_thread(probe, *args)
            except OSError:
                held = 0
            if t.info.state == "offered":  # not withdrawn meanwhile
                t.info = replace(t.info, resumed_from=held)
                self.report.emit(TransferOffered(t.info))

        self._background(announce())

    def _incoming_file(self, frame: FileOffer) -> IncomingFile:
        download_dir = self.settings.download_dir or self.downloads_dir
        return IncomingFile(
            Path(download_dir), frame.name, frame.size, frame.key, self.link.peer_id or "",
            self.settings.max_file_size,
        )

    def _on_batch_offer(self, frame: FileOffer) -> None:
        """One file of a batch: the first one asks about the whole batch, the rest join it."""
        peer_id = self.link.peer_id
        batch = self._incoming_batches.get(frame.batch.id)
        new = batch is None
        if new:
            about = frame.batch
            batch = Batch(
                next(self._ids), about.id, "receive", about.name, about.size, about.files, peer_id
            )
            self._batches[batch.info.id] = batch
            self._incoming_batches[about.id] = batch
        t = TransferJob(batch.info.id, frame.tid, "receive", frame.name, frame.size, peer_id)
        t.batch = batch
        batch.members.append(t)
        self._incoming[frame.tid] = t
        self._track_open(t)
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
            self._send(FileCancel(frame.tid, f"cancelled by {self.link.nickname}"))
            self._finish(t, "cancelled", "cancelled by you")
        self._batch_changed(batch)
        if not new:
            return
        if self.settings.auto_accept_files:
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
                    self.settings.max_file_size, save_as=Path(save_as).expanduser(),
                )
            except TransferError as exc:
                raise ValueError(f"transfer #{local_id}: {exc.reason}") from None
        self._start_download(t)

    def _start_download(self, t: TransferJob) -> None:
        self._update(t, state="preparing")
        t.task = self._background(self._prepare(t), f"prepare-{t.local_id}")

    async def _prepare(self, t: TransferJob) -> None:
        inc = t.incoming
        if t.settling is not None:  # an offer again right after a drop: the part file is closed first
            await asyncio.wait([t.settling])
            t.settling = None
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
            self.report.notice(f"{t.info.name}: resumed at {offset * 100 // max(inc.size, 1)}%")

    def _place_in_batch(self, batch: Batch, inc: IncomingFile) -> Path:
        """In a worker thread: put this file of the batch in its folder (a folder sent again
        gets a new name as a whole: `photos (1)/a.jpg`, never `photos/a (1).jpg`); return
        where the batch is saved."""
        root = batch.root or Path(self.settings.download_dir or self.downloads_dir)
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

    def _written(self, t: TransferJob, future: asyncio.Future, size: int) -> None:
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
    async def _wait_written(t: TransferJob, backlog: int) -> None:
        """Wait until at most `backlog` bytes wait for the disk."""
        while t.pending and t.pending_bytes > backlog:
            await asyncio.wait([t.pending[0]])
            await asyncio.sleep(0)  # let the done-callbacks update the backlog

    async def _drain(self, t: TransferJob) -> None:
        await self._wait_written(t, -1)

    async def _fail_incoming(self, t: TransferJob, reason: str, our_fault: bool = False) -> None:
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
