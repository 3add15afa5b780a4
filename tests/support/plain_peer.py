"""A real `p2pchat --plain` process driven through its stdin and stdout.

Each peer has its own P2PCHAT_HOME (identity, history, downloads) and short
heartbeats, so a dead or frozen peer is noticed within about a second.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

FAST_TIMERS = {
    "P2PCHAT_HEARTBEAT_INTERVAL": "0.2",
    "P2PCHAT_HEARTBEAT_TIMEOUT": "1",
    "P2PCHAT_RECONNECT": "2",
    "P2PCHAT_ACCEPT_UNKNOWN": "always",
    "P2PCHAT_PORT_MAPPING": "false",  # the NAT lab turns these on where it has a router or LAN
    "P2PCHAT_DISCOVERABLE": "false",
    "P2PCHAT_RELAY": "",  # no public server: a test names the lab's own
    "P2PCHAT_RENDEZVOUS": "",
    "P2PCHAT_STUN": "",  # the NAT lab names its own STUN servers
}
CHAT_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] <(?P<nick>[^>]+)> (?P<body>.*)$")


class PlainPeer:
    """One p2pchat process; `lines` holds everything it printed so far."""

    def __init__(self, name: str, home: Path, *args: str, netns: str | None = None,
                 env: dict[str, str] | None = None, tty: bool = False) -> None:
        self.name = name
        self.tty = tty  # stdin is a terminal (a pty), as for a person typing
        self.home = home
        self.args = list(args)
        self.netns = netns
        self.extra_env = env or {}
        self.lines: list[str] = []
        self.chat: list[tuple[str, str]] = []  # (nick, body) of every chat line, in order
        self._changed = threading.Condition()
        self.proc: subprocess.Popen | None = None
        self._terminal: int | None = None  # our end of the pty, with `tty`

    # -- process -----------------------------------------------------------------------
    def start(self) -> PlainPeer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("P2PCHAT_")}
        env.update(FAST_TIMERS, P2PCHAT_HOME=str(self.home), **self.extra_env)
        command = [sys.executable, "-m", "p2pchat", "--plain", "--nickname", self.name, *self.args]
        if self.netns:
            command = ["ip", "netns", "exec", self.netns, *command]
        self.home.mkdir(parents=True, exist_ok=True)
        stderr = open(self.home / "stderr.txt", "ab")  # noqa: SIM115 - the child owns it
        stdin = subprocess.PIPE
        if self.tty:
            self._terminal, stdin = pty.openpty()
            attributes = termios.tcgetattr(stdin)
            attributes[3] &= ~termios.ECHO  # nobody reads the echo back
            termios.tcsetattr(stdin, termios.TCSANOW, attributes)
        self.proc = subprocess.Popen(
            command, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr,
            env=env, text=True, bufsize=1, cwd=self.home,
        )
        stderr.close()
        if self.tty:
            os.close(stdin)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            line = line.rstrip("\n")
            match = CHAT_LINE.match(line)
            with self._changed:
                self.lines.append(line)
                if match:
                    self.chat.append((match["nick"], match["body"]))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def type(self, *lines: str) -> None:
        text = "".join(line + "\n" for line in lines)
        if self.tty:
            os.write(self._terminal, text.encode())
            return
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def finish(self, timeout: float = 40) -> int:
        """Close stdin (the plain front end delivers what is queued, then quits)."""
        if self.proc.poll() is None:
            try:
                if self.tty:
                    os.write(self._terminal, b"\x04")  # ctrl+d: the end of input
                else:
                    self.proc.stdin.close()
            except OSError:
                pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        if self.tty and self._terminal is not None:
            os.close(self._terminal)
            self._terminal = None

    # -- output ------------------------------------------------------------------------
    def wait_for(self, found: Callable[[list[str]], object], timeout: float, what: str = ""):
        """Wait until `found(lines)` is truthy and return it; fail with the output so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = found(self.lines)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self.lines[-25:])
                    raise AssertionError(f"{self.name}: timed out waiting for {what or found}:\n{tail}")
                self._changed.wait(min(left, 0.5))

    def wait_line(self, pattern: str, timeout: float = 15, start: int = 0) -> re.Match:
        regex = re.compile(pattern)

        def search(lines: list[str]):
            for line in lines[start:]:
                match = regex.search(line)
                if match:
                    return match
            return None

        return self.wait_for(search, timeout, repr(pattern))

    def port(self) -> int:
        return int(self.wait_line(r"^\* listening on port (\d+)").group(1))

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        with self._changed:
            return sum(1 for line in self.lines if regex.search(line))

    def received(self, sender: str) -> list[str]:
        """Bodies of chat messages from `sender`, in the order printed."""
        with self._changed:
            return [body for nick, body in self.chat if nick == sender]

    def wait_received(self, sender: str, count: int, timeout: float) -> list[str]:
        self.wait_for(lambda _: len(self.received(sender)) >= count, timeout,
                      f"{count} messages from {sender} (have {len(self.received(sender))})")
        return self.received(sender)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")
