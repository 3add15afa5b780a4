"""A direct TCP connection made from our listening port, and TLS on a socket already connected.

Dialing from the listening port (SO_REUSEADDR and SO_REUSEPORT; the listener sets
SO_REUSEPORT too) is what makes hole punching work: the peer dials the public port our router
maps that port to, and when both dial at once the two SYNs cross and TCP joins them
(simultaneous open). A router may answer a SYN that arrives before its own side's with a reset:
the dial then starts again at once until its time is up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl

from p2pchat.net.connection import Connection, FrameProtocol

REDIAL_PAUSE = 0.05  # seconds between dials after a reset


def _bound_socket(host: str, local_port: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", local_port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def dial_from_port(host: str, port: int, local_port: int, timeout: float) -> socket.socket:
    """A connected socket to host:port whose local port is `local_port` (0: any)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        sock = _bound_socket(host, local_port)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), max(0.0, deadline - loop.time()))
            return sock
        except ConnectionRefusedError:
            sock.close()
            if loop.time() + REDIAL_PAUSE >= deadline:
                raise
            await asyncio.sleep(REDIAL_PAUSE)
        except BaseException:
            sock.close()
            raise


async def tls_on_socket(
    sock: socket.socket, context: ssl.SSLContext, *, tls_client: bool, dialed: bool, timeout: float
) -> Connection:
    """The p2pchat connection over a connected socket, with TLS as client or server. The
    handshake deadline counts from now, as from a TCP connect."""
    loop = asyncio.get_running_loop()
    opened_at = loop.time()
    try:
        if tls_client:
            transport, protocol = await loop.create_connection(
                FrameProtocol, sock=sock, ssl=context, server_hostname="p2pchat", ssl_handshake_timeout=timeout,
            )
        else:
            transport, protocol = await loop.connect_accepted_socket(
                FrameProtocol, sock, ssl=context, ssl_handshake_timeout=timeout,
            )
    except BaseException:
        sock.close()
        raise
    return Connection(transport, protocol, dialed=dialed, opened_at=opened_at)
