"""Asking STUN servers for our public address, over UDP from the listening port's number.

A port-preserving router gives a UDP flow and a TCP flow from the same local port the same
public port, so the answer stands for the TCP listener too. Both servers are asked at once from
one socket; each request is sent again after 0.5, 1 and 2 seconds (RFC 8489's schedule, cut
short), and a server that never answers only makes the verdict less certain.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from loguru import logger

from p2pchat.net.interfaces import local_addresses
from p2pchat.protocol.stun import (
    Mapping,
    PublicAddress,
    StunError,
    answer_to,
    binding_request,
    classify,
    new_transaction,
)

RETRANSMITS = (0.5, 1.0, 2.0)  # seconds before each further copy of a request


class _Answers(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[bytes, asyncio.Future] = {}

    def datagram_received(self, data: bytes, addr) -> None:
        for transaction, future in self.waiting.items():
            if future.done():
                continue
            try:
                mapped = answer_to(data, transaction)
            except StunError as exc:
                future.set_exception(exc)
                return
            if mapped is not None:
                future.set_result(mapped)
                return

    def error_received(self, exc: Exception) -> None:  # an ICMP unreachable: keep waiting
        logger.debug("STUN: {}", exc)


def _socket(local_port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("0.0.0.0", local_port))
    except OSError:
        sock.bind(("0.0.0.0", 0))  # the number is taken for UDP: still tells symmetric or not
    sock.setblocking(False)
    return sock


async def _ask(transport, answers: _Answers, server: tuple[str, int]) -> tuple[str, int] | None:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(server[0], server[1], family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError as exc:
        logger.info("STUN server {}:{}: {}", server[0], server[1], exc)
        return None
    address = infos[0][4]
    transaction = new_transaction()
    future = loop.create_future()
    answers.waiting[transaction] = future
    request = binding_request(transaction)
    try:
        for wait in RETRANSMITS:
            transport.sendto(request, address)
            with contextlib.suppress(asyncio.TimeoutError):
                return await asyncio.wait_for(asyncio.shield(future), wait)
        logger.info("STUN server {}:{} did not answer", server[0], server[1])
    except StunError as exc:
        logger.info("STUN server {}:{}: {}", server[0], server[1], exc)
    finally:
        answers.waiting.pop(transaction, None)
        future.cancel()
    return None


async def public_address(servers: list[tuple[str, int]], local_port: int) -> PublicAddress:
    """Our public address as the first two of `servers` see it, and the router's mapping."""
    if not servers:
        return PublicAddress(None, None, Mapping.UNKNOWN)
    loop = asyncio.get_running_loop()
    sock = _socket(local_port)
    transport, answers = await loop.create_datagram_endpoint(_Answers, sock=sock)
    try:
        bound = sock.getsockname()[1]
        results = await asyncio.gather(*(_ask(transport, answers, server) for server in servers[:2]))
    finally:
        transport.close()
    found = [result for result in results if result is not None]
    verdict = classify(bound, set(local_addresses()), found)
    if bound != local_port and verdict.mapping is Mapping.PRESERVING:
        verdict = PublicAddress(verdict.host, local_port, verdict.mapping)  # it keeps every port
    return verdict
