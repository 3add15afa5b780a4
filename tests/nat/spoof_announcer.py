"""Announce p2pchat services on the LAN that lie or make no sense, until killed.

    python spoof_announcer.py ADDRESS PORT NICKNAME FINGERPRINT

One announcement claims NICKNAME and FINGERPRINT at ADDRESS:PORT (where another key answers);
the others carry malformed TXT records that every listener must skip.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from p2pchat.protocol.lan import SERVICE_TYPE

MALFORMED = [
    {b"v": b"1", b"nick": b"\xff\xfe\xfd", b"fp": b"A" * 52},
    {b"v": b"1", b"nick": b"no fingerprint"},
    {b"v": b"1", b"nick": b"bad fp", b"fp": b"not-a-fingerprint"},
    {b"v": b"9", b"nick": b"future", b"fp": b"B" * 52},
    {b"v": b"1", b"nick": b"\x1b[31mred\x07", b"fp": b"C" * 52},
    {b"v": b"1", b"nick": None, b"fp": None},
    {b"garbage": b"\x00" * 200},
]


async def main(address: str, port: int, nickname: str, fingerprint: str) -> None:
    zc = AsyncZeroconf(interfaces=[address])
    packed = [socket.inet_aton(address)]
    services = [AsyncServiceInfo(SERVICE_TYPE, f"spoof.{SERVICE_TYPE}", port=port, addresses=packed,
                                 properties={"v": "1", "nick": nickname, "fp": fingerprint},
                                 server="spoof.local.")]
    services += [AsyncServiceInfo(SERVICE_TYPE, f"junk{n}.{SERVICE_TYPE}", port=port, addresses=packed,
                                  properties=txt, server="spoof.local.") for n, txt in enumerate(MALFORMED)]
    for info in services:
        await zc.async_register_service(info)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
