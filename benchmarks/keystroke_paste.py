"""Text that arrives as keystrokes (an unbracketed paste): how long until it is all in the box.

    python benchmarks/keystroke_paste.py [--kb N] [--timeout S] [--only bare|p2pchat]
                                         [--profile DIR] [--py-spy DIR]

Some terminals and SSH setups paste by typing: every character is a key. This starts, each in
its own tmux pane (80x24), a bare Textual app with one `Input` (the baseline: Textual's own cost
per key) and then p2pchat connected to a second p2pchat on 127.0.0.1, and pastes N KB into
each with `tmux paste-buffer` without `-p` (no bracketed-paste markers: the app sees keys).
It prints the seconds until the end of the text shows in the box, the peak RSS of the process
that was typed into, and for p2pchat whether the connection lived through it (the peer would
say `no heartbeat`) and whether the line, sent with Enter, arrived whole (text over the
message limit is not sent).

--profile DIR runs each typed-into app under cProfile and leaves DIR/<name>.prof (main thread
only); --py-spy DIR samples every thread of it with py-spy (if installed) while the text comes
in and leaves DIR/<name>.txt (collapsed stacks).
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from p2pchat.protocol.frames import MAX_TEXT_BYTES  # noqa: E402

SIZE = ("80", "24")
END = "~end~"  # the text ends with this; it shows in the box only once the last key is in
BARE_APP = """
from textual.app import App
from textual.widgets import Input
class Bare(App):
    def compose(self):
        yield Input(placeholder="bare input ready")
Bare().run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pasted_text(size: int) -> str:
    """`size` characters of words and spaces, the same each run, ending with END."""
    rng = random.Random(size)
    words: list[str] = []
    length = 0
    while length < size - len(END):
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 9)))
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[: size - len(END) - 1] + " " + END


class Pane:
    """One program in a tmux session of its own."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.name = f"keypaste-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        command = "exec env " + exports + " " + " ".join(map(shlex.quote, argv))
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", SIZE[0], "-y", SIZE[1], command],
                       check=True)  # fmt: skip
        pid = subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        self.pid = int(pid)

    def screen(self) -> str:
        result = subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.name], capture_output=True, text=True)
        return result.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def paste_as_keys(self, text: str) -> None:
        buffer = self.name
        subprocess.run(["tmux", "load-buffer", "-b", buffer, "-"], input=text.encode(), check=True)
        subprocess.run(["tmux", "paste-buffer", "-d", "-b", buffer, "-t", self.name], check=True)  # no -p

    def wait_for(self, text: str, timeout: float, watch: Memory | None = None) -> float | None:
        """Seconds until `text` is on the screen, None if it never came."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if watch is not None:
                watch.sample()
            if text in self.screen():
                return time.monotonic() - start
            time.sleep(0.05)
        return None

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


