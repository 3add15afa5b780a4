"""The file pacer on simulated paths: time is an argument, a path is a few lines of arithmetic
(a first-in first-out bottleneck of fixed rate and a fixed round trip), nothing sleeps."""

from __future__ import annotations

import collections

import pytest

from p2pchat.net.pacing import (
    MIN_RECEIVE_WINDOW,
    MIN_WINDOW,
    RECEIVE_SLACK,
    TARGET,
    BackgroundPacer,
    ReceiveWindow,
)

STEP = 0.001  # seconds of simulated time per step
SAMPLE_EVERY = 0.005  # as often as the connection reads TCP_INFO


class Path:
    """A bottleneck of `rate` bytes/s with a round trip of `rtt` seconds when idle. Another
    flow may keep `other_queue` seconds of its own data in the bottleneck's queue."""

    def __init__(self, rate: float, rtt: float, other_queue: float = 0.0) -> None:
        self.rate, self.rtt, self.other_queue = rate, rtt, other_queue
        self.free_at = 0.0  # when the bottleneck has sent everything it holds
        self.in_flight = 0
        self.acked = 0
        self.srtt = rtt
        self.acks: collections.deque[tuple[float, float, int]] = collections.deque()  # (due, sent, bytes)
        self.delays: list[tuple[float, float]] = []  # (sent at, queueing delay) of every piece

    def send(self, nbytes: int, now: float) -> None:
        start = max(now, self.free_at) + self.other_queue
        self.free_at = start - self.other_queue + nbytes / self.rate
        self.delays.append((now, start - now))
        self.acks.append((self.free_at + self.other_queue + self.rtt, now, nbytes))
        self.in_flight += nbytes

    def deliver(self, now: float) -> None:
        while self.acks and self.acks[0][0] <= now:
            due, sent, nbytes = self.acks.popleft()
            self.in_flight -= nbytes
            self.acked += nbytes
            self.srtt += (due - sent - self.srtt) / 8  # the kernel's smoothed round trip


def run(path: Path, seconds: float, pacer: BackgroundPacer | None = None, start: float = 0.0,
        has_data=lambda now: True) -> BackgroundPacer:
    pacer = pacer or BackgroundPacer(start)
    now, next_sample = start, start
    while now < start + seconds:
        path.deliver(now)
        if now >= next_sample:
            pacer.rtt_sample(path.srtt, path.acked, now)
            next_sample = now + SAMPLE_EVERY
        while has_data(now) and pacer.may_send(path.in_flight, 0):
            path.send(pacer.piece_size(), now)
        now += STEP
    return pacer


def acked_during(path_factory, warm_up: float, measured: float) -> tuple[float, list[float]]:
    path = path_factory()
    pacer = run(path, warm_up)
    before = path.acked
    run(path, measured, pacer, start=warm_up)
    delays = [delay for sent, delay in path.delays if sent >= warm_up]
    return (path.acked - before) / measured, delays


@pytest.mark.parametrize(("rate", "rtt"), [(25e6, 0.040), (12.5e6, 0.100), (6.25e6, 0.060), (250e6, 0.0001)],
                         ids=["200Mbit-40ms", "100Mbit-100ms", "50Mbit-60ms", "loopback"])
