"""The transfer protocol's rules, without I/O: frames, answers and disk completions in (each
with `now`), effects out (`take_effects`), the way aioquic's connection hands datagrams to send.

What it decides: offers and the open-offer cap (ours held back, the peer's declined past it),
batches answered as one, offers made again after a reconnect, chunks checked for order and
size, a repeated FILE_ACCEPT ignored, the FILE_RESULT said again for a file already done. What
it leaves to the runner (`runner.py`): reading, hashing, writing and verifying files on the
disk lanes, streaming chunks at the pace the connection takes them, and the clock.

Users see a transfer's number, the same on both sides: the sender chooses it (odd on one side,
even on the other, so crossing offers never share one) and sends it in FILE_OFFER; the wire
otherwise uses the sender's random 64-bit tid.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from p2pchat.protocol import (
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    Frame,
    OfferBatch,
    first_transfer_number,
    new_transfer_id,
)
from p2pchat.protocol.frames import SHA256
from p2pchat.session.events import TransferInfo, TransferOffered, TransferUpdated
from p2pchat.session.transfers.batches import Batch, batch_name
from p2pchat.session.transfers.effects import (
    Effect,
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
from p2pchat.session.transfers.jobs import Inbound, Job, Outbound, new_job
from p2pchat.settings import Settings
from p2pchat.transfer.errors import TransferError
from p2pchat.transfer.progress import ProgressMeter, percent

# Offers of one side still open on the other (neither answered nor ended). A receiver declines
# offers past MAX_OPEN_OFFERS; our sender holds its own back until earlier ones end. A batch
# counts as one offer, however many files it has.
MAX_OPEN_OFFERS = 256
FINISHED_KEPT = 100  # finished transfers /transfers still lists; older ones are forgotten
TOO_MANY_OFFERS = f"too many open offers: at most {MAX_OPEN_OFFERS} at a time; offer it again when some have ended"
BATCH_REFRESH = 0.05  # seconds: a batch is summed up at most this often
ASK_WAIT = 2.0  # seconds a batch's question waits for the rest of its files' offers


class Peers(Protocol):
    """Who we talk to, as the engine reads it."""

    @property
    def nickname(self) -> str: ...

    @property
    def own_fingerprint(self) -> str: ...  # our identity: which numbers are ours


IncomingFactory = Callable[[str, int, str, str, "Path | None"], Inbound]


class TransferEngine:
    def __init__(self, settings: Settings, peers: Peers, incoming: IncomingFactory) -> None:
        self.settings = settings
        self.peers = peers
        # (name, size, key, peer id, save as) -> a validated download; raises TransferError
        self._new_incoming = incoming
        self.now = 0.0
        self.peer_id: str | None = None  # while connected
        self._effects: list[Effect] = []
        self._next_number: dict[int, int] = {}  # where our numbers start (1 or 2) -> the next to try
        self._by_local: dict[int, Job] = {}
        self._outgoing: dict[int, Job] = {}  # by tid
        self._incoming: dict[int, Job] = {}  # by tid
        self._batches: dict[int, Batch] = {}  # by local id
        self._incoming_batches: dict[int, Batch] = {}  # by the sender's batch id
        # Open offers by direction: local id (a batch's members share one) -> tids open in it.
        self._open: dict[str, dict[int, set[int]]] = {"send": {}, "receive": {}}
        self._refusing = False  # declining offers past the cap (told the user once)
        self._stopped = False  # quitting: frames still arriving are left alone, nothing is said
        self._held: collections.deque[Job] = collections.deque()  # our offers past the cap
        self._summing: dict[int, float] = {}  # batch local id -> when its summary is due
        self._asking: dict[int, float] = {}  # batch local id -> when to ask with the files offered so far

    def take_effects(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

    def _at(self, now: float | None) -> None:
        if now is not None:
            self.now = now

    # -- queries ---------------------------------------------------------------------
    def infos(self) -> list[TransferInfo]:
        shown = [t.info for t in self._by_local.values()] + [b.info for b in self._batches.values()]
        return sorted(shown, key=lambda info: info.id)

    def every_file(self) -> Iterator[Job]:
        """Files on their own and the members of batches."""
        yield from self._by_local.values()
        for batch in self._batches.values():
            yield from batch.members

    def sending(self) -> bool:
        """Files of ours still on their way (offered, moving or being verified)."""
        return any(t.direction == "send" and not t.final for t in self.every_file())

    def batch_of(self, t: Job) -> Batch | None:
        return self._batches.get(t.local_id) if t.batched else None

    def next_wake(self) -> float | None:
        """When `tick` has a batch to sum up or to ask about."""
        return min([*self._summing.values(), *self._asking.values()], default=None)

    def _get(self, local_id: int) -> Job:
        transfer = self._by_local.get(local_id)
        if transfer is None:
            raise ValueError(f"no transfer #{local_id} (see /transfers)")
        return transfer

    # -- state changes ---------------------------------------------------------------
    def _send(self, frame: Frame) -> None:
        if not self._stopped:
            self._effects.append(Send(frame))

    def _notice(self, text: str, level: str = "info") -> None:
        self._effects.append(Notify(text, level))

    def _update(self, t: Job, **changes: Any) -> None:
        t.info = replace(t.info, **changes)
        self._track_open(t)
        batch = self.batch_of(t)
        if batch is None:
            self._effects.append(Emit(TransferUpdated(t.info)))
        else:
            self._batch_changed(batch)
            if t.final:
                self._download_next(batch)  # at once: a folder of small files is mostly turns
        if t.final:
            self._forget_finished()

    def _forget_finished(self) -> None:
        """Keep the newest FINISHED_KEPT finished transfers (a batch counts once), so a long
        session's list, and what it holds, stays bounded."""
        finished = sorted([t.local_id for t in self._by_local.values() if t.final]
                          + [b.info.id for b in self._batches.values() if b.final])  # fmt: skip
        for local_id in finished[:-FINISHED_KEPT]:
            self._forget(local_id)

    def _forget(self, local_id: int) -> None:
        """Drop a finished transfer from the list, and its number with it."""
        batch = self._batches.pop(local_id, None)
        files = batch.members if batch else [self._by_local.pop(local_id)]
        if batch is not None:
            self._incoming_batches.pop(batch.wire_id, None)
            self._summing.pop(local_id, None)
            self._asking.pop(local_id, None)
        for t in files:
            self._outgoing.pop(t.tid, None)
            self._incoming.pop(t.tid, None)

    # -- numbers ---------------------------------------------------------------------------
    def _holder(self, number: int) -> Job | Batch | None:
        return self._by_local.get(number) or self._batches.get(number)

    def _our_number(self, peer_id: str | None) -> int:
        """The next free number of our kind for an offer to `peer_id` (odd or even)."""
        start = first_transfer_number(self.peers.own_fingerprint, peer_id)
        number = self._next_number.get(start, start)
        while self._holder(number) is not None:
            number += 2
        self._next_number[start] = number + 2
        return number

    def _their_number(self, frame: FileOffer, replacing: list[Job]) -> int:
        """The number of a new offer of the peer's: the one it chose, unless that is taken
        here by something the peer cannot mean. A finished transfer gives its number up; so
        does a live one the peer offered, since a sender never reuses a number it still
        uses: it restarted and forgot that offer. `replacing` ends anyway."""
        wanted = frame.number
        if wanted is None:  # an older peer: numbered here, the way we number ours
            return self._our_number(self.peer_id)
        holder = self._holder(wanted)
        if holder is None:
            return wanted
        stale = holder.info.direction == "receive" and holder.peer_id == self.peer_id
        if holder.final or holder in replacing or stale:
            if not holder.final and holder not in replacing:
                self._end_now(holder, "cancelled", "the peer no longer offers it")
            return wanted
        number = self._our_number(self.peer_id)
        self._notice(f"the peer numbers its offer #{wanted}, which is taken here: here it is #{number}", "warning")
        return number

    def _end_now(self, subject: Job | Batch, state: str, reason: str) -> None:
        """End a file or a whole batch and say so at once."""
        if isinstance(subject, Job):
            self._finish(subject, state, reason)
            return
        for t in subject.members:
            self._finish(t, state, reason)
        self._summing.pop(subject.info.id, None)
        self._refresh_batch(subject)

    def _take_number(self, number: int) -> None:
        """Make room for a new transfer numbered `number`: what held it has ended."""
        if self._holder(number) is not None:
            self._forget(number)

    def _track_open(self, t: Job) -> None:
        """Keep count of open offers (a batch is one); a sender's ending offer lets a held one go."""
        by_id = self._open[t.direction]
        if t.info.state.open:
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

    def _over_cap(self, direction: str, local_id: int) -> bool:
        """A new offer now would pass MAX_OPEN_OFFERS (the files of an open batch join it freely)."""
        by_id = self._open[direction]
        return local_id not in by_id and len(by_id) >= MAX_OPEN_OFFERS

    def _batch_changed(self, batch: Batch) -> None:
        """Sum the batch up soon, once for however many of its files changed meanwhile (summing
        is linear in its files: thousands of offers arriving must not cost thousands of sums)."""
        if batch.info.id not in self._summing:
            self._summing[batch.info.id] = self.now + BATCH_REFRESH

    def tick(self, now: float) -> None:
        """Sum up the batches whose summary is due; ask about those whose files are late."""
        self._at(now)
        for local_id, due in list(self._asking.items()):
            if due <= now and local_id in self._batches:
                self._ask(self._batches[local_id])
        for local_id, due in list(self._summing.items()):
            if due <= now and local_id in self._batches:
                del self._summing[local_id]
                self._refresh_batch(self._batches[local_id])

    def _refresh_batch(self, batch: Batch) -> None:
        if batch.final:
            return  # its one result line is out
        info = batch.summary()
        if info != batch.info:
            batch.info = info
            self._effects.append(Emit(TransferUpdated(info)))
        self._download_next(batch)

    def _download_next(self, batch: Batch) -> None:
        for member in batch.next_to_download():
            self._start_download(member)

    def _progress(self, t: Job, done: int) -> None:
        meter = t.meter
        if meter is not None and meter.update(done, self.now):
            self._update(t, done=done, speed=meter.speed, eta=meter.eta)

    def _finish(self, t: Job, state: str, reason: str = "", path: Path | None = None,
                discard: bool = False) -> None:
        """End the job for good. `discard`: delete what was received of it."""
        if t.final:
            return
        if state == "done" and t.inbound is not None and t.meter is not None and t.meter.moved_during is None:
            t.meter.update(t.info.size, self.now)  # its end: a batch times its files by it
        speed = t.meter.average_speed if t.meter else 0.0
        changes: dict[str, Any] = {"state": state, "reason": reason, "eta": None}
        if path is not None:
            changes["path"] = path
        if state == "done":
            changes.update(done=t.info.size, speed=speed)
        keep = False if discard and t.inbound is not None else None
        self._effects.append(Halt(t, keep_part=keep, final=True))
        self._update(t, **changes)  # front ends show the outcome with result_line()

    # -- sending -----------------------------------------------------------------------
    def offer(self, files: list[Outbound], peer_id: str | None, now: float) -> int:
        """Offer what one /send names: a single file on its own, a folder or several files as
        one batch, for `peer_id` (the peer of the moment, or the last one). Returns the id the
        user sees."""
        self._at(now)
        if len(files) == 1 and (same := self._sending(files[0].key, peer_id)) is not None:
            raise ValueError(f"{files[0].name} is already being sent as #{same.info.id}")
        batch = None
        number = self._our_number(peer_id)
        if len(files) > 1 or "/" in files[0].name:
            batch = Batch(number, new_transfer_id(), "send", batch_name([f.name for f in files]),
                          sum(f.size for f in files), len(files), peer_id)
            self._batches[batch.info.id] = batch
        made = []
        for file in files:
            t = new_job(number, new_transfer_id(), "send", file.name, file.size, peer_id)
            t.outbound = file
            t.info = replace(t.info, path=file.source)
            if batch:
                t.batched = True
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
            self._effects.append(Emit(TransferUpdated(batch.info)))  # the row appears at once
        return made[0].local_id

    def _sending(self, key: str, peer_id: str | None) -> Job | None:
        """An unfinished send of the same file (path, size, time) to the same peer: offering it
        again (by hand, while it is offered again after a restart) would send it twice."""
        return next((t for t in self._outgoing.values()
                     if not t.final and not t.batched and t.outbound is not None
                     and t.outbound.key == key and t.peer_id == peer_id), None)

    def _offer(self, t: Job, round_: OfferBatch | None = None) -> None:
        out = t.upload
        t.accepted = False
        if self.peer_id is None:
            self._update(t, state="waiting", reason="offered when the peer is back")
        elif self._over_cap("send", t.local_id):
            self._update(t, state="waiting", reason=f"held back while {MAX_OPEN_OFFERS} offers are open")
            self._held.append(t)
        else:
            self._send(FileOffer(t.tid, out.name, out.size, out.key, round_, t.local_id))
            t.peer_id = self.peer_id
            self._update(t, state="offered")

    def _offer_held_back(self) -> None:
        """Offer what waited for earlier offers to end, oldest first."""
        if self.peer_id is None:
            return
        while self._held and not self._over_cap("send", self._held[0].local_id):
            t = self._held.popleft()
            if t.info.state == "waiting":
                batch = self.batch_of(t)
                self._offer(t, batch.offer_round() if batch else None)

    def stream_opened(self, t: Job, offset: int, now: float) -> None:
        self._at(now)
        if t.final:
            return
        t.meter = ProgressMeter(t.info.size, now, start=offset)
        self._update(t, state="active", done=offset, resumed_from=offset, reason="")
        if offset:
            self._notice(f"#{t.info.id} {t.info.name}: resumed at {percent(offset, t.info.size)}%")

    def sent(self, t: Job, position: int, now: float) -> None:
        self._at(now)
        if not t.final:
            self._progress(t, position)

    def streamed(self, t: Job, digest: str, now: float, hash_name: str = SHA256) -> None:
        """Every byte went out: say the hash (`hash_name`: the FILE_DONE field that carries
        it) and wait for the receiver's FILE_RESULT."""
        self._at(now)
        if t.final:
            return
        self._send(FileDone(t.tid, **{hash_name: digest}))
        self._update(t, state="verifying", done=t.info.size, eta=0.0)

    def stream_failed(self, t: Job, reason: str, now: float) -> None:
        self._failed(t, FileCancel(t.tid, reason), now)

    def _failed(self, t: Job, telling: FileCancel | FileDecline | FileResult, now: float) -> None:
        """Our side of the job failed (the disk, a changed file): tell the peer with `telling`."""
        self._at(now)
        if not t.final:
            self._send(telling)
            self._finish(t, "failed", telling.reason)

    # -- cancel from either side ---------------------------------------------------------
    def cancel(self, local_id: int, now: float) -> None:
        self._at(now)
        said = f"cancelled by {self.peers.nickname}"
        batch = self._batches.get(local_id)
        if batch is not None:
            if batch.final:
                raise ValueError(f"transfer #{local_id} is already {batch.info.state}")
            batch.answer = "cancel"
            for t in batch.members:
                if not t.final:
                    self._send(FileCancel(t.tid, said))
                    self._finish(t, "cancelled", "cancelled by you", discard=True)
            return
        t = self._get(local_id)
        if t.final:
            raise ValueError(f"transfer #{local_id} is already {t.info.state}")
        self._send(FileCancel(t.tid, said))
        self._finish(t, "cancelled", "cancelled by you", discard=True)

    # -- frames ---------------------------------------------------------------------------
    def receive(self, frame: Frame, now: float) -> bool:
        """A frame of the transfer protocol other than FILE_CHUNK; False if it is none."""
        self._at(now)
        if self._stopped:
            return isinstance(frame, (FileOffer, FileAccept, FileDecline, FileResult, FileCancel, FileDone))
        if isinstance(frame, FileOffer):
            self._on_offer(frame)
        elif isinstance(frame, FileAccept):
            self._on_accept(frame)
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
                self._finish(t, "cancelled", reason, discard=True)
        elif isinstance(frame, FileDone):
            self._on_done(frame)
        else:
            return False
        return True

    def _on_accept(self, frame: FileAccept) -> None:
        t = self._outgoing.get(frame.tid)
        if t is None or t.final:
            self._send(FileCancel(frame.tid, "unknown transfer"))
            return
        if t.accepted:
            self._effects.append(Log(f"ignored a repeated FILE_ACCEPT for {t.info.name}"))
            return  # one stream per offer
        t.accepted = True
        if frame.offset > t.info.size:
            self._send(FileCancel(frame.tid, "resume offset past the end of the file"))
            self._finish(t, "failed", "the peer asked to resume past the end of the file")
            return
        self._effects.append(Stream(t, frame.offset))

    # -- connection changes ----------------------------------------------------------------
    def connected(self, peer_id: str, now: float) -> None:
        """A peer is connected: make every unfinished offer for it again, the cap applied anew."""
        self._at(now)
        self.peer_id = peer_id
        self._held.clear()
        rounds = {b.info.id: b.offer_round() for b in self._batches.values() if b.info.direction == "send"}
        for t in list(self._outgoing.values()):
            if t.final or (t.peer_id is not None and t.peer_id != peer_id):
                continue
            self._effects.append(Halt(t))  # the receiver says where to resume
            self._offer(t, rounds.get(t.local_id) if t.batched else None)

    def disconnected(self, now: float) -> None:
        self._at(now)
        self.peer_id = None
        for t in list(self.every_file()):
            if t.final:
                continue
            batch = self.batch_of(t)
            if batch is not None and batch.answer == "accept" and t.info.state == "offered":
                continue  # accepted with its batch, not started yet: the sender offers it again
            if t.direction == "send":
                self._effects.append(Halt(t))
                self._update(t, state="interrupted", reason="waiting for the peer")
            elif t.info.state.moving:
                self._effects.append(Halt(t, keep_part=True))
                self._update(t, state="interrupted", reason="waiting for the peer")
            elif t.info.state == "offered":
                self._finish(t, "cancelled", "the peer disconnected")

    def shutdown(self, keep_parts: bool) -> None:
        """Quitting: stop every file's disk work; chunks that still arrive before the goodbye
        are not written (a write after the part file closed would fail the file at the
        sender's, and it could not be resumed)."""
        self._stopped = True
        for t in list(self.every_file()):
            keep = keep_parts if t.inbound is not None and t.info.state.moving else None
            self._effects.append(Halt(t, keep_part=keep, final=True))

    # -- receiving ---------------------------------------------------------------------------
    def _on_offer(self, frame: FileOffer) -> None:
        known = self._incoming.get(frame.tid)
        if known is not None and known.final:
            # Our FILE_RESULT was lost with the connection: say it again, do not download twice.
            self._send(FileResult(frame.tid, known.info.state == "done", known.info.reason))
            return
        if known is not None:
            if known.info.state == "interrupted" and known.inbound is not None:
                self._start_download(known)  # the user accepted it before
            return
        joins_a_batch = frame.batch is not None and frame.batch.id in self._incoming_batches
        if not joins_a_batch and len(self._open["receive"]) >= MAX_OPEN_OFFERS:
            self._send(FileDecline(frame.tid, TOO_MANY_OFFERS))
            if not self._refusing:
                self._refusing = True
                self._notice(f"declining the peer's offers: {TOO_MANY_OFFERS}", "warning")
            return
        self._refusing = False
        if frame.batch is not None:
            self._on_batch_offer(frame, frame.batch)
            return
        try:
            inbound = self._inbound(frame)
        except TransferError as exc:
            self._send(FileDecline(frame.tid, exc.reason))
            self._notice(f"declined an offer of {frame.name!r}: {exc.reason}", "warning")
            return
        replacing = self._interrupted_like(inbound)
        number = self._their_number(frame, replacing)
        for old in replacing:
            again = "offered again" if old.local_id == number else f"offered again: it goes on as #{number}"
            self._finish(old, "cancelled", again)
        self._take_number(number)
        t = new_job(number, frame.tid, "receive", inbound.display_name, frame.size, self.peer_id)
        t.inbound = inbound
        self._by_local[t.local_id] = t
        self._incoming[frame.tid] = t
        self._track_open(t)
        if self.settings.auto_accept_files:
            self.accept(t.local_id, now=self.now)
        else:
            self._effects.append(Probe(t, t))

    def _inbound(self, frame: FileOffer, save_as: Path | None = None) -> Inbound:
        return self._new_incoming(frame.name, frame.size, frame.key, self.peer_id or "", save_as)

    def _interrupted_like(self, new: Inbound) -> list[Job]:
        """A restarted sender offers a file again under a new id: the interrupted rows it replaces."""
        wanted = (new.peer_id, new.key, new.size)
        return [old for old in self._by_local.values()
                if old.info.state == "interrupted" and old.inbound is not None
                and (old.inbound.peer_id, old.inbound.key, old.inbound.size) == wanted]  # fmt: skip

    def probed(self, subject: Job | Batch, held: int, now: float) -> None:
        """Put the offer to the user, saying whether it resumes an interrupted download: the
        bytes already here count as done from the start, so every view shows one percentage."""
        self._at(now)
        if subject.info.state != "offered":  # withdrawn or answered meanwhile
            return
        if isinstance(subject, Batch):
            subject.held = held
            subject.info = subject.summary()
        else:
            subject.info = replace(subject.info, resumed_from=held, done=held)
        self._effects.append(Emit(TransferOffered(subject.info)))

    def _on_batch_offer(self, frame: FileOffer, about: OfferBatch) -> None:
        """One file of a batch: the first one asks about the whole batch, the rest join it."""
        batch = self._incoming_batches.get(about.id)
        new = batch is None
        if batch is None:
            number = self._their_number(frame, [])
            self._take_number(number)
            batch = Batch(number, about.id, "receive", about.name, about.size, about.files, self.peer_id)
            self._batches[batch.info.id] = batch
            self._incoming_batches[about.id] = batch
        t = new_job(batch.info.id, frame.tid, "receive", frame.name, frame.size, self.peer_id)
        t.batched = True
        batch.members.append(t)
        self._incoming[frame.tid] = t
        self._track_open(t)
        try:
            t.inbound = self._inbound(frame)
            t.inbound.batch_id = about.id
            t.info = replace(t.info, name=t.inbound.display_name)
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
            self._send(FileCancel(frame.tid, f"cancelled by {self.peers.nickname}"))
            self._finish(t, "cancelled", "cancelled by you")
        self._batch_changed(batch)
        if new and self.settings.auto_accept_files:
            self.accept(batch.info.id, now=self.now)
        elif new:
            self._asking[batch.info.id] = self.now + ASK_WAIT
        if batch.info.id in self._asking and len(batch.members) >= batch.files:
            self._ask(batch)

    def _ask(self, batch: Batch) -> None:
        """Put a batch to the user once its files' offers are in (or late): named by where its
        files land, whatever the sender called it, and listing them."""
        del self._asking[batch.info.id]
        if batch.answer or batch.final:
            return  # answered before the question was out
        landing = [m.inbound for m in batch.members if m.inbound is not None]
        if landing:
            name = batch_name([inc.display_name for inc in landing])
            batch.info = replace(batch.info, name=name if name.endswith("/") else f"{batch.files} files")
        described = (m for m in batch.members if m.inbound is not None and m.inbound.top_folder is not None)
        self._effects.append(Probe(batch, next(described, None)))

    def accept(self, local_id: int, save_as: Path | None = None, *, now: float) -> None:
        self._at(now)
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
            inc = t.download
            try:
                t.inbound = self._new_incoming(
                    inc.display_name, inc.size, inc.key, inc.peer_id, Path(save_as).expanduser()
                )
            except TransferError as exc:
                raise ValueError(f"transfer #{local_id}: {exc.reason}") from None
        self._start_download(t)

    def _start_download(self, t: Job) -> None:
        self._update(t, state="preparing")
        batch = self.batch_of(t)
        self._effects.append(Prepare(t, batch.root if batch is not None else None))

    def prepared(self, t: Job, offset: int, folder: Path | None, now: float) -> None:
        """The part file is ready from `offset`; `folder`: where its batch is saved."""
        self._at(now)
        if t.info.state != "preparing":
            return  # ended meanwhile
        batch = self.batch_of(t)
        if batch is not None and batch.info.path is None and folder is not None:
            batch.info = replace(batch.info, path=folder)
        t.expected = offset
        t.meter = ProgressMeter(t.info.size, now, start=offset)
        if self.peer_id is None:
            self._effects.append(Halt(t, keep_part=True))
            self._update(t, state="interrupted")
            return
        self._send(FileAccept(t.tid, offset))
        self._update(t, state="active", done=offset, resumed_from=offset, path=t.download.part_path)
        if offset:
            self._notice(f"#{t.info.id} {t.info.name}: resumed at {percent(offset, t.info.size)}%")

    def prepare_failed(self, t: Job, reason: str, now: float) -> None:
        self._failed(t, FileDecline(t.tid, reason), now)

    def decline(self, local_id: int, reason: str = "declined", *, now: float) -> None:
        self._at(now)
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

    def chunk(self, frame: FileChunk, now: float) -> Job | None:
        """Check a chunk; the job whose bytes go to the disk, if they do."""
        self._at(now)
        t = self._incoming.get(frame.tid)
        if self._stopped or (t is not None and t.final):
            return None  # still in flight when the transfer (or we) ended: nothing to say again
        if t is None or t.info.state != "active":
            self._send(FileCancel(frame.tid, "unknown transfer or not accepted"))
            if t is not None:
                self._fail_incoming(t, "chunk before the transfer was accepted")
            return None
        size = len(frame.data)
        if frame.offset != t.expected:
            self._fail_incoming(t, f"chunk out of order (offset {frame.offset}, expected {t.expected})")
            return None
        if t.expected + size > t.info.size:
            self._fail_incoming(t, f"more data than the announced {t.info.size} bytes")
            return None
        t.expected += size
        self._effects.append(Write(t, frame.offset, frame.data))
        return t

    def written(self, t: Job, received: int, now: float) -> None:
        self._at(now)
        if t.info.state == "active":
            self._progress(t, received)

    def write_failed(self, t: Job, reason: str, now: float) -> None:
        self._at(now)
        self._fail_incoming(t, reason, our_fault=True)

    def _fail_incoming(self, t: Job, reason: str, our_fault: bool = False) -> None:
        """End a download: FILE_CANCEL for what the sender did wrong, a failed FILE_RESULT
        for what went wrong here (disk full...), so the sender reports it as failed."""
        if t.final:
            return
        self._send(FileResult(t.tid, False, reason) if our_fault else FileCancel(t.tid, reason))
        self._finish(t, "failed", reason, discard=True)

    def _on_done(self, frame: FileDone) -> None:
        t = self._incoming.get(frame.tid)
        if t is None or t.info.state != "active":
            self._send(FileCancel(frame.tid, "unknown transfer"))
            return
        self._update(t, state="verifying")
        self._effects.append(Verify(t, *frame.digest))

    def verified(self, t: Job, path: Path, now: float) -> None:
        self._at(now)
        if t.final:
            return
        self._send(FileResult(t.tid, True, ""))
        self._finish(t, "done", path=path)

    def verify_failed(self, t: Job, reason: str, now: float) -> None:
        self._failed(t, FileResult(t.tid, False, reason), now)

