"""A peer that speaks the wire protocol by hand, frame by frame, to a real session (plain TCP):
for tests that must send what our own peer never would."""

from __future__ import annotations

import asyncio
import secrets

from p2pchat.protocol import MAGIC, Ack, Decoder, Hello, Ready, Text, encode

WAIT = 10.0


class RawPeer:
    """Plain TCP, magic, HELLO, READY; then frames written and read one by one.

    Its id sorts after any 32-digit hex id, so the session is the decider and the
    raw peer just answers READY{"session": null}."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(expect_magic=True)

    @classmethod
    async def connect(cls, port: int, *, ready: bool = True, nickname: str = "mallory", peer_id: str = "z" * 32,
                      caps: tuple[str, ...] = ("files",)) -> RawPeer:
        """Dial and say HELLO (with `caps`); with `ready`, finish the handshake too."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        peer = cls(reader, writer)
        writer.write(MAGIC + encode(Hello(1, nickname, peer_id, caps, None)))
        await peer.expect(Hello)
        if ready:
            await peer.expect(Ready)
            peer.send(Ready(None))
        return peer

    def send(self, *frames) -> None:
        for frame in frames:
            self.writer.write(encode(frame))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def next_frame(self):
        while (frame := self.decoder.next_frame()) is None:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the session closed the connection")
            self.decoder.receive_data(data)
        return frame

    async def expect(self, kind, predicate=lambda f: True):
        async def find():
            while True:
                frame = await self.next_frame()
                if isinstance(frame, kind) and predicate(frame):
                    return frame

        return await asyncio.wait_for(find(), WAIT)

    async def chat_still_works(self) -> None:
        message_id = secrets.token_hex(16)
        self.send(Text(message_id, 1.0, "still talking?", False))
        await self.expect(Ack, lambda f: f.id == message_id)

    def close(self) -> None:
        self.writer.close()