def test_fills_the_link_while_the_queue_stays_near_the_target(rate, rtt):
    throughput, delays = acked_during(lambda: Path(rate, rtt), warm_up=3.0, measured=5.0)
    assert throughput >= 0.95 * rate
    delays.sort()
    assert delays[len(delays) // 2] <= TARGET + 0.005
    assert delays[int(len(delays) * 0.99)] <= TARGET + 0.015


@pytest.mark.parametrize(("rate", "rtt"), [(25e6, 0.040), (12.5e6, 0.100)])
def test_the_start_overshoots_by_at_most_half_a_round_trip(rate, rtt):
    path = Path(rate, rtt)
    run(path, 3.0)
    assert max(delay for _sent, delay in path.delays) <= rtt / 2 + TARGET


def test_yields_to_another_flow_that_keeps_the_queue_long():
    path = Path(12.5e6, 0.040)
    pacer = run(path, 3.0)
    assert pacer.window > 10 * MIN_WINDOW
    path.other_queue = 0.050  # someone else's 50 ms of queue, whatever this file does
    run(path, 3.0, pacer, start=3.0)
    assert pacer.window == MIN_WINDOW


def test_a_window_the_file_does_not_use_does_not_grow():
    path = Path(25e6, 0.040)
    slow_disk = 1e6  # bytes/s the file can be read at: far below the link
    budget = {"sent": 0}

    def has_data(now: float) -> bool:
        if budget["sent"] + pacer.piece_size() > slow_disk * now:
            return False
        budget["sent"] += pacer.piece_size()
        return True

    pacer = BackgroundPacer(0.0)
    run(path, 3.0, pacer, has_data=has_data)
    assert pacer.window < 4 * slow_disk * (0.040 + TARGET)


def test_unsent_bytes_stay_below_one_piece():
    pacer = BackgroundPacer(0.0)
    piece = pacer.piece_size()
    assert pacer.may_send(0, piece - 1)
    assert not pacer.may_send(0, piece)


def test_what_is_in_flight_and_unsent_together_fills_the_window():
    pacer = BackgroundPacer(0.0)
    window = int(pacer.window)
    assert pacer.may_send(window - 1, 0)
    assert not pacer.may_send(window, 0)
    assert not pacer.may_send(window - 1024, 2048)  # unsent bytes count as much as those in flight


def test_the_base_round_trip_is_forgotten_after_a_few_minutes():
    pacer = BackgroundPacer(0.0)
    pacer.rtt_sample(0.040, 0, 0.0)
    for second in range(1, 200):
        pacer.rtt_sample(0.080, 0, float(second))  # the route changed: 80 ms is the path now
    assert pacer.base_delay == pytest.approx(0.080)
    assert pacer.queueing_delay == pytest.approx(0.0)


def test_the_receive_window_is_two_round_trips_of_what_the_app_reads_plus_a_little():
    window = ReceiveWindow(0.0)
    window.bytes_read(600_000)
    window.bytes_read(400_000)  # every read of the round trip counts
    assert window.update(0.040, 0.039) is None  # not yet a round trip
    assert not ReceiveWindow(0.0).due(0.019) and ReceiveWindow(0.0).due(0.02)  # the kernel is asked every 20 ms
    allowed = window.update(0.040, 0.040)
    assert allowed == pytest.approx(25e6 * (2 * 0.040 + RECEIVE_SLACK), rel=0.01)


def test_a_receive_window_the_sender_fills_doubles_each_round_trip():
    window, rtt, allowed = ReceiveWindow(0.0), 0.125, MIN_RECEIVE_WINDOW
    for n in range(1, 6):
        window.bytes_read(allowed)  # the sender filled the window once per round trip
        grown = window.update(rtt, n * rtt)
        assert grown >= 2 * allowed
        allowed = grown


def test_a_slow_reader_shrinks_the_receive_window_to_its_pace():
    window = ReceiveWindow(0.0)
    window.bytes_read(10_000_000)
    window.update(0.001, 0.02)
    for n in range(2, 5):
        window.bytes_read(20_000)  # 1 MB/s: the disk or the CPU cannot keep up
        allowed = window.update(0.001, n * 0.02)
    assert allowed == MIN_RECEIVE_WINDOW


def test_a_queue_between_a_quarter_of_the_target_and_the_target_grows_the_window_gently():
    """8 ms of queue (TARGET is 12): grow by what the 4 ms still missing carry, at most a
    quarter per round trip, never by the fast start's half."""
    base, queue, rate = 0.040, 0.008, 10e6
    assert TARGET / 4 < queue < TARGET
    pacer = BackgroundPacer(0.0)
    pacer.rtt_sample(base, 0, 0.0)  # the base: the path with nothing queued
    now, acked, rtt = 0.0, 0, base + queue
    for _ in range(3):  # then only round trips with the queue, too soon to move the window
        now += 0.001
        pacer.rtt_sample(rtt, acked, now)
    growths = []
    for _ in range(20):
        assert not pacer.may_send(int(pacer.window) + 1, 0)  # the window holds the file back
        before = pacer.window
        now += rtt + 0.001  # a round trip has passed: the window moves once
        acked += int(rate * rtt)
        pacer.rtt_sample(rtt, acked, now)
        growths.append(pacer.window - before)
        delivered = rate * rtt / (rtt + 0.001)  # bytes/s acknowledged over the round trip
        assert pacer.window - before == pytest.approx(min(0.25 * before, (TARGET - queue) * delivered)), growths


def test_a_full_window_is_looked_at_again_within_a_quarter_of_the_round_trip():
    from p2pchat.net.file_lane import MIN_WINDOW_POLL, WINDOW_POLL, poll_interval

    assert poll_interval(0.00005) == MIN_WINDOW_POLL  # loopback: as often as is sensible
    assert poll_interval(0.004) == 0.001
    assert poll_interval(0.040) == WINDOW_POLL  # an internet path: as before
