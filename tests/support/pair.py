"""Two Connections over loopback, the way the app opens them, for tests of the connection core."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from p2pchat.identity import Identity
from p2pchat.net.connection import Connection, FrameProtocol
from p2pchat.net.dialer import dial
from p2pchat.net.tls import client_context, server_context


@contextlib.asynccontextmanager
async def connected_pair(keys: Path | None = None):
    """(dialer, listener side) Connections over loopback TCP; over TLS with keys made in `keys`.
    Both have written the magic, so frames can follow."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future = loop.create_future()

    def protocol() -> FrameProtocol:
        made = FrameProtocol()
        if not accepted.done():
            accepted.set_result(made)
        return made

    server_tls = client_tls = None
    if keys is not None:
        server_tls = server_context(Identity.load_or_create(keys / "listener"))
        client_tls = client_context(Identity.load_or_create(keys / "dialer"))
    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=server_tls)
    dialer = await dial("127.0.0.1", server.sockets[0].getsockname()[1], client_tls)
    listening_protocol = await accepted
    listener = Connection(listening_protocol.transport, listening_protocol, dialed=False)
    dialer.send_magic()
    listener.send_magic()
    try:
        yield dialer, listener
    finally:
        dialer.abort()
        listener.abort()
        server.close()
