"""The full-screen app on a real pseudo-terminal, stopped and continued as a shell or a
debugger does (SIGSTOP, then SIGCONT), still quits with ctrl+q."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux only")]


def read_until(fd: int, text: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{text!r} never appeared; got {seen[-500:]!r}")
        if select.select([fd], [], [], left)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
    return seen


def drain(fd: int) -> None:
    """Keep reading what the app writes, so it never blocks on a full terminal."""
    while select.select([fd], [], [], 0.05)[0]:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


@pytest.mark.timeout(60)
@pytest.mark.alone  # counts the app's threads once its start-up has settled
def test_quit_works_after_the_app_was_stopped_and_continued(tmp_path):
    main, secondary = pty.openpty()
    env = {**os.environ, "P2PCHAT_HOME": str(tmp_path / "home"), "TERM": "xterm-256color",
           "COLUMNS": "100", "LINES": "30"}
    process = subprocess.Popen(
        [sys.executable, "-m", "p2pchat", "--port", "0", "--nickname", "Alice"],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env, start_new_session=True,
    )
    os.close(secondary)
    try:
        read_until(main, b"listening", 30)
        drain(main)
        time.sleep(1)
        drain(main)
        threads = len(os.listdir(f"/proc/{process.pid}/task"))
        for _ in range(3):  # each continue used to start one more input and output thread
            process.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            process.send_signal(signal.SIGCONT)
            time.sleep(0.5)
            drain(main)
        # Each continue used to add an input and an output thread (6 more after 3); a worker
        # thread the app starts meanwhile (history, discovery at a quiet moment) is not that.
        assert len(os.listdir(f"/proc/{process.pid}/task")) - threads < 3
        for key in b"typed":  # one reader per key press, never several racing for it
            os.write(main, bytes([key]))
            drain(main)
        os.write(main, b"\x11")  # ctrl+q
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            drain(main)
        assert process.poll() == 0, "the app did not exit after ctrl+q"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        os.close(main)
