"""Start-up of the real app with port mapping and LAN discovery on, against both off.

    sudo python benchmarks/startup.py [--runs 5] [--netns NAME] [--tmux-only] [--size 80x24]

First, in tmux: `p2pchat --port 0` in a fresh 80x24 window, the clock started by the shell
that then execs it; the pane is read every 10 ms until it says "listening" (the time a user
waits before the app can be reached and can say where: the line the command prints once the
socket is bound, before the window opens) and until the window's first frame says so too,
interleaved with a one-widget Textual app whose first frame says "listening" (Textual's floor,
in the same run). With
`--tmux-only` that is all, in a namespace of its own with only a loopback (unless `--netns`).
Then headless:

each run is a fresh `python` process that builds the full-screen app with a real session
(headless) and reports when its first frame is drawn; the time counts from the process
start, imports included. It then watches the event loop for 3 s and reports its longest
stall (what a user would feel as a frozen screen while the router and the LAN are asked).
It runs inside a network namespace so that no SSDP or mDNS leaves for a real network: by
default a home of the NAT lab (tests/nat) behind a real miniupnpd router, built for the run;
`--netns NAME` names one of your own instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import asyncio, json, sys, time
from p2pchat.log import setup_logging
from p2pchat.paths import get_paths
from p2pchat.settings import Settings
from p2pchat.ui.app import ChatApp

async def main(on):
    settings = Settings(nickname="bench", port=0, save_history=False, port_mapping=on, discoverable=on,
                        relay="", rendezvous="")
    setup_logging(settings, get_paths())
    app = ChatApp(settings, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        frame = asyncio.get_running_loop().create_future()
        app.call_after_refresh(lambda: frame.done() or frame.set_result(None))
        await frame
        print("frame", flush=True)
        loop, worst, end = asyncio.get_running_loop(), 0.0, time.perf_counter() + 3
        while time.perf_counter() < end:
            before = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - before - 0.01)
        print(json.dumps({"stall": worst, "info": app.session.info() if app.session else {}}), flush=True)
        await app.session.quit()

asyncio.run(main(sys.argv[1] == "on"))
"""


def one_run(on: bool, netns: str | None) -> tuple[float, float, dict]:
    env = dict(os.environ, P2PCHAT_HOME=tempfile.mkdtemp(prefix="p2pchat-startup-"), P2PCHAT_RELAY="",
               P2PCHAT_RENDEZVOUS="")  # no public server from a benchmark
    command = [sys.executable, "-c", CHILD, "on" if on else "off"]
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    child.stdout.readline()  # the first frame is drawn
    frame = time.perf_counter() - start
    second = json.loads(child.stdout.readline())
    child.wait(30)
    return frame, second["stall"], second["info"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--netns", help="network namespace to run the app in (default: a NAT lab home)")
    parser.add_argument("--tmux-only", action="store_true", help="only the time to 'listening' in tmux")
    parser.add_argument("--size", default="80x24", help="the tmux window, COLUMNSxROWS (default 80x24)")
    args = parser.parse_args()
    global WINDOW
    WINDOW = tuple(args.size.split("x"))
    # As installed by pip, whose install compiles every module: with PYTHONDONTWRITEBYTECODE
    # (set on some CI and dev machines) each start would compile p2pchat's modules anew.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "p2pchat")], check=True,
                   stdout=subprocess.DEVNULL)
    if args.tmux_only:
        netns = args.netns or f"p2pchat-startup-{os.getpid()}"
        if not args.netns:  # nothing but a loopback: no SSDP or mDNS leaves the machine
            subprocess.run(["ip", "netns", "add", netns], check=True)
            subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True)
        try:
            listening_times(args.runs, netns)
        finally:
            if not args.netns:
                subprocess.run(["ip", "netns", "delete", netns], check=False)
        return
    if args.netns:
        compare(args.runs, args.netns)
        return
    sys.path[:0] = [str(ROOT / "tests" / "nat"), str(ROOT)]
    from homes import UPNP_HOME, Home, StunServer
    from lab import NatLab

    lab = NatLab().create()
    stun = StunServer(lab)
    home = Home(lab, UPNP_HOME, machines=1, upnp=True)
    try:
        compare(args.runs, home.create().machines[0])
    finally:
        home.destroy()
        stun.stop()
        lab.destroy()


