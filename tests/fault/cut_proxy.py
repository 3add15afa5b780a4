"""A loopback TCP proxy the test controls: `cut()` drops every connection through it at once."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class CutProxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:<target_port> from its own thread and event loop."""

    def __init__(self, target_port: int, bytes_per_second: float | None = None) -> None:
        self.target_port = target_port
        self.bytes_per_second = bytes_per_second  # None: as fast as loopback goes
        self.port = 0
        self.connections_seen = 0
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CutProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._abort_all()

    async def _serve(self, down_reader: asyncio.StreamReader, down_writer: asyncio.StreamWriter) -> None:
        self.connections_seen += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            down_writer.transport.abort()
            return
        link = (down_writer, up_writer)
        self._links.add(link)
        try:
            rate = self.bytes_per_second
            await asyncio.gather(_pipe(down_reader, up_writer, rate), _pipe(up_reader, down_writer, rate))
        finally:
            self._links.discard(link)
            for writer in link:
                writer.transport.abort()

    def _abort_all(self) -> int:
        links = list(self._links)
        self._links.clear()
        for link in links:
            for writer in link:
                writer.transport.abort()
        return len(links)

    def cut(self) -> int:
        """Drop every connection now (both directions, mid-stream); returns how many."""
        return asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(10)

    async def _cut(self) -> int:
        return self._abort_all()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rate: float | None) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await reader.read(16384):
            writer.write(data)
            await writer.drain()
            if rate:
                await asyncio.sleep(len(data) / rate)
    writer.transport.abort()
