"""Connections per second over loopback, with p2pchat's TLS contexts and without.

Each connection: TCP connect (and the mutual TLS 1.3 handshake), one byte there and
back so both sides have finished, close. The listener runs in a child process so that
client and server each get a core, as two real peers would.

    python benchmarks/handshake.py [--seconds 3] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from p2pchat.identity import Identity
from p2pchat.net.tls import client_context, peer_fingerprint, server_context


async def serve(identity_dir: Path) -> None:
    identity = Identity.load_or_create(identity_dir)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(1))
        try:
            await writer.drain()
        finally:
            writer.close()

    plain = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=512)
    tls = await asyncio.start_server(
        echo, "127.0.0.1", 0, ssl=server_context(identity), backlog=512
    )
    ports = [s.sockets[0].getsockname()[1] for s in (plain, tls)]
    print(*ports, flush=True)
    # Serve until the parent closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def dial_loop(port: int, context, deadline: float, expected: str | None) -> int:
    done = 0
    while time.perf_counter() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        if expected is not None:
            assert peer_fingerprint(writer.get_extra_info("ssl_object")) == expected
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
        writer.close()
        await writer.wait_closed()
        done += 1
    return done


async def measure(port: int, context, seconds: float, concurrency: int, expected) -> float:
    await dial_loop(port, context, time.perf_counter() + 0.3, expected)  # warm up
    start = time.perf_counter()
    deadline = start + seconds
    counts = await asyncio.gather(
        *(dial_loop(port, context, deadline, expected) for _ in range(concurrency))
    )
    return sum(counts) / (time.perf_counter() - start)


async def main(seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server_dir, client_dir = Path(tmp, "server"), Path(tmp, "client")
        server_identity = Identity.load_or_create(server_dir)
        client = Identity.load_or_create(client_dir)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            str(server_dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
            plain_port, tls_port = map(int, line.split())
            plain_rate = await measure(plain_port, None, seconds, concurrency, None)
            tls_rate = await measure(
                tls_port, client_context(client), seconds, concurrency, server_identity.fingerprint
            )
        finally:
            child.stdin.close()
            await child.wait()
    print(f"loopback, {concurrency} dialer(s), {seconds:g} s each")
    print(f"plain TCP:          {plain_rate:8.0f} connections/s")
    print(f"TLS 1.3 (Ed25519):  {tls_rate:8.0f} connections/s")
    print(f"TLS / plain:        {tls_rate / plain_rate:8.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
    else:
        asyncio.run(main(args.seconds, args.concurrency))
