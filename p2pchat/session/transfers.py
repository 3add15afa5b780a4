"""File transfers on top of the live connection.

Disk work (reading, hashing, writing) runs on a small pool of disk threads, each
transfer's calls in order on its own lane, so the event loop only moves frames;
hashlib and file I/O release the GIL, which lets a transfer use the second core.
Bytes in flight are bounded on both sides: the sender waits for the transport's buffer to drain (`Connection.send_chunk`), and
the receiver stops reading the socket while more than `WRITE_BACKLOG` bytes wait
for the disk.

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
    new_transfer_id,
)
from p2pchat.session.context import PeerLink, Reporter, addressee, send
from p2pchat.session.events import TransferInfo, TransferOffered, TransferState, TransferUpdated
from p2pchat.session.tasks import Tasks
from p2pchat.session.transfer_job import TransferJob
from p2pchat.settings import Settings
from p2pchat.transfer import (
    IncomingFile,
    OutgoingFile,
    ProgressMeter,
    TransferError,
    expand_send_paths,
)

WRITE_BACKLOG = 8 * 1024 * 1024
# Big chunks mean fewer frames, thread hand-offs and events per byte; page-aligned reads.
SEND_CHUNK = MAX_CHUNK_DATA // 4096 * 4096
MIN_CHUNK = 64 * 1024
CHUNK_TIME = 0.05  # seconds of data per chunk at the current speed: chat never waits long behind one


def _chunk_size(speed: float) -> int:
    """Big chunks on a fast link (fewer frames and hand-offs), small ones on a slow link."""
    return max(MIN_CHUNK, min(SEND_CHUNK, int(speed * CHUNK_TIME) // 4096 * 4096))


FINAL_STATES = frozenset(state for state in TransferState if state.final)
# Offers of one side still open on the other (neither answered nor ended). A receiver declines
# offers past MAX_OPEN_OFFERS; our sender holds its own back until earlier ones end.
OPEN_STATES = frozenset(
    {TransferState.OFFERED, TransferState.PREPARING, TransferState.ACTIVE, TransferState.VERIFYING}
)
MAX_OPEN_OFFERS = 256
TOO_MANY_OFFERS = f"too many open offers: at most {MAX_OPEN_OFFERS} at a time; offer it again when some have ended"


def _close_soon(out: OutgoingFile) -> None:
    """Close off the event loop: close() waits for a read or a resume hash still running."""
    asyncio.get_running_loop().run_in_executor(None, out.close)


class Transfers:
    def __init__(self, report: Reporter, link: PeerLink, settings: Settings, downloads_dir: Path) -> None:
        self.report = report
        self.link = link
        self.settings = settings
        self.downloads_dir = downloads_dir  # unless the settings name one
        self._ids = itertools.count(1)
        self._by_local: dict[int, TransferJob] = {}
        self._outgoing: dict[int, TransferJob] = {}  # by tid
        self._incoming: dict[int, TransferJob] = {}  # by tid
        self._open: dict[str, set[int]] = {"send": set(), "receive": set()}  # local ids in OPEN_STATES
        self._refusing = False  # declining offers past the cap (told the user once)
        self._held: collections.deque[TransferJob] = collections.deque()  # our offers past the cap
        self._tasks = Tasks(lambda name, exc: report.notice(f"transfer error: {exc}", "error"))

    def _background(self, coro, name: str = "transfer") -> asyncio.Task:
        return self._tasks.spawn(coro, name)

    # -- queries ---------------------------------------------------------------------
    def infos(self) -> list[TransferInfo]:
        return [t.info for t in self._by_local.values()]

    def sending(self) -> bool:
        """Files of ours still on their way (offered, moving or being verified)."""
        return any(t.direction == "send" and not t.final for t in self._by_local.values())

    def _get(self, local_id: int) -> TransferJob:
        transfer = self._by_local.get(local_id)
        if transfer is None:
            raise ValueError(f"no transfer #{local_id} (see /transfers)")
        return transfer

    # -- state changes ---------------------------------------------------------------
    def _update(self, t: TransferJob, **changes) -> None:
        t.info = replace(t.info, **changes)
        open_ids = self._open[t.direction]
        if t.info.state in OPEN_STATES:
            open_ids.add(t.local_id)
        elif t.local_id in open_ids:
            open_ids.discard(t.local_id)
            if t.direction == "send":
                self._offer_held_back()
        self.report.emit(TransferUpdated(t.info))
        if t.final:
            t.executor.shutdown(wait=False)

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
        items = await asyncio.to_thread(expand_send_paths, [str(p) for p in paths], Path.cwd())
        ids = []
        for item in items:
            # Offered while disconnected: it is for the peer we last talked to, nobody else.
            peer_id = addressee(self.link)
            t = TransferJob(next(self._ids), new_transfer_id(), "send", item.name, item.size, peer_id)
            t.outgoing = OutgoingFile(item)
            t.info = replace(t.info, path=item.source)
            self._by_local[t.local_id] = t
            self._outgoing[t.tid] = t
            ids.append(t.local_id)
            self._offer(t)
        return ids

    def _offer(self, t: TransferJob) -> None:
        out = t.outgoing
        t.accepted = False
        if len(self._open["send"]) >= MAX_OPEN_OFFERS and self.link.connection is not None:
            self._update(t, state="waiting", reason=f"held back while {MAX_OPEN_OFFERS} offers are open")
            self._held.append(t)
        elif self._send(FileOffer(t.tid, out.name, out.size, out.key)):
            t.peer_id = self.link.peer_id
            self._update(t, state="offered")
        else:
            self._update(t, state="waiting", reason="offered when the peer is back")

    def _offer_held_back(self) -> None:
        """Offer what waited for earlier offers to end, oldest first."""
        if self.link.peer_id is None:
            return
        while self._held and len(self._open["send"]) < MAX_OPEN_OFFERS:
            t = self._held.popleft()
            if t.info.state == "waiting":
                self._offer(t)

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

    # -- receiving ---------------------------------------------------------------------
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
        if len(self._open["receive"]) >= MAX_OPEN_OFFERS:
            self._send(FileDecline(frame.tid, TOO_MANY_OFFERS))
            if not self._refusing:
                self._refusing = True
                self.report.notice(f"declining the peer's offers: {TOO_MANY_OFFERS}", "warning")
            return
        self._refusing = False
        peer_id = self.link.peer_id
        t = TransferJob(next(self._ids), frame.tid, "receive", frame.name, frame.size, peer_id)
        download_dir = self.settings.download_dir or self.downloads_dir
        try:
            t.incoming = IncomingFile(
                Path(download_dir), frame.name, frame.size, frame.key, peer_id or "",
                self.settings.max_file_size,
            )
        except TransferError as exc:
            self._send(FileDecline(frame.tid, exc.reason))
            self.report.notice(f"declined an offer of {frame.name!r}: {exc.reason}", "warning")
            return
        t.info = replace(t.info, name=t.incoming.display_name)
        self._by_local[t.local_id] = t
        self._incoming[frame.tid] = t
        self._open["receive"].add(t.local_id)
        if self.settings.auto_accept_files:
            self.accept(t.local_id)
        else:
            self.report.emit(TransferOffered(t.info))

    def accept(self, local_id: int, save_as: Path | None = None) -> None:
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
                raise ValueError(exc.reason) from None
        self._start_download(t)

    def _start_download(self, t: TransferJob) -> None:
        self._update(t, state="preparing")
        t.task = self._background(self._prepare(t), f"prepare-{t.local_id}")

    async def _prepare(self, t: TransferJob) -> None:
        inc = t.incoming
        try:
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

    def decline(self, local_id: int, reason: str = "declined") -> None:
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

    # -- cancel from either side ---------------------------------------------------------
    def cancel(self, local_id: int) -> None:
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
                self._stop(t, "cancelled", f"cancelled by the peer: {frame.reason}")
        elif isinstance(frame, FileDone):
            self._background(self._on_done(frame))
        else:
            logger.debug("ignored {}", type(frame).__name__)

    # -- connection changes ----------------------------------------------------------------
    def on_connected(self, conn: Connection, peer_id: str) -> None:
        self._held.clear()  # every unfinished offer is made again below, the cap applied anew
        for t in list(self._outgoing.values()):
            if t.final or (t.peer_id is not None and t.peer_id != peer_id):
                continue
            if t.task is not None:
                t.task.cancel()
            t.outgoing = OutgoingFile(t.outgoing.item)  # fresh hash: the receiver says where to resume
            self._offer(t)

    def on_disconnected(self) -> None:
        for t in self._by_local.values():
            if t.final:
                continue
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
        for t in self._by_local.values():
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
