"""The command names its listening port on the terminal as soon as the socket is bound,
before the full-screen window has been imported and drawn, and takes the line back at exit."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EARLY_LINE = re.compile(rb"p2pchat: listening on port (\d+), opening the window\.\.\.\r\n")


def read_until(fd: int, done, timeout: float = 20.0) -> bytes:
    """Output of the program on the pty until done(output) or it ends."""
    output = b""
    deadline = time.monotonic() + timeout
    while not done(output) and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the program ended and closed the pty
                break
            if not chunk:
                break
            output += chunk
    return output


def test_the_port_is_named_and_reachable_before_the_window_opens(tmp_path):
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    program = subprocess.Popen(
        [sys.executable, "-m", "p2pchat", "--port", "0", "--nickname", "al", "--no-history"],
        stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT, start_new_session=True,
    )
    os.close(terminal)
    try:
        first = read_until(controller, lambda out: b"\n" in out)
        said = EARLY_LINE.match(first)
        assert said, first[:200]
        # Already accepting: a peer that dials now waits in the kernel's queue for the app.
        with socket.create_connection(("127.0.0.1", int(said[1])), timeout=5):
            pass
        drawn = read_until(controller, lambda out: b"listening on port" in out)
        assert b"listening on port" in drawn
        os.write(controller, b"\x11")  # ctrl+q
        last = read_until(controller, lambda out: False, timeout=10)
        assert program.wait(10) == 0
        # The line is no longer true: the cursor goes back up to it and erases it.
        assert last.endswith(b"\x1b[1F\x1b[2K"), last[-80:]
    finally:
        if program.poll() is None:
            program.kill()
        os.close(controller)
