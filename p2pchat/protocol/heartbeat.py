"""When to ping and when to give up on a silent peer. The caller passes the time in, always
from the same monotonic clock, so the rules can be tested without waiting."""

from __future__ import annotations


class Heartbeat:
    """Ping after `interval` seconds without sending; the peer is lost after `timeout` seconds
    without receiving. Both clocks start at `now`, or at the first call if `now` is not given."""

    def __init__(self, interval: float, timeout: float, now: float | None = None) -> None:
        if not (interval > 0 and timeout > 0):
            raise ValueError("heartbeat interval and timeout must be positive")
        self.interval = interval
        self.timeout = timeout
        self._last_sent = now
        self._last_received = now
        self.last_rtt: float | None = None

    def _start(self, now: float) -> tuple[float, float]:
        """(last sent, last received), both `now` until the first frame."""
        if self._last_sent is None:
            self._last_sent = now
        if self._last_received is None:
            self._last_received = now
        return self._last_sent, self._last_received

    def frame_sent(self, now: float) -> None:
        self._start(now)
        self._last_sent = now

    def frame_received(self, now: float) -> None:
        self._start(now)
        self._last_received = now

    def ping_due(self, now: float) -> bool:
        last_sent, _ = self._start(now)
        return now - last_sent >= self.interval

    def expired(self, now: float) -> bool:
        _, last_received = self._start(now)
        return now - last_received >= self.timeout

    def next_deadline(self, now: float) -> float:
        """The time at which a ping falls due or the peer expires, whichever comes first."""
        last_sent, last_received = self._start(now)
        return min(last_sent + self.interval, last_received + self.timeout)

    def pong_received(self, ping_ts: float, now: float) -> float:
        """Record and return the round-trip time of the PING whose `ts` the PONG echoed.
        A `ts` from the future (a confused peer) counts as zero rather than negative."""
        self.last_rtt = max(0.0, now - ping_ts)
        return self.last_rtt
