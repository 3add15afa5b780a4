"""How much file data may be on its way so that chat does not wait behind it: a background
flow in the manner of LEDBAT (RFC 6817), without any I/O. The caller passes the time (`now`,
seconds on one monotonic clock), the round trips it measures, and how many bytes the peer has
acknowledged, has in flight and are not yet sent; the pacer says whether the next piece may go
and how big a piece is.

The round trip grows when a queue builds at the path's bottleneck: its smallest value over
the last minutes (the base) is the path itself, anything above is queueing delay. The pacer
keeps that delay near `TARGET` with a window, a cap on the bytes in flight, since a window
bounds the queue at once (a rate cap would let a backlog drain for a while). Once per round
trip it moves the window:

- queue nearly empty: grow by half (`START_GROWTH`); a full link shows a round trip late, so
  the queue then holds at most half a round trip, and a growth that made a queue is undone at
  once, to what the path delivered in a base round trip plus the target;
- queue below the target: grow by what the path delivers in the delay still missing;
- queue above the target: shrink by half of what sits in the queue beyond it.

The bottleneck queue then holds about `TARGET` of data, enough to keep the link busy, so a chat
frame crosses it in about `TARGET` more than an idle round trip. Unsent bytes (the chat frame
waits behind them too) are kept to one piece of `PIECE_TIME`. Another flow on the path adds
delay as well, so the file yields to it, as LEDBAT means.
"""

from __future__ import annotations

import collections

TARGET = 0.012  # seconds of queueing delay file data may add to the round trip
START_WINDOW = 64 << 10  # bytes outstanding before the first round trips have said anything
MIN_WINDOW = 32 << 10  # a file that yields still moves
CORRECTION = 0.5  # the share of an excess queue removed in one round trip
START_GROWTH = 1.5  # per round trip while the queue is empty: a full link shows a round trip
# late, by then the queue holds (START_GROWTH - 1) of a round trip at most
MAX_GROWTH = 0.25  # near the target, the window grows by at most this share per round trip
PIECE_TIME = 0.002  # seconds of data written at once, and so queued ahead of a chat frame
MIN_PIECE, MAX_PIECE = 4 << 10, 1 << 20
BASE_BUCKET, BASE_BUCKETS = 20.0, 6  # the base is the smallest round trip of the last 2 minutes
RECENT_SAMPLES = 3  # the current delay is the smallest of these: one late ACK is not a queue
MIN_INTERVAL = 0.01  # seconds: the acknowledged rate over less than this is noise
START_RATE = 1 << 20  # bytes/s assumed before anything was acknowledged


