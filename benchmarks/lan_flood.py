"""Event-loop CPU that a LAN flooding p2pchat announcements costs the session: N distinct
announcements go through the discovery code and the session's LAN view (as resolved mDNS
records would), with the caps p2pchat uses, and in the same run with the caps lifted (every
announcement kept and reported at once, as before they existed).

    python benchmarks/lan_flood.py [--count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import time

from loguru import logger

from p2pchat.net import discovery
from p2pchat.net.discovery import LanService
from p2pchat.reach.lan import LanPeers


def fingerprint(n: int) -> str:
    return base64.b32encode(hashlib.sha256(str(n).encode()).digest()).decode().rstrip("=")


async def flood(count: int) -> tuple[float, int]:
    peers = LanPeers(fingerprint(-1), lambda fp: fp.startswith("A"), lambda found: None)
    services = [LanService(f"p2pchat-{n}._p2pchat._tcp.local.", f"n{n}", fingerprint(n), ("192.0.2.1",), 7000)
                for n in range(count)]
    started = time.process_time()
    for service in services:
        peers._discovery.found(service)
        await asyncio.sleep(0)  # records arrive one by one, each in its own loop turn
    await asyncio.sleep(discovery.SETTLE * 2)
    return time.process_time() - started, len(peers.peers())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    count = parser.parse_args().count
    logger.remove()
    capped, kept = asyncio.run(flood(count))
    discovery.MAX_SERVICES, discovery.SETTLE = 10**9, 0.0
    uncapped, kept_all = asyncio.run(flood(count))
    print(f"{count} announcements: capped {capped:.3f} s CPU ({kept} kept); "
          f"uncapped {uncapped:.3f} s CPU ({kept_all} kept)")


if __name__ == "__main__":
    main()