class Memory:
    """The peak resident size of one process (the kernel's high-water mark)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0

    def sample(self) -> None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def rss_kib(self) -> int:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


@dataclass
class Tools:
    """What to run the typed-into app under."""

    profile: Path | None = None  # cProfile output folder
    spy: Path | None = None  # py-spy output folder

    def python(self, name: str) -> list[str]:
        if self.profile is None:
            return [sys.executable]
        return [sys.executable, "-m", "cProfile", "-o", str(self.profile / f"{name}.prof")]


def type_into(pane: Pane, name: str, text: str, timeout: float, tools: Tools) -> dict[str, object]:
    """Paste `text` as keys into `pane`; seconds until its end shows, and the memory it took."""
    memory = Memory(pane.pid)
    memory.sample()
    spy = None
    if tools.spy is not None:
        spy = subprocess.Popen(["py-spy", "record", "--pid", str(pane.pid), "--threads", "--format", "raw",
                                "--rate", "200", "--nonblocking", "-o", str(tools.spy / f"{name}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(1)  # attached before the first key
    before = memory.rss_kib()
    pane.paste_as_keys(text)
    seconds = pane.wait_for(END, timeout, memory)
    memory.sample()
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        spy.wait()
    return {"seconds": seconds, "rss_before_kib": before, "peak_kib": memory.peak_kib}


def quit_for_profile(pane: Pane, tools: Tools) -> None:
    if tools.profile is not None:  # cProfile writes its file when the app exits
        pane.keys("C-q")
        wait_gone(pane.pid)


def bare_input(text: str, timeout: float, tools: Tools) -> dict[str, object]:
    script = Path(tempfile.mkdtemp(prefix="keypaste-")) / "bare_input.py"  # cProfile runs files only
    script.write_text(BARE_APP)
    pane = Pane([*tools.python("bare"), str(script)], {"TERM": "xterm-256color"})
    try:
        if pane.wait_for("bare input ready", 20) is None:
            raise RuntimeError(f"the bare app did not start:\n{pane.screen()}")
        result = type_into(pane, "bare", text, timeout, tools)
        quit_for_profile(pane, tools)
        return result
    finally:
        pane.close()


def p2pchat_pair(text: str, timeout: float, tools: Tools, home: Path) -> dict[str, object]:
    port = free_port()
    env = {
        "P2PCHAT_ACCEPT_UNKNOWN": "always", "P2PCHAT_PORT_MAPPING": "false", "P2PCHAT_DISCOVERABLE": "false",
        "P2PCHAT_STUN": "", "P2PCHAT_RELAY": "", "P2PCHAT_RENDEZVOUS": "", "TERM": "xterm-256color",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }  # fmt: skip
    alice = Pane([sys.executable, "-m", "p2pchat", "--nickname", "Alice", "--port", str(port)],
                 {**env, "P2PCHAT_HOME": str(home / "alice")})  # fmt: skip
    bob: Pane | None = None
    try:
        if alice.wait_for(f"port {port}", 30) is None:
            raise RuntimeError(f"Alice did not start:\n{alice.screen()}")
        bob = Pane([*tools.python("p2pchat"), "-m", "p2pchat", "--nickname", "Bob", "--port", "0",
                    "--connect", f"127.0.0.1:{port}"], {**env, "P2PCHAT_HOME": str(home / "bob")})  # fmt: skip
        if bob.wait_for("connected to Alice", 30) is None or alice.wait_for("connected to Bob", 10) is None:
            raise RuntimeError(f"no connection:\n{alice.screen()}\n{bob.screen()}")
        result = type_into(bob, "p2pchat", text, timeout, tools)
        result["connection_lost"] = any("connection lost" in pane.screen() for pane in (alice, bob))
        result["arrived_whole"] = None
        if result["seconds"] is not None and len(text.encode()) <= MAX_TEXT_BYTES:
            bob.keys("Enter")
            if alice.wait_for(END, 30) is not None:
                result["arrived_whole"] = received_whole(home / "alice", text)
        quit_for_profile(bob, tools)
        return result
    finally:
        for pane in (alice, bob):
            if pane is not None:
                pane.close()


def received_whole(home: Path, text: str) -> bool:
    """Whether the message store under `home` holds exactly `text` as a received message."""
    for db in home.rglob("*.sqlite3"):
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT body FROM messages WHERE direction = 'in'").fetchall()
        if any(body == text for (body,) in rows):
            return True
    return False


def wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)


def show(name: str, result: dict[str, object], kb: float) -> None:
    seconds = result["seconds"]
    took = f"{seconds:7.2f} s" if isinstance(seconds, float) else "  never (timed out)"
    line = (f"{name:22} {kb:g} KB as keys: all in the box after {took}; RSS before "
            f"{result['rss_before_kib'] / 1024:5.0f} MiB, peak {result['peak_kib'] / 1024:5.0f} MiB")  # type: ignore[operator]  # fmt: skip
    if "connection_lost" in result:
        line += "; connection " + ("LOST" if result["connection_lost"] else "kept")
        line += "; sent line " + {True: "arrived whole", False: "arrived CHANGED", None: "not sent"}[
            result["arrived_whole"]  # type: ignore[index]
        ]
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=float, default=20, help="kilobytes to type (default 20)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the text")
    parser.add_argument("--profile", type=Path, help="write cProfile output here")
    parser.add_argument("--py-spy", type=Path, dest="spy", help="write py-spy samples here")
    parser.add_argument("--only", choices=("bare", "p2pchat"), help="run one of the two")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("needs tmux")
    tools = Tools(args.profile, args.spy)
    for folder in (args.profile, args.spy):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    text = pasted_text(int(args.kb * 1000))
    if args.only != "p2pchat":
        show("bare Textual Input", bare_input(text, args.timeout, tools), args.kb)
    if args.only != "bare":
        with tempfile.TemporaryDirectory(prefix="p2pchat-keypaste-") as home:
            show("p2pchat", p2pchat_pair(text, args.timeout, tools, Path(home)), args.kb)


if __name__ == "__main__":
    main()
