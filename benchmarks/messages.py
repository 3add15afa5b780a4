"""Chat message latency and throughput between two real sessions on loopback.

Round trip: `send_text` on one side until the peer's ACK comes back (`MessageDelivered`),
one message at a time. Throughput: a burst of messages one way, timed until the
receiver has shown them all. Both are compared with a raw asyncio baseline in the
same process: StreamReader/StreamWriter echo (round trip) and length-prefixed
messages one way (throughput), over TCP and over TLS with the same certificates.

    python benchmarks/messages.py [--count 2000] [--burst 5000] [--size 100] [--history]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import tempfile
import time
from pathlib import Path

from loguru import logger

from p2pchat.identity import Identity
from p2pchat.net.tls import client_context, server_context
from p2pchat.paths import Paths
from p2pchat.session import Session
from p2pchat.session.events import Connected, MessageDelivered, MessageReceived
from p2pchat.settings import Settings


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the session ------------------------------------------------------------------------


async def session_pair(root: Path, tls: bool, history: bool):
    waiters: dict[str, asyncio.Future] = {}
    received = {"count": 0, "target": 0, "done": None}

    def on_alice(event):
        if isinstance(event, MessageDelivered) and event.id in waiters:
            waiters.pop(event.id).set_result(time.perf_counter())
        elif isinstance(event, Connected):
            connected[0].set()

    def on_bob(event):
        if isinstance(event, MessageReceived):
            received["count"] += 1
            if received["count"] == received["target"]:
                received["done"].set_result(time.perf_counter())
        elif isinstance(event, Connected):
            connected[1].set()

    connected = (asyncio.Event(), asyncio.Event())
    sessions = []
    for name, handler in (("alice", on_alice), ("bob", on_bob)):
        base = root / f"{name}-{tls}"
        settings = Settings(nickname=name, port=0, bind="127.0.0.1", tls=tls,
                            accept_unknown="always", save_history=history, relay="", rendezvous="")
        paths = Paths(base / "c", base / "d", base / "l", base / "dl")
        sessions.append(Session(settings, paths=paths, on_event=handler, interactive=False))
    alice, bob = sessions
    await alice.start()
    await bob.start()
    await bob.connect(f"127.0.0.1:{alice.listening_port}")
    await asyncio.wait_for(asyncio.gather(connected[0].wait(), connected[1].wait()), 20)
    return alice, bob, waiters, received


async def session_round_trips(alice, waiters, count: int, body: str) -> list[float]:
    samples = []
    loop = asyncio.get_running_loop()
    for _ in range(count):
        started = time.perf_counter()
        future = loop.create_future()
        message_id = alice.send_text(body)
        waiters[message_id] = future
        samples.append(await future - started)
    return samples


async def session_burst(alice, received, burst: int, body: str) -> float:
    received["count"], received["target"] = 0, burst
    received["done"] = asyncio.get_running_loop().create_future()
    started = time.perf_counter()
    for _ in range(burst):
        alice.send_text(body)
    finished = await asyncio.wait_for(received["done"], 120)
    await alice.wait_delivered(30)
    return burst / (finished - started)


# -- the raw baseline -----------------------------------------------------------------------


async def raw_pair(tls: bool, identity_dir: Path):
    server_ctx = client_ctx = None
    if tls:
        identity = Identity.load_or_create(identity_dir)
        server_ctx, client_ctx = server_context(identity), client_context(identity)
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()
    server = await asyncio.start_server(
        lambda r, w: accepted.set_result((r, w)), "127.0.0.1", 0, ssl=server_ctx
    )
    port = server.sockets[0].getsockname()[1]
    client = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_ctx, server_hostname="p2pchat" if tls else None
    )
    return server, client, await accepted


async def raw_round_trips(client, far, count: int, payload: bytes) -> list[float]:
    (reader, writer), (far_reader, far_writer) = client, far
    size = len(payload)

    async def echo():
        for _ in range(count):
            far_writer.write(await far_reader.readexactly(size))

    echoing = asyncio.create_task(echo())
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        writer.write(payload)
        await reader.readexactly(size)
        samples.append(time.perf_counter() - started)
    await echoing
    return samples


async def raw_burst(client, far, burst: int, payload: bytes) -> float:
    (_, writer), (far_reader, _) = client, far
    framed = struct.pack(">I", len(payload)) + payload
    started = time.perf_counter()

    async def receive():
        for _ in range(burst):
            (length,) = struct.unpack(">I", await far_reader.readexactly(4))
            await far_reader.readexactly(length)
        return time.perf_counter()

    receiving = asyncio.create_task(receive())
    for _ in range(burst):
        writer.write(framed)
        await writer.drain()
    return burst / (await receiving - started)


# -- report -----------------------------------------------------------------------------------


async def measure(args) -> list[tuple]:
    rows = []
    body = "x" * args.size
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for tls in (True, False):
            label = "TLS" if tls else "plain"
            alice, bob, waiters, received = await session_pair(root, tls, args.history)
            await session_round_trips(alice, waiters, 200, body)  # warm up
            rtt = await session_round_trips(alice, waiters, args.count, body)
            rate = await session_burst(alice, received, args.burst, body)
            await alice.quit()
            await bob.quit()

            server, client, far = await raw_pair(tls, root / "raw-identity")
            frame_size = len(body) + 100  # a TEXT frame is about 100 bytes of JSON around the body
            await raw_round_trips(client, far, 200, b"y" * frame_size)
            base_rtt = await raw_round_trips(client, far, args.count, b"y" * frame_size)
            base_rate = await raw_burst(client, far, args.burst, b"y" * frame_size)
            for w in (client[1], far[1]):
                w.close()
            server.close()
            rows.append((label, rtt, rate, base_rtt, base_rate))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="round trips to time")
    parser.add_argument("--burst", type=int, default=5000, help="messages in the throughput burst")
    parser.add_argument("--size", type=int, default=100, help="message body bytes")
    parser.add_argument("--history", action="store_true", help="save history (sqlite) as users do")
    args = parser.parse_args()
    logger.remove()  # the app logs to a file; a benchmark logs nowhere
    rows = asyncio.run(measure(args))
    ms = 1000
    print(f"{args.size}-byte messages, {args.count} round trips, burst of {args.burst}, "
          f"history {'on' if args.history else 'off'}")
    print(f"{'':6} {'':10} {'median ms':>10} {'p99 ms':>8} {'msg/s one way':>14}")
    for label, rtt, rate, base_rtt, base_rate in rows:
        print(f"{label:6} {'p2pchat':10} {statistics.median(rtt) * ms:10.3f} "
              f"{percentile(rtt, 0.99) * ms:8.3f} {rate:14,.0f}")
        print(f"{'':6} {'raw asyncio':10} {statistics.median(base_rtt) * ms:10.3f} "
              f"{percentile(base_rtt, 0.99) * ms:8.3f} {base_rate:14,.0f}")
        print(f"{'':6} {'ratio':10} {statistics.median(rtt) / statistics.median(base_rtt):10.2f} "
              f"{percentile(rtt, 0.99) / percentile(base_rtt, 0.99):8.2f} "
              f"{base_rate / rate:13.2f}x slower")


if __name__ == "__main__":
    main()
