"""Proxies to sit between two sessions on loopback.

`RecordingProxy` forwards bytes untouched and keeps a copy of everything it saw, as a
passive eavesdropper on the network would. `InterceptingProxy` is an active attacker with
an identity of its own: it terminates TLS towards the dialer, dials the real peer with its
own certificate and relays the decrypted bytes, optionally rewriting the fingerprints the
peers announce in HELLO so that each side sees a HELLO that matches the attacker's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from p2pchat.identity import Identity
from p2pchat.net.tls import client_context, server_context


class _Relay:
    """Listens on 127.0.0.1 port 0 and pumps every accepted connection to a target."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0  # connections accepted from the dialer
        self.from_dialer = bytearray()  # every byte read from the dialing side, as read
        self.from_target = bytearray()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def __aenter__(self):
        self._server = await asyncio.start_server(
            self._accepted, "127.0.0.1", 0, ssl=self.listen_context()
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- what a subclass changes -----------------------------------------------------
    def listen_context(self) -> ssl.SSLContext | None:
        return None

    def dial_context(self) -> ssl.SSLContext | None:
        return None

    def rewrite(self, data: bytes, *, towards_target: bool) -> bytes:
        return data

    # -- the pump --------------------------------------------------------------------------
    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            context = self.dial_context()
            target_reader, target_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port, ssl=context,
                server_hostname="p2pchat" if context else None,
            )  # fmt: skip
        except (OSError, ssl.SSLError):
            writer.close()
            return
        self._writers.append(target_writer)
        try:
            await asyncio.gather(
                self._pump(reader, target_writer, towards_target=True),
                self._pump(target_reader, writer, towards_target=False),
            )
        finally:
            self._tasks.discard(task)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, towards_target: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                (self.from_dialer if towards_target else self.from_target).extend(data)
                writer.write(self.rewrite(data, towards_target=towards_target))
                await writer.drain()
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()


class RecordingProxy(_Relay):
    """Forwards bytes both ways unchanged and keeps a copy: what a network sniffer sees."""

    @property
    def seen(self) -> bytes:
        return bytes(self.from_dialer + self.from_target)


class InterceptingProxy(_Relay):
    """A man in the middle holding its own (well-known-CA-signed) identity.

    With `rewrite_ids` (the real peers' fingerprints), each one announced in HELLO is replaced by the
    attacker's own (same length, so frame lengths stay valid): the HELLO/TLS consistency
    check then passes and only the fingerprint itself can give the attacker away.
    """

    def __init__(self, target_port: int, identity: Identity, *, rewrite_ids: tuple[str, ...] = ()) -> None:
        super().__init__(target_port)
        self.identity = identity
        self._server_ctx = server_context(identity)
        self._client_ctx = client_context(identity)
        self._replacements = [
            (real.encode("ascii"), identity.fingerprint.encode("ascii"))
            for real in rewrite_ids
        ]

    def listen_context(self) -> ssl.SSLContext:
        return self._server_ctx

    def dial_context(self) -> ssl.SSLContext:
        return self._client_ctx

    def rewrite(self, data: bytes, *, towards_target: bool) -> bytes:
        for real, fake in self._replacements:
            data = data.replace(real, fake)
        return data
