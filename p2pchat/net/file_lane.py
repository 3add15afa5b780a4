"""The asyncio side of pacing file data on one connection (the rules are in pacing.py).

Before each piece of file data the kernel is asked (TCP_INFO: no frames on the wire) for its
round trip, the bytes acknowledged, in flight and not yet sent; with what the transport still
holds, the BackgroundPacer says whether another piece may go. While it may not, the lane
looks again after `poll_interval` (a quarter of the round trip, 0.5-2 ms). The transport's
write buffer is sized to a few milliseconds of data, so a chat frame written now waits behind
little. Where the kernel does not report these, file data is written unpaced in whole
chunks, as TCP allows.
"""

from __future__ import annotations

import asyncio

from p2pchat.net import tcp_info
from p2pchat.net.pacing import BackgroundPacer

SAMPLE_EVERY = 0.005  # seconds between two round trips fed to the pacer
WINDOW_POLL = 0.002  # seconds between two looks at a full window, at most...
MIN_WINDOW_POLL = 0.0005  # ...and at least: a quarter of the round trip in between
UNPACED_WRITE_HIGH = 128 * 1024  # transport high-water mark where nothing measures the rate


def poll_interval(rtt: float) -> float:
    """How long to wait before looking at a full window again: room opens as acknowledgements
    come, so a quarter of the round trip, within bounds. On loopback or a LAN (round trips of
    well under a millisecond) 2 ms let the receiver's queue, a few ms of data, run dry: the
    transfer took 10% longer."""
    return min(WINDOW_POLL, max(MIN_WINDOW_POLL, rtt / 4))


class FileLane:
    def __init__(self, transport: asyncio.Transport, sock) -> None:
        self._transport = transport
        self._sock = sock
        now = asyncio.get_running_loop().time()
        sample = tcp_info.path_sample(sock) if sock is not None else None
        self.pacer = BackgroundPacer(now) if sample is not None else None
        self._next_sample = now
        self._write_high = 0
        self._size_write_buffer(UNPACED_WRITE_HIGH if self.pacer is None else self.pacer.piece_size())

    def piece_size(self, whole: int) -> int:
        return whole if self.pacer is None else self.pacer.piece_size()

    async def wait_turn(self) -> None:
        """Return when the pacer lets the next piece go."""
        pacer = self.pacer
        if pacer is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            sample = tcp_info.path_sample(self._sock)
            if sample is None or self._transport.is_closing():
                return
            rtt, acked, in_flight, unsent = sample
            now = loop.time()
            if now >= self._next_sample:
                self._next_sample = now + SAMPLE_EVERY
                pacer.rtt_sample(rtt, acked, now)
                self._size_write_buffer(pacer.piece_size())
            if pacer.may_send(in_flight, unsent + self._transport.get_write_buffer_size()):
                return
            await asyncio.sleep(poll_interval(rtt))

    def _size_write_buffer(self, high: int) -> None:
        if abs(high - self._write_high) * 4 > self._write_high:  # only when it moved by a quarter
            self._write_high = high
            self._transport.set_write_buffer_limits(high=high, low=high // 4)
