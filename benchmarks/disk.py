"""What a durable download costs on a file system: the disk's flush rate by stretch, and the
receiver's write-behind (transfer/writeback.py) against the file arriving at a given rate.

    python benchmarks/disk.py [--dir /var/tmp] [--size 256MiB] [--rate 450] [--runs 3]

First, 1 MiB writes with an fdatasync after each stretch of 4-64 MiB, serially: each fdatasync
also flushes the disk's cache, so short stretches flush slowly. Then the write-behind as the
receiver runs it, with the file arriving at `--rate` MiB/s (0: as fast as the writes go), beside
its earlier setting (8 MiB stretches, no writeback started between them): the time until the
file is durable (final fsync included) and that final fsync alone. The ideal is size / rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchat.transfer import writeback  # noqa: E402

MIB = 1 << 20


def flush_rates(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    for stretch in (4, 8, 16, 32, 64):
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        syncs = []
        for n in range(size // MIB):
            os.write(fd, block)
            if (n + 1) % stretch == 0:
                start = time.perf_counter()
                os.fdatasync(fd)
                syncs.append(time.perf_counter() - start)
        os.close(fd)
        path.unlink()
        median = statistics.median(syncs)
        print(f"fdatasync after each {stretch:2d} MiB: median {median * 1000:5.1f} ms, "
              f"{stretch / median:4.0f} MiB/s flushed", flush=True)


def write_behind(path: Path, size: int, rate: float, stretch: int, start_every: int) -> tuple[float, float]:
    """Seconds until `size` bytes arriving at `rate` MiB/s are durable, and the final fsync's."""
    writeback.START_EVERY = start_every
    block = os.urandom(MIB)
    with open(path, "w+b") as file:
        behind = writeback.WriteBehind(file, 0, stretch)
        began = time.perf_counter()
        for n in range(size // MIB):
            if rate:
                due = began + (n + 1) / rate
                while time.perf_counter() < due:
                    time.sleep(0.0002)
            file.write(block)
            behind.written((n + 1) * MIB)
        last = time.perf_counter()
        behind.close()
        file.flush()
        os.fsync(file.fileno())
        done = time.perf_counter()
    path.unlink()
    return done - began, done - last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/var/tmp", help="a directory on the file system to measure")
    parser.add_argument("--size", type=int, default=256, help="MiB (default 256)")
    parser.add_argument("--rate", type=float, default=450, help="arrival rate in MiB/s (default 450; 0: unpaced)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = Path(args.dir) / f"p2pchat-disk-{os.getpid()}.bin"
    size = args.size * MIB
    print(f"{args.dir}, {args.size} MiB, load average {os.getloadavg()[0]:.1f}", flush=True)
    flush_rates(path, size)
    settings = {"now": (writeback.STRETCH, writeback.START_EVERY), "before": (8 * MIB, 1 << 62)}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
    for _ in range(args.runs):  # interleaved, so load hits both alike
        for name, (stretch, start_every) in settings.items():
            results[name].append(write_behind(path, size, args.rate, stretch, start_every))
    ideal = args.size / args.rate if args.rate else 0
    for name, runs in results.items():
        stretch, start_every = settings[name]
        started = f"writeback started every {start_every // MIB} MiB" if start_every < 1 << 40 else "no writeback started"
        print(f"write-behind {name:6} ({stretch // MIB} MiB stretches, {started}): durable after "
              f"{', '.join(f'{total:.2f}' for total, _ in runs)} s (ideal {ideal:.2f}), final fsync "
              f"{', '.join(f'{final * 1000:.0f}' for _, final in runs)} ms")


if __name__ == "__main__":
    main()
