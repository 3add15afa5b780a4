"""Many transfers' disk calls on a few threads: each lane in order, the pool bounded."""

from __future__ import annotations

import threading

import pytest

from p2pchat.transfer.lanes import DISK_THREADS, disk_lane


def test_each_lane_runs_in_order_on_the_few_pool_threads():
    lanes = [disk_lane() for _ in range(300)]
    seen: dict[int, list[int]] = {n: [] for n in range(len(lanes))}
    threads: set[str] = set()

    def record(lane: int, step: int) -> int:
        threads.add(threading.current_thread().name)
        seen[lane].append(step)
        return step

    futures = [(lane.submit(record, n, step), step) for step in range(20) for n, lane in enumerate(lanes)]
    assert [future.result(timeout=10) for future, _ in futures] == [step for _, step in futures]
    assert all(steps == list(range(20)) for steps in seen.values())
    assert len(threads) <= DISK_THREADS and all(name.startswith("disk") for name in threads)


def test_a_failing_call_fails_only_itself_and_a_shut_lane_refuses_more():
    lane = disk_lane()
    first = lane.submit(lambda: 1 / 0)
    second = lane.submit(lambda: "still runs")
    with pytest.raises(ZeroDivisionError):
        first.result(timeout=10)
    assert second.result(timeout=10) == "still runs"
    lane.shutdown()
    with pytest.raises(RuntimeError):
        lane.submit(print)
