"""`p2pchat --plain` as real processes: pipes in, lines out, over loopback TLS."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from p2pchat.protocol import MAGIC, Ack, Bye, Decoder, Hello, Nick, Ready, Text, encode

WAIT = 20.0


class PlainProcess:
    """One `p2pchat --plain` process with its own P2PCHAT_HOME; stdout read line by line."""

    def __init__(self, home: Path, *args: str, stdin: bytes | None = None) -> None:
        env = {**os.environ, "P2PCHAT_HOME": str(home)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "p2pchat", "--plain", "--bind", "127.0.0.1", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        if stdin is not None:
            self.process.stdin.write(stdin)
            self.process.stdin.close()

    def _read(self) -> None:
        for raw in self.process.stdout:
            self._queue.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, pattern: str, timeout: float = WAIT) -> re.Match:
        """The first output line (seen before or arriving now) that matches `pattern`."""
        for line in self.lines:
            if found := re.search(pattern, line):
                return found
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"no line matching {pattern!r}; output so far: {self.lines}")
            self.lines.append(line)
            if found := re.search(pattern, line):
                return found

    def finish(self, timeout: float = WAIT) -> int:
        status = self.process.wait(timeout)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return status

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for pipe in (self.process.stdin, self.process.stderr):
            if not pipe.closed:
                pipe.close()


@pytest.fixture
def listener(tmp_path):
    bob = PlainProcess(tmp_path / "bob", "--port", "0", "--nickname", "bob")
    yield bob
    bob.stop()


def listening_port(process: PlainProcess) -> int:
    return int(process.wait_line(r"^\* listening on port (\d+)").group(1))


def test_piped_message_is_delivered_and_the_sender_leaves(tmp_path, listener):
    port = listening_port(listener)
    alice = PlainProcess(
        tmp_path / "alice", "--port", "0", "--nickname", "alice",
        "--connect", f"127.0.0.1:{port}", stdin=b"hello\n",
    )
    try:
        assert alice.finish() == 0, alice.lines
        listener.wait_line(r"^\[\d\d:\d\d:\d\d\] <alice> hello$")
        listener.wait_line(r"^\* alice left \(quit\)$")
        assert any(line.startswith("* connected to bob at 127.0.0.1:") for line in alice.lines)
        # The sender prints status lines only: its own message is not echoed.
        assert all(line.startswith("* ") for line in alice.lines), alice.lines
        assert alice.process.stderr.read() == b""
    finally:
        alice.stop()


def test_unknown_command_is_answered_locally_and_not_sent(tmp_path, listener):
    port = listening_port(listener)
    alice = PlainProcess(
        tmp_path / "alice", "--port", "0", "--nickname", "alice",
        "--connect", f"127.0.0.1:{port}", stdin=b"/nosuch\nafter the typo\n",
    )
    try:
        assert alice.finish() == 0, alice.lines
        assert any(line.startswith("* error:") and "nosuch" in line for line in alice.lines), alice.lines
        listener.wait_line(r"<alice> after the typo$")
        listener.wait_line(r"^\* alice left \(quit\)$")
        assert not any("nosuch" in line for line in listener.lines), listener.lines
    finally:
        alice.stop()


def test_lines_typed_at_the_listener_reach_the_dialer(tmp_path, listener):
    port = listening_port(listener)
    alice = PlainProcess(
        tmp_path / "alice", "--port", "0", "--nickname", "alice", "--connect", f"127.0.0.1:{port}",
    )
    try:
        alice.wait_line(r"^\* connected to bob")
        listener.wait_line(r"^\* connected to alice")
        listener.process.stdin.write(b"/me waves\nhi alice\n")
        listener.process.stdin.flush()
        alice.wait_line(r"^\[\d\d:\d\d:\d\d\] \* bob waves$")
        alice.wait_line(r"^\[\d\d:\d\d:\d\d\] <bob> hi alice$")
        alice.process.stdin.write(b"/quit\n")
        alice.process.stdin.flush()
        assert alice.finish() == 0
        listener.wait_line(r"^\* alice left \(quit\)$")
    finally:
        alice.stop()


# -- what a peer sends is data ----------------------------------------------------------------

HOSTILE_NICK = "[b red]mal[/]"
HOSTILE_BODY = "[link=https://x.example]l[/link]\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\r\x08"
SHOWN_BODY = "[link=https://x.example]l[/link]\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil\\x0d\\x08"


async def hostile_peer(port: int) -> None:
    """A plain-TCP peer whose nickname is markup and whose message is escapes and markup."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = Decoder(expect_magic=True)

    async def expect(kind):
        while True:
            while (frame := decoder.next_frame()) is not None:
                if isinstance(frame, kind):
                    return frame
            data = await asyncio.wait_for(reader.read(65536), WAIT)
            assert data, "the listener closed the connection"
            decoder.receive_data(data)

    writer.write(MAGIC + encode(Hello(1, HOSTILE_NICK, "z" * 32, ("files",), None)))
    await expect(Hello)
    writer.write(encode(Ready(None)))
    await expect(Ready)
    writer.write(encode(Text("f" * 32, 1.0, HOSTILE_BODY, False)))
    await expect(Ack)
    writer.write(encode(Nick(f"{HOSTILE_NICK}2")))
    writer.write(encode(Bye(f"{HOSTILE_NICK} \x1b[31mbye")))
    await writer.drain()
    writer.close()


def test_peer_markup_and_control_characters_print_literally(tmp_path):
    bob = PlainProcess(tmp_path / "bob", "--port", "0", "--nickname", "bob", "--no-tls")
    try:
        asyncio.run(hostile_peer(listening_port(bob)))
        bob.wait_line(r" left \(")
        shown = "\n".join(bob.lines)
        assert f"* connected to {HOSTILE_NICK} at 127.0.0.1:" in shown
        assert f"<{HOSTILE_NICK}> {SHOWN_BODY}" in shown
        assert f"* {HOSTILE_NICK} is now known as {HOSTILE_NICK}2" in shown
        assert f"* {HOSTILE_NICK}2 left ({HOSTILE_NICK} \\x1b[31mbye)" in shown
        unsafe = [c for c in shown if (c < " " and c != "\n") or "\x7f" <= c <= "\x9f" or c == "\u202e"]
        assert unsafe == [], unsafe
    finally:
        bob.stop()


def test_plain_mode_says_the_address_for_the_peer_and_info_repeats_it(spawn):
    alice = spawn("alice", "--port", "0")
    port = alice.port()
    said = alice.wait_line(r"\* your address for your peer: (p2pchat://\S+)")
    assert f":{port}/" in said[1]
    alice.type("/info")
    assert alice.wait_line(r"your address: (\S+)")[1] == said[1]


def test_plain_mode_says_once_that_a_message_typed_with_no_peer_waits(spawn):
    alice = spawn("alice", "--port", "0")
    alice.port()
    alice.type("first", "second")
    alice.wait_line(r"\* no peer is connected: messages are kept and go out once a chat is up")
    bob = spawn("bob", "--connect", f"127.0.0.1:{alice.port()}")
    assert bob.wait_line(r"<alice> second")
    assert sum("no peer is connected" in line for line in alice.lines) == 1
