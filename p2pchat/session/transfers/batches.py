"""A batch: the files of one /send of a folder or several files, shown and answered as one.

On the wire each file is still its own offer (see PROTOCOL.md, "Batches"); here the
members are summed into one TransferInfo: one question, one progress row with a count,
one result line. The receiver downloads the members in order, a few at a time.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from p2pchat.protocol import OfferBatch
from p2pchat.session.events import TransferInfo, TransferState
from p2pchat.session.transfers.jobs import Job

AT_ONCE = 4  # files of one batch downloading at the same time: small files overlap their turns
LISTED = 10  # files a batch names (with their sizes) before it is answered; the rest are counted


def batch_name(names: list[str]) -> str:
    """`photos/` when every file is under one folder, else `3 files`."""
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    if len(tops) == 1 and all("/" in name for name in names):
        return f"{tops.pop()}/"
    return f"{len(names)} files"


class Batch:
    def __init__(self, local_id: int, wire_id: int, direction: str, name: str, size: int, files: int,
                 peer_id: str | None) -> None:
        self.wire_id = wire_id
        self.peer_id = peer_id
        self.files = files  # members expected: all of them have their own offer
        self.members: list[Job] = []
        self.info = TransferInfo(local_id, name, size, direction, TransferState.OFFERED, file_count=files)
        self.answer = ""  # receiver: "", "accept", "decline" or "cancel"; sender: "cancel"
        self.root: Path | None = None  # receiver: where it is saved (the download folder, or chosen)
        self.held = 0  # receiver: bytes its part files held when it was offered (a resume)

    @property
    def final(self) -> bool:
        return self.info.state.final

    def offer_round(self) -> OfferBatch:
        """What the offers of the members not finished yet say about the batch."""
        left = [m for m in self.members if not m.final]
        return OfferBatch(self.wire_id, max(1, len(left)), sum(m.info.size for m in left), self.info.name)

    def next_to_download(self) -> list[Job]:
        """Receiver: the files to start now, in the order offered: up to AT_ONCE moving, and
        none while one waits to resume after a lost connection."""
        if self.answer != "accept":
            return []
        states = [m.info.state for m in self.members]
        if "interrupted" in states:
            return []
        room = AT_ONCE - sum(state.moving for state in states)
        return [m for m in self.members if m.info.state == "offered"][:max(room, 0)]

    def listing(self) -> tuple[tuple[str, int], ...]:
        """The first LISTED files, as (name inside the batch's folder, size); files refused
        here (no usable name) are left out."""
        folder = self.info.name if self.info.name.endswith("/") else ""
        shown: list[tuple[str, int]] = []
        for m in self.members:
            if m.direction == "receive" and m.inbound is None:
                continue
            name = m.info.name
            inside = name[len(folder):] if folder and name.startswith(folder) else name
            shown.append((inside or name, m.info.size))
            if len(shown) == LISTED:
                break
        return tuple(shown)

    def summary(self) -> TransferInfo:
        """The batch as one transfer, from its members. Part files found when it was offered
        count as done until the files that resume from them start."""
        members = self.members
        finished = [m for m in members if m.final]
        claimed = sum(m.info.resumed_from for m in members)
        waiting_turn = any(m.info.state == "offered" for m in members)  # files still to come
        unclaimed = max(0, min(self.held, self.info.size) - claimed) if waiting_turn else 0
        done = sum(m.info.done for m in members) + unclaimed
        moving = [m for m in members if m.info.state.moving]
        info = replace(self.info, done=done, resumed_from=claimed + unclaimed, files_done=len(finished), eta=None,
                       listing=self.listing())
        if len(finished) >= self.files:
            return self._outcome(info, finished)
        under_way = self.answer == "accept" or any(m.info.state == "done" for m in finished)
        if moving or (waiting_turn and under_way):  # not a file refused before any answer
            speed = sum(m.info.speed for m in moving)
            eta = (info.size - done) / speed if speed > 0 else None
            return replace(info, state=TransferState.ACTIVE, speed=speed, eta=eta, reason="")
        if any(m.info.state == "interrupted" for m in members):
            return replace(info, state=TransferState.INTERRUPTED, speed=0.0, reason="waiting for the peer")
        if members and all(m.info.state == "waiting" for m in members):
            return replace(info, state=TransferState.WAITING, reason=members[0].info.reason)
        return replace(info, state=TransferState.OFFERED, reason="")

    @staticmethod
    def _average_speed(members: list[Job]) -> float:
        """Bytes that crossed over the time during which some file of the batch was moving:
        files that overlap count their time once, and time spent waiting for a peer that was
        away does not count. Files finished in an earlier run are not timed at all."""
        crossed, spans = 0, []
        for m in members:
            span = m.meter.moved_during if m.meter is not None else None
            if span is not None:
                crossed += m.info.size - m.info.resumed_from
                spans.append(span)
        seconds, reached = 0.0, float("-inf")
        for start, end in sorted(spans):
            if end > reached:
                seconds += end - max(start, reached)
                reached = end
        return crossed / seconds if seconds > 0.001 else 0.0

    def _outcome(self, info: TransferInfo, finished: list[Job]) -> TransferInfo:
        states = [m.info.state for m in finished]
        if all(state == "done" for state in states):
            return replace(info, state=TransferState.DONE, done=info.size, speed=self._average_speed(finished), reason="")
        if all(state == "declined" for state in states):
            return replace(info, state=TransferState.DECLINED, speed=0.0, reason=finished[0].info.reason)
        cancelled = [m for m in finished if m.info.state == "cancelled"]
        if cancelled:
            return replace(info, state=TransferState.CANCELLED, speed=0.0, reason=cancelled[0].info.reason)
        # Some files arrived, some did not (refused by the receiver, failed a check...).
        missing = [m for m in finished if m.info.state != "done"]
        reason = missing[0].info.reason
        if len(states) > 1:
            reason = f"{len(missing)} of {len(states)} files failed, {missing[0].info.name}: {reason}"
        return replace(info, state=TransferState.FAILED, speed=0.0, reason=reason)
