"""Routers that answer wrongly, on loopback: an SSDP responder, an HTTP server for the IGD
description, and a NAT-PMP gateway, each saying what the test tells it to."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, reply: Callable[[bytes], list[bytes]]) -> None:
        self.reply = reply
        self.requests: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.requests.append(data)
        for answer in self.reply(data):
            self.transport.sendto(answer, addr)


async def udp_server(reply: Callable[[bytes], list[bytes]]) -> tuple[asyncio.DatagramTransport, _Udp, int]:
    """A UDP server on 127.0.0.1 that answers each datagram with `reply(data)`."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Udp(reply), local_addr=("127.0.0.1", 0))
    return transport, protocol, transport.get_extra_info("sockname")[1]


def ssdp_answer(location: str | None) -> bytes:
    lines = ["HTTP/1.1 200 OK", "CACHE-CONTROL: max-age=120",
             "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1",
             "USN: uuid:00000000-0000-4000-8000-000000000001::urn:schemas-upnp-org:device:InternetGatewayDevice:1"]
    if location is not None:
        lines.append(f"LOCATION: {location}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def http_server(body: bytes, status: str = "200 OK") -> tuple[asyncio.Server, int]:
    """Answers every request with `body` (as XML) and closes."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def natpmp_gateway(external: bytes = bytes([203, 0, 113, 11]), lifetime: int | None = None):
    """A reply function for `udp_server`: a NAT-PMP gateway that maps whatever it is asked."""
    def reply(data: bytes) -> list[bytes]:
        if data == b"\x00\x00":
            return [struct.pack("!BBHI", 0, 128, 0, 1) + external]
        version, op, _, internal, external_port, asked = struct.unpack("!BBHHHI", data)
        granted = asked if lifetime is None else lifetime
        return [struct.pack("!BBHIHHI", 0, 130, 0, 1, internal, external_port if asked else 0, granted)]
    return reply
