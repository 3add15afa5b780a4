"""The dialer: a `Connection` to a peer's address, and what to tell the user when it fails."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl

from p2pchat.net.connection import Connection, ConnectionClosed, FrameProtocol
from p2pchat.net.listener import TLS_UNEXPECTED


def answered_without_tls(exc: BaseException) -> bool:
    """Our TLS hello was answered with something that is not TLS (a `--no-tls` peer)."""
    if not isinstance(exc, ssl.SSLError):
        return False
    text = f"{exc.reason or exc}".upper()
    return "WRONG_VERSION_NUMBER" in text or "RECORD_LAYER" in text or "PACKET_LENGTH" in text


def nothing_answered(exc: BaseException) -> bool:
    """The dial met silence: a time-out, or no route to the host (not a refusal nor a TLS
    error, which say something is there)."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _SILENT


_SILENT = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ETIMEDOUT}


def describe_dial_error(exc: BaseException, address: str) -> str:
    if isinstance(exc, ssl.SSLError):
        if answered_without_tls(exc):
            return f"{address} answered without TLS: {TLS_UNEXPECTED}"
        return f"TLS handshake with {address} failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"nobody is listening at {address} yet"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {address}: {exc.strerror}"
    if isinstance(exc, asyncio.TimeoutError):
        return f"{address} did not answer in time"
    if isinstance(exc, ConnectionClosed):
        return f"{address}: {exc.reason}"
    if isinstance(exc, OSError):  # asyncio puts "Connect call failed (...)" where the cause was
        return f"cannot reach {address}: {os.strerror(exc.errno) if exc.errno else exc.strerror or exc}"
    return f"cannot reach {address}: {exc}"


async def dial(host: str, port: int, ssl_context: ssl.SSLContext | None, timeout: float = 10.0) -> Connection:
    loop = asyncio.get_running_loop()
    started = loop.time()
    transport, protocol = await asyncio.wait_for(
        loop.create_connection(
            FrameProtocol, host, port, ssl=ssl_context,
            server_hostname="p2pchat" if ssl_context else None,
            ssl_handshake_timeout=timeout if ssl_context else None,
        ),
        timeout,
    )
    return Connection(transport, protocol, dialed=True, opened_at=started)
