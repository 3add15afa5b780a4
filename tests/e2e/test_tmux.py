"""Two real full-screen p2pchat processes in tmux: they connect, chat both ways, and
each message appears on the other screen."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pane:
    def __init__(self, name: str, command: str, env: dict[str, str]) -> None:
        self.name = name
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "100", "-y", "30", f"env {exports} {command}"],
            check=True,
        )

    def screen(self) -> str:
        result = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return result.stdout

    def type(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on {self.name}:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def panes(tmp_path):
    made: list[Pane] = []

    def start(nickname: str, *args: str) -> Pane:
        home = tmp_path / nickname
        env = {"P2PCHAT_HOME": str(home), "P2PCHAT_ACCEPT_UNKNOWN": "always",
               "P2PCHAT_PORT_MAPPING": "false", "P2PCHAT_DISCOVERABLE": "false", "P2PCHAT_STUN": "", "P2PCHAT_RELAY": "", "P2PCHAT_RENDEZVOUS": "",
               "TERM": "xterm-256color",
               # A pane gets the tmux server's environment, not ours: name the code under test.
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        command = f"{sys.executable} -m p2pchat --nickname {nickname} " + " ".join(args)
        pane = Pane(f"p2pchat-{nickname}-{uuid.uuid4().hex[:6]}", command, env)
        made.append(pane)
        return pane

    yield start
    for pane in made:
        pane.close()


def connected_pair(panes):
    """Alice listening on a free port, Bob dialing her; returns both once each sees the other."""
    port = free_port()
    alice = panes("Alice", "--port", str(port))
    alice.wait_for(f"port {port}")
    bob = panes("Bob", "--port", "0", "--connect", f"127.0.0.1:{port}")
    alice.wait_for("connected to Bob")
    bob.wait_for("connected to Alice")
    return alice, bob


@pytest.mark.timeout(90)
def test_two_apps_chat_both_ways(panes):
    alice, bob = connected_pair(panes)

    alice.type("hello bob, [red]literal[/red]", "Enter")
    screen = bob.wait_for("hello bob, [red]literal[/red]")
    assert "Alice" in screen
    bob.type("hi alice", "Enter")
    alice.wait_for("hi alice")
    alice.wait_for("✓✓")  # delivered mark on Alice's own message

    bob.type("C-q")
    alice.wait_for("Bob left")


@pytest.mark.timeout(90)
def test_a_file_offer_waits_while_the_peer_types(panes, tmp_path):
    video = tmp_path / "big holiday.mkv"
    video.write_bytes(b"\0" * (4 * 2**20))
    alice, bob = connected_pair(panes)

    bob.type("ok m")
    bob.wait_for("ok m")
    alice.type("/send '" + str(video) + "'", "Enter")
    bob.wait_for("F2 to answer")
    bob.type("ate", "Enter")
    alice.wait_for("ok mate")  # nothing Bob typed was taken by the offer
    screen = bob.wait_for("offered")
    assert "Incoming file" not in screen
    bob.type("F2")
    bob.wait_for("Incoming file")
    bob.type("Enter")  # Accept, chosen in the dialog Bob opened
    bob.wait_for("received to")
    received = tmp_path / "Bob" / "downloads" / "big holiday.mkv"
    assert received.stat().st_size == video.stat().st_size


@pytest.mark.timeout(60)
def test_lines_typed_in_one_burst_arrive_apart(panes):
    alice, bob = connected_pair(panes)
    keys = []
    for number in range(1, 9):
        keys += [f"burst {number}", "Enter"]
    alice.type(*keys)
    lines = [line.rstrip() for line in bob.wait_for("burst 8").splitlines()]
    for number in range(1, 9):
        assert any(line.endswith(f"Alice: burst {number}") for line in lines), lines


@pytest.mark.timeout(60)
def test_lines_joined_by_ctrl_j_in_one_burst_stay_whole_and_in_order(panes):
    alice, bob = connected_pair(panes)
    # \n arrives as ctrl+j, with the text: the keys after the first one reach the message box
    # and the draft that takes over from it, and must all land in the draft in typed order.
    alice.type("-l", "alpha one\nalpha two goes on\nalpha three goes further\nalpha four")
    alice.wait_for("Multi-line")
    alice.type("Enter")
    screen = bob.wait_for("alpha four")
    lines = [line.strip() for line in screen.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.endswith("Alice: alpha one"))
    assert lines[start + 1 : start + 4] == ["alpha two goes on", "alpha three goes further", "alpha four"], lines


@pytest.mark.timeout(60)
def test_a_port_from_the_settings_file_still_opens_the_connect_screen(panes, tmp_path):
    port = free_port()
    (tmp_path / "Carol" / "config").mkdir(parents=True)
    (tmp_path / "Carol" / "config" / "config.toml").write_text(f"port = {port}\n")
    carol = panes("Carol")
    screen = carol.wait_for("Start a chat")
    assert f"Listen on port  {port}" in screen


@pytest.mark.timeout(120)
def test_text_pasted_as_keystrokes_lands_whole_and_the_connection_holds(panes, tmp_path):
    """Without bracketed paste a terminal types a paste key by key: 20 KB of it lands in the
    message box in bursts, the event loop keeps serving the connection meanwhile, and Enter
    sends the line whole."""
    alice, bob = connected_pair(panes)
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
    text = " ".join(words[n % len(words)] + str(n) for n in range(2600))[:19_990] + " ~end~"
    subprocess.run(["tmux", "load-buffer", "-b", bob.name, "-"], input=text.encode(), check=True)
    subprocess.run(["tmux", "paste-buffer", "-d", "-b", bob.name, "-t", bob.name], check=True)  # no -p: keys
    bob.wait_for("~end~", timeout=60)  # key by key this took minutes
    bob.type("Enter")
    alice.wait_for("~end~", timeout=30)
    for pane in (alice, bob):
        assert "connection lost" not in pane.screen()
    (history,) = (tmp_path / "Alice").rglob("history.sqlite3")
    with sqlite3.connect(history) as db:
        received = [body for (body,) in db.execute("SELECT body FROM messages WHERE direction = 'in'")]
    assert received == [text]
