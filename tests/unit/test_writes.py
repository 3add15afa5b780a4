"""A download's chunks queued for its lane: in order, reported in few wake-ups, waited for."""

from __future__ import annotations

import asyncio
import threading

from p2pchat.session.transfers.writes import Writes
from p2pchat.transfer.lanes import disk_lane


async def test_chunks_are_written_in_order_and_reported_in_fewer_wake_ups_than_chunks():
    gate = threading.Event()
    written: list[int] = []
    reports: list[tuple[int, BaseException | None]] = []

    def write(offset: int, data: bytes) -> None:
        gate.wait(5)  # the disk is slow: chunks pile up behind the first
        written.append(offset)

    writes = Writes(disk_lane(), write, lambda nbytes, exc: reports.append((nbytes, exc)))
    for n in range(50):
        writes.put(n * 10, b"x" * 10)
    assert writes.pending_bytes == 500
    gate.set()
    await asyncio.wait_for(writes.wait(-1), 5)
    assert written == [n * 10 for n in range(50)]
    assert writes.pending_bytes == 0
    assert sum(nbytes for nbytes, _ in reports) == 500 and all(exc is None for _, exc in reports)
    assert len(reports) < 50  # one wake-up of the loop carries many chunks


async def test_waiting_for_a_backlog_and_for_an_empty_chunk():
    gate = threading.Event()
    writes = Writes(disk_lane(), lambda offset, data: gate.wait(5), lambda nbytes, exc: None)
    writes.put(0, b"a" * 100)
    writes.put(100, b"b" * 100)
    under = asyncio.ensure_future(writes.wait(100))
    everything = asyncio.ensure_future(writes.wait(-1))
    await asyncio.sleep(0.05)
    assert not under.done() and not everything.done()
    gate.set()
    await asyncio.wait_for(under, 5)
    await asyncio.wait_for(everything, 5)
    writes.put(200, b"")  # nothing to write, but "all written" still waits for it
    await asyncio.wait_for(writes.wait(-1), 5)
    assert writes.pending_bytes == 0


async def test_a_failing_write_is_reported_and_the_rest_still_settle():
    reports: list[tuple[int, BaseException | None]] = []

    def write(offset: int, data: bytes) -> None:
        if offset == 10:
            raise OSError(28, "No space left on device")

    writes = Writes(disk_lane(), write, lambda nbytes, exc: reports.append((nbytes, exc)))
    for offset in (0, 10, 20):
        writes.put(offset, b"x" * 10)
    await asyncio.wait_for(writes.wait(-1), 5)
    errors = [exc for _, exc in reports if exc is not None]
    assert len(errors) == 1 and isinstance(errors[0], OSError)


async def test_after_the_lane_is_shut_nothing_is_written_and_nothing_waits_forever():
    lane = disk_lane()
    lane.shutdown(wait=False)
    written: list[int] = []
    writes = Writes(lane, lambda offset, data: written.append(offset), lambda nbytes, exc: None)
    writes.put(0, b"late")
    await asyncio.wait_for(writes.wait(-1), 5)
    assert written == []
