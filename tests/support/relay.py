"""A real magic-wormhole transit relay (`twist transitrelay`) for tests, started and stopped."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def twist_command() -> list[str] | None:
    """How to start the relay here, or None if the package is not installed."""
    beside = Path(sys.executable).with_name("twist")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("twist")
    return [found] if found else None


class TransitRelay:
    service = "transitrelay"

    def __init__(self, host: str, port: int, netns: str | None = None) -> None:
        self.host, self.port, self.netns = host, port, netns
        self.process: subprocess.Popen | None = None

    @property
    def setting(self) -> str:
        return f"tcp:{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> TransitRelay:
        command = twist_command()
        if command is None:
            raise RuntimeError("magic-wormhole-transit-relay is not installed (pip install -e '.[test]')")
        command = [*command, self.service, f"--port=tcp:{self.port}:interface={self.host}", *self.options()]
        if self.netns:
            command = ["ip", "netns", "exec", self.netns, *command]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.service} did not start on {self.host}:{self.port}")
            time.sleep(0.1)
        return self

    def options(self) -> list[str]:
        return []

    def _answers(self) -> bool:
        if self.netns:
            probe = subprocess.run(
                ["ip", "netns", "exec", self.netns, "ss", "-ltnH", f"sport = :{self.port}"],
                capture_output=True, text=True,
            )
            return bool(probe.stdout.strip())
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.5):
            return True
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