# Textual's floor: a one-widget app whose first frame says "listening".
FLOOR = """
from textual.app import App
from textual.widgets import Static

class Floor(App):
    def compose(self):
        yield Static("listening")

Floor().run()
"""
WINDOW = ("80", "24")


def listening_in_tmux(on: bool | None, netns: str, home: str) -> tuple[float, float]:
    """Seconds from the exec of `p2pchat --port 0` in tmux (None: of the floor app) to the
    pane first saying "listening", and to the window's frame saying so."""
    server = f"p2pchat-startup-{os.getpid()}"
    started = Path(home) / "started"
    started.unlink(missing_ok=True)
    if on is None:
        floor = Path(home) / "floor.py"
        floor.write_text(FLOOR)
        program = shlex.quote(str(floor))
    else:
        args = ["--port", "0", "--nickname", "bench", "--no-history"]
        program = "-m p2pchat " + " ".join(args + ([] if on else ["--no-port-mapping", "--no-discovery"]))
    command = (f"date +%s.%N > {shlex.quote(str(started))}; "
               f"exec env P2PCHAT_HOME={shlex.quote(home)} PYTHONPATH={shlex.quote(str(ROOT))} "
               f"{shlex.quote(sys.executable)} {program}")
    tmux = ["ip", "netns", "exec", netns, "tmux", "-L", server]
    subprocess.run([*tmux, "-f", "/dev/null", "new-session", "-d", "-x", WINDOW[0], "-y", WINDOW[1], command], check=True)
    try:
        deadline = time.time() + 20
        said = None
        while time.time() < deadline:
            pane = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if "listening" in pane:
                seen = time.time() - float(started.read_text())
                said = said or seen
                if "opening the window" not in pane:  # the app's own frame, not the early line
                    return said, seen
            time.sleep(0.01)
        raise RuntimeError("no frame said 'listening' within 20 s")
    finally:
        subprocess.run([*tmux, "send-keys", "C-q"], capture_output=True)
        time.sleep(1)
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def listening_times(runs: int, netns: str) -> None:
    """Each run's time to a frame saying 'listening' in tmux, and the medians."""
    home = tempfile.mkdtemp(prefix="p2pchat-startup-")
    listening_in_tmux(False, netns, home)  # makes the identity, warms the file cache
    listening: dict[bool | None, list[tuple[float, float]]] = {None: [], True: [], False: []}
    for _ in range(runs):
        for on in (None, False, True):
            listening[on].append(listening_in_tmux(on, netns, home))
    shutil.rmtree(home, ignore_errors=True)
    for on in (None, False, True):
        label = {None: "one-widget Textual app", True: "mapping+discovery on ", False: "mapping+discovery off"}[on]
        for which, what in ((0, "the terminal says 'listening'"), (1, "the window says 'listening'")):
            if on is None and which == 0:
                continue
            times = [pair[which] for pair in listening[on]]
            print(f"{label}: in tmux, {what} after median {statistics.median(times) * 1000:4.0f} ms "
                  f"({', '.join(f'{t * 1000:.0f}' for t in times)})", flush=True)


def compare(runs: int, netns: str) -> None:
    if shutil.which("tmux"):
        listening_times(runs, netns)
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    last_info: dict = {}
    for _ in range(runs):
        for on in (False, True):  # alternate, so machine load hits both alike
            frame, stall, info = one_run(on, netns)
            results[on].append((frame, stall))
            if on:
                last_info = info
    for on in (False, True):
        frames = [f for f, _ in results[on]]
        stalls = [s for _, s in results[on]]
        label = "mapping+discovery on " if on else "mapping+discovery off"
        print(f"{label}: first frame median {statistics.median(frames) * 1000:6.0f} ms "
              f"(min {min(frames) * 1000:.0f}), longest loop stall in the next 3 s median "
              f"{statistics.median(stalls) * 1000:5.1f} ms (max {max(stalls) * 1000:.1f})")
    for key in ("port mapping", "local network"):
        if key in last_info:
            print(f"  {key}: {last_info[key]}")


if __name__ == "__main__":
    main()
