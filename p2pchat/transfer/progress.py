"""Transfer progress: when to report, smoothed speed, time left. Time is always passed in."""

from __future__ import annotations

import math

REPORT_INTERVAL = 0.1  # seconds: at most about ten reports a second
SPEED_TIME_CONSTANT = 1.5  # seconds: how quickly the shown speed follows a change


class ProgressMeter:
    """Progress of one transfer of `total` bytes, `start` of them already there (a resume).

    Call `update(done, now)` whenever bytes move; it returns True when the caller
    should report (at most every REPORT_INTERVAL seconds, and once when done
    reaches total). `speed` is an exponential moving average in bytes per second,
    `eta` the seconds left at that speed (None while unknown), `average_speed` the
    mean since the start, resumed bytes excluded.
    """

    def __init__(self, total: int, now: float, start: int = 0) -> None:
        self.total = total
        self.start = start
        self.done = start
        self.speed = 0.0
        self._started_at = now
        self._ended_at: float | None = None
        self._last_update = now
        self._last_report = -math.inf
        self._sample_at = now
        self._sample_done = start
        self._has_speed = False
        self._end_reported = False

    def update(self, done: int, now: float) -> bool:
        self.done = done
        self._last_update = now
        finished = done >= self.total
        elapsed = now - self._sample_at
        if elapsed >= REPORT_INTERVAL or (finished and elapsed > 0):
            rate = (done - self._sample_done) / elapsed
            if self._has_speed:
                weight = 1.0 - math.exp(-elapsed / SPEED_TIME_CONSTANT)
                self.speed += weight * (rate - self.speed)
            else:
                self.speed, self._has_speed = rate, True
            self._sample_at, self._sample_done = now, done
        if finished:
            if self._end_reported:
                return False
            self._ended_at = now
            self._end_reported = True
            return True
        if now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            return True
        return False

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def eta(self) -> float | None:
        if self.finished:
            return 0.0
        if self.speed <= 0:
            return None
        return (self.total - self.done) / self.speed

    @property
    def moved_during(self) -> tuple[float, float] | None:
        """(start, end) of the time bytes moved, once the end was reached."""
        return (self._started_at, self._ended_at) if self._ended_at is not None else None

    @property
    def average_speed(self) -> float:
        """Mean bytes per second from the start to the end (or to the latest update)."""
        until = self._ended_at if self._ended_at is not None else self._last_update
        if until <= self._started_at:
            return 0.0
        return (self.done - self.start) / (until - self._started_at)


def percent(part: int, whole: int) -> int:
    """Whole percent, rounded down, so every view of one transfer says the same number."""
    return min(100, part * 100 // whole) if whole > 0 else 0


def format_size(n: int | float) -> str:
    """`1536` -> `1.5 KiB`; exact bytes below 1 KiB."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")
