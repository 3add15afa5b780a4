"""How long to wait before the next attempt: doubling from `first`, never above `cap`."""

from __future__ import annotations


def backoff(attempt: int, *, first: float, cap: float) -> float:
    """The delay after failed attempt number `attempt` (1 for the first failure)."""
    return min(cap, first * 2.0 ** min(max(attempt, 1) - 1, 10))
