"""Tests marked `alone` run with no other test at the same time, also when pytest-xdist spreads
the suite over several workers: they need a core to themselves (the process's own CPU share,
keystrokes in a terminal within a deadline) and a test beside them would disturb that.

The controller makes one lock file for the run and hands its path to the workers. Every test
holds a lock on it while it is set up, run and torn down: `alone` ones exclusively, the others
shared. Without workers (`-n 0`) tests run one after another anyway and no lock is taken.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator

import pytest

MARKER = "alone"
WORKER_INPUT = "p2pchat_lock"
_made = pytest.StashKey[str]()


def make_lock(config: pytest.Config) -> str:
    """The run's lock file, made once by the controller."""
    if _made not in config.stash:
        handle, path = tempfile.mkstemp(prefix="p2pchat-tests-", suffix=".lock")
        os.close(handle)
        config.stash[_made] = path
    return config.stash[_made]


def remove_lock(config: pytest.Config) -> None:
    path = config.stash.get(_made, None)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def turn(item: pytest.Item) -> Iterator[None]:
    """Hold the run's lock, exclusively for an `alone` test, while `item` runs."""
    path = getattr(item.config, "workerinput", {}).get(WORKER_INPUT)
    if path is None:
        yield
        return
    exclusive = item.get_closest_marker(MARKER) is not None
    with open(path, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield  # closing the file releases the lock