class BackgroundPacer:
    """Window of outstanding file data that keeps the queueing delay it causes near `TARGET`."""

    def __init__(self, now: float, target: float = TARGET) -> None:
        self.target = target
        self.window = float(START_WINDOW)
        self.rate = float(START_RATE)  # bytes/s the peer acknowledged lately: sizes the pieces
        self.starting = True  # until the first queue: growth is not capped by what the path holds
        self._grew = False  # the window grew fast at the last update
        self._bases: collections.deque[list[float]] = collections.deque()  # [bucket start, min]
        self._recent: collections.deque[float] = collections.deque(maxlen=RECENT_SAMPLES)
        self._last_update = now
        self._acked_at_update: int | None = None
        self._last_acked_rate = 0.0
        self._limited = False  # the window, not the link or the disk, held data back since the last update

    @property
    def base_delay(self) -> float | None:
        return min(base for _start, base in self._bases) if self._bases else None

    @property
    def queueing_delay(self) -> float | None:
        base = self.base_delay
        return None if base is None else min(self._recent) - base

    def piece_size(self) -> int:
        """How many bytes to write at once: `PIECE_TIME` at the delivered rate, within bounds."""
        return max(MIN_PIECE, min(MAX_PIECE, int(self.rate * PIECE_TIME)))

    def may_send(self, in_flight: int, unsent: int) -> bool:
        """Whether another piece may go while `in_flight` bytes are sent and unacknowledged
        and `unsent` are written and wait to be sent. Unsent bytes are what a chat frame
        written now waits behind: at most a piece, whatever TCP's own window allows."""
        if unsent >= self.piece_size():
            return False
        if in_flight + unsent < self.window:
            return True
        self._limited = True
        return False

    def rtt_sample(self, rtt: float, acked: int, now: float) -> None:
        """A round trip measured at `now`, with the count of bytes the peer has acknowledged
        so far; the window moves at most once per round trip."""
        self._remember_base(rtt, now)
        self._recent.append(rtt)
        if self._acked_at_update is None:
            self._last_update, self._acked_at_update = now, acked
            return
        current = min(self._recent)
        base = self.base_delay
        assert base is not None  # _remember_base has just added one
        queue = current - base
        # A queue after fast growth is acted on at once, not a round trip later: each round
        # trip above the link's rate adds more queue.
        overshot = self._grew and queue > self.target / 2
        elapsed = now - self._last_update
        if elapsed < (MIN_INTERVAL if overshot else max(current, MIN_INTERVAL)):
            return
        measured = (acked - self._acked_at_update) / elapsed
        self._last_update, self._acked_at_update = now, acked
        limited, self._limited = self._limited, False
        # The better of the last two round trips: a loss stalls acknowledgements for one
        # round trip, and the link did not get slower for it.
        acked_rate, self._last_acked_rate = max(measured, self._last_acked_rate), measured
        if acked_rate > 0:
            self.rate = acked_rate
        holds = acked_rate * (base + self.target)  # what the path wants in flight, if it was full
        grew, self._grew = self._grew, False
        if overshot:
            self.starting = False
            self.window = min(self.window, holds)
        elif queue < self.target / 4:
            if limited:  # an empty queue: grow fast, but (once the link was seen full) not past what it holds
                grown = START_GROWTH * self.window
                self.window = grown if self.starting else max(self.window, min(grown, holds))
                self._grew = True
            else:
                self._grew = grew  # the disk or TCP held the file back: wait for a full round trip
        elif queue < self.target:
            if limited:  # what the delay still missing to the target holds: no more queue than that
                self.window += min(MAX_GROWTH * self.window, (self.target - queue) * acked_rate)
        else:
            self.starting = False
            self.window += max(-self.window / 2, CORRECTION * (self.target - queue) * acked_rate)
        self.window = max(float(MIN_WINDOW), self.window)

    def _remember_base(self, rtt: float, now: float) -> None:
        if self._bases and now - self._bases[-1][0] < BASE_BUCKET:
            self._bases[-1][1] = min(self._bases[-1][1], rtt)
        else:
            self._bases.append([now, rtt])
            if len(self._bases) > BASE_BUCKETS:
                self._bases.popleft()


RECEIVE_SLACK = 0.004  # seconds of data the receiver's kernel may hold unread beyond two round trips
MIN_RECEIVE_WINDOW = 64 << 10
MIN_UPDATE = 0.02  # seconds: the receive window moves at most this often


class ReceiveWindow:
    """The receiving side's part: how much the kernel may accept ahead of what the app has read.

    TCP acknowledges data as the kernel receives it, so when the reader is the bottleneck (a
    busy CPU, a fast LAN) the round trip shows nothing while the unread bytes grow to the whole
    autotuned buffer, and a chat frame waits behind all of them. Clamping the advertised window
    to two round trips of what the app reads, plus `RECEIVE_SLACK`, still lets the window
    double each round trip while the sender speeds up, and bounds that wait by time.
    """

    def __init__(self, now: float) -> None:
        self._since = now
        self._read = 0
        self._last_rate = 0.0

    def bytes_read(self, nbytes: int) -> None:
        self._read += nbytes

    def due(self, now: float) -> bool:
        """Whether `update` may move the window now (it moves at most every 20 ms)."""
        return now - self._since >= MIN_UPDATE

    def update(self, rtt: float, now: float) -> int | None:
        """The window to allow now, once per round trip (at least 20 ms); None in between."""
        elapsed = now - self._since
        if elapsed < max(rtt, MIN_UPDATE):
            return None
        rate = self._read / elapsed
        self._since, self._read = now, 0
        rate, self._last_rate = max(rate, self._last_rate), rate  # one short round trip is not a trend
        return max(MIN_RECEIVE_WINDOW, int(rate * (2 * rtt + RECEIVE_SLACK)))
