"""The listening socket, yielding a `Connection` for every peer that calls.

The listener peeks at the first bytes of every accepted socket before choosing
TLS or plain: a TLS listener that meets a plain p2pchat peer (and the other way
round) answers with a plain `ERROR` frame saying what the mismatch is, instead
of a cryptic handshake failure, and never falls back to plain text itself.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable

from loguru import logger

from p2pchat.net.address import host_port
from p2pchat.net.connection import Connection, FrameProtocol
from p2pchat.net.tls import looks_like_tls
from p2pchat.protocol import MAGIC, Error, encode

# Connections between accept and the end of their TLS handshake. More wait in the kernel's
# backlog, so a flood of junk connections cannot make us hold a TLS buffer for each.
MAX_ADMITTING = 16

TLS_REQUIRED = (
    "this peer uses TLS and will not talk unencrypted; remove --no-tls (tls = false) on your side"
)
TLS_UNEXPECTED = (
    "this peer runs without TLS (--no-tls); both sides must use the same setting: "
    "use --no-tls on your side too, or remove it on the peer's"
)


async def _wait_readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def wake() -> None:
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await fut
    finally:
        loop.remove_reader(sock.fileno())


async def _peek(sock: socket.socket, n: int) -> bytes:
    """The first n bytes the client sent, left in the socket for whoever reads next."""
    while True:
        await _wait_readable(sock)
        data = sock.recv(n, socket.MSG_PEEK)
        if len(data) >= n or not data:
            return data
        await asyncio.sleep(0.01)


async def _refuse_plainly(sock: socket.socket, code: str, message: str) -> None:
    """Send a plain ERROR frame and close. What the peer sent is read first, up to its close:
    closing with unread bytes resets the connection, and a reset can destroy our ERROR before
    the peer reads it (it then sees only "connection lost" and tries again)."""
    loop = asyncio.get_running_loop()
    try:
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_sendall(sock, MAGIC + encode(Error(code, message))), 1.0)
        sock.shutdown(socket.SHUT_WR)
        await asyncio.wait_for(_drain(sock), 2.0)
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        sock.close()


async def _drain(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    while await loop.sock_recv(sock, 4096):
        pass


class Listener:
    """Accepts connections and hands each finished transport to `on_connection`."""

    def __init__(
        self,
        sock: socket.socket,
        ssl_context: ssl.SSLContext | None,
        on_connection: Callable[[Connection], Awaitable[None]],
        on_mismatch: Callable[[str, str], None],
        handshake_timeout: float = 10.0,
    ) -> None:
        self.handshake_timeout = handshake_timeout  # for the first bytes and for TLS
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.ssl_context = ssl_context
        self.on_connection = on_connection
        self.on_mismatch = on_mismatch  # (peer address, explanation)
        self._task: asyncio.Task | None = None
        self._children: set[asyncio.Task] = set()
        self._admitting = asyncio.Semaphore(MAX_ADMITTING)

    def start(self) -> None:
        self._task = asyncio.create_task(self._accept_loop(), name="p2pchat-accept")

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._admitting.acquire()
            try:
                client, addr = await loop.sock_accept(self.sock)
            except asyncio.CancelledError:
                raise
            except OSError as exc:  # EMFILE and friends: keep listening
                self._admitting.release()
                logger.warning("accept failed: {}", exc)
                await asyncio.sleep(0.1)
                continue
            task = asyncio.create_task(self._admit(client, addr, loop.time()))
            self._children.add(task)
            task.add_done_callback(self._children.discard)

    async def _admit(self, client: socket.socket, addr, accepted_at: float) -> None:
        try:
            connection = await self._open(client, addr, accepted_at)
        finally:
            self._admitting.release()
        if connection is not None:
            await self.on_connection(connection)

    async def _open(self, client: socket.socket, addr, accepted_at: float) -> Connection | None:
        """Sniff TLS or plain and finish the TLS handshake; None if the connection was dropped."""
        address = host_port(addr[0], addr[1])
        try:
            first = await asyncio.wait_for(_peek(client, 4), self.handshake_timeout)
        except (asyncio.TimeoutError, OSError):
            client.close()
            logger.info("dropped {}: nothing received", address)
            return None
        if not first:
            client.close()
            return None
        is_tls = looks_like_tls(first)
        if self.ssl_context is not None and first == MAGIC:
            self.on_mismatch(address, "a peer tried to connect without TLS (it runs with --no-tls); refused")
            await _refuse_plainly(client, "tls_required", TLS_REQUIRED)
            return None
        if self.ssl_context is None and is_tls:
            self.on_mismatch(address, "a peer tried to connect with TLS, but you run with --no-tls; refused")
            await _refuse_plainly(client, "tls_unexpected", TLS_UNEXPECTED)
            return None
        loop = asyncio.get_running_loop()
        remaining = max(0.1, self.handshake_timeout - (loop.time() - accepted_at))  # one deadline for all
        try:
            transport, protocol = await loop.connect_accepted_socket(
                FrameProtocol, client, ssl=self.ssl_context,
                ssl_handshake_timeout=remaining if self.ssl_context else None,
            )
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError) as exc:
            logger.info("TLS handshake with {} failed: {}", address, exc)
            client.close()
            return None
        return Connection(transport, protocol, dialed=False, opened_at=accepted_at)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        children = list(self._children)
        for task in children:
            task.cancel()
        await asyncio.gather(*children, return_exceptions=True)
        self.sock.close()
