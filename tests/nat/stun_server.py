"""A minimal STUN server (RFC 5389 Binding only) for the NAT lab's internet.

miniupnpd asks one when its WAN address is in a reserved range (the lab's are RFC 5737
documentation addresses): the answer tells it the address is its own, so it maps ports.

    python stun_server.py HOST PORT [DELAY]

DELAY: seconds before each answer (a slow server), 0 by default.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading

MAGIC = 0x2112A442
BINDING_REQUEST, BINDING_RESPONSE = 0x0001, 0x0101
XOR_MAPPED_ADDRESS, MAPPED_ADDRESS = 0x0020, 0x0001


def answer(request: bytes, source: tuple[str, int]) -> bytes | None:
    if len(request) < 20:
        return None
    kind, _length, magic = struct.unpack("!HHI", request[:8])
    if kind != BINDING_REQUEST:
        return None
    transaction = request[8:20]
    host = socket.inet_aton(source[0])
    port = source[1]
    plain = struct.pack("!BBH", 0, 1, port) + host
    xored = struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + bytes(
        a ^ b for a, b in zip(host, struct.pack("!I", MAGIC), strict=True))
    attributes = (struct.pack("!HH", MAPPED_ADDRESS, 8) + plain
                  + (struct.pack("!HH", XOR_MAPPED_ADDRESS, 8) + xored if magic == MAGIC else b""))
    return struct.pack("!HHI", BINDING_RESPONSE, len(attributes), magic) + transaction + attributes


def main(host: str, port: int, delay: float = 0.0) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((host, port))
        print("ready", flush=True)
        while True:
            request, source = server.recvfrom(2048)
            reply = answer(request, source)
            if reply is not None:
                threading.Timer(delay, server.sendto, (reply, source)).start()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
