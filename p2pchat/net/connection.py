"""A framed connection over an asyncio transport (plain TCP or TLS).

Reading uses a `BufferedProtocol` so large file chunks land in one preallocated
buffer instead of a fresh `bytes` per read. Received frames queue up for the
owner's `recv()`; when more than `RECV_HIGH` bytes wait unread, the transport
stops reading, so a slow consumer bounds memory instead of growing it.

Writing has two lanes: `send()` writes a control/chat frame at once, while
`send_chunk()` writes file data in pieces of a few milliseconds each, paced so that the
path's bottleneck queue stays short (file_lane.py, pacing.py), and only while the
transport's buffer is below its high-water mark (the same few milliseconds). Reading has
two lanes too: a chat frame that arrives while only file chunks wait unread is handed out
before them, and the owner may hold reading (its disk is behind) without losing what a peer
that closed meanwhile said last. The kernel's socket buffers are left to autotuning, so the
window grows with the path; only the bytes it keeps unsent are bounded (`UNSENT_LIMIT`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
import struct

from p2pchat import heap
from p2pchat.net import tcp_info
from p2pchat.net.address import host_port, plain_host
from p2pchat.net.file_lane import FileLane
from p2pchat.net.pacing import ReceiveWindow
from p2pchat.protocol import (
    MAGIC,
    Ack,
    Busy,
    Bye,
    Decoder,
    Error,
    FileChunk,
    Nick,
    Ping,
    Pong,
    ProtocolError,
    Text,
    encode,
    encode_chunk_header,
)
from p2pchat.protocol.frames import SHA256

READ_BUFFER = 256 * 1024
RECV_HIGH = 4 * 1024 * 1024
RECV_LOW = 3 * 1024 * 1024  # resume soon: chat waiting in the kernel cannot overtake anything
UNSENT_LIMIT = 128 * 1024  # TCP_NOTSENT_LOWAT: measured to keep a 100 ms path full
# Frames that may overtake file chunks waiting unread: nothing about a file depends on them.
CHAT_FRAMES = (Text, Ack, Ping, Pong, Nick)

class ConnectionClosed(Exception):
    """The connection ended; `reason` says why in words a user understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FrameProtocol(asyncio.BufferedProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.decoder = Decoder(expect_magic=True)
        self._view: memoryview | None = None  # made on first read: see get_buffer
        self._frames: collections.deque = collections.deque()
        self._chat: collections.deque = collections.deque()  # overtakes queued chunks
        self._queued_bytes = 0
        self._ordered = 0  # frames in `_frames` that are not chunks: nothing may overtake them
        self._full = False  # more than RECV_HIGH waits unread (until under RECV_LOW)
        self.held = False  # the owner asked for no more file data for now (its disk is behind)
        self._chunks_while_held = 0  # file data read since
        self._to_the_end = False  # the peer is gone: what the kernel holds is all there is
        self._discarding = False  # we are leaving: nothing will be read any more
        self._reading_paused = False
        self._waiter: asyncio.Future | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.error: Exception | None = None
        self._sock = None
        self._receive_window: ReceiveWindow | None = None  # where the kernel reports round trips

    # -- asyncio callbacks -------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        heap.tune()  # done at start-up by the command line; here for other callers
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # No SO_SNDBUF/SO_RCVBUF: fixing them turns off autotuning and caps the window.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tcp_info.bound_unsent(sock, UNSENT_LIMIT)
            if tcp_info.path_sample(sock) is not None:
                self._sock = sock
                self._receive_window = ReceiveWindow(asyncio.get_running_loop().time())

    def get_buffer(self, sizehint: int) -> memoryview:
        # Allocated lazily: a connection that never completes its TLS handshake (a flood of
        # garbage) then costs no read buffer at all.
        if self._view is None:
            self._view = memoryview(bytearray(READ_BUFFER))
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self.error is not None or self._discarding:
            return  # nothing after a violation is processed, nor once we are leaving
        if self._receive_window is not None:
            self._bound_unread(nbytes)
        try:
            self.decoder.receive_data(self._view[:nbytes])
            for frame in self.decoder:
                if isinstance(frame, FileChunk):
                    self._queued_bytes += len(frame.data)
                    self._chunks_while_held += self.held
                    self._frames.append(frame)
                elif self._ordered == 0 and isinstance(frame, CHAT_FRAMES):
                    self._chat.append(frame)
                else:
                    self._ordered += 1
                    self._frames.append(frame)
        except ProtocolError as exc:
            # Stop reading but keep the transport: the owner's recv() raises this error, and
            # the owner answers with an ERROR frame before closing.
            self._finish(exc)
            self.transport.pause_reading()
            return
        if self._queued_bytes > RECV_HIGH and not self._full:
            self._full = True
        self._steer_reading()
        self._wake()

    def eof_received(self):
        # recv() still hands out every frame that came before the EOF (a BUSY or BYE written
        # together with the close) before it raises this.
        self._finish(ConnectionClosed("the peer closed the connection"))
        return False  # close our side too

    def connection_lost(self, exc) -> None:
        if exc is None:
            reason = ConnectionClosed("the connection was closed")
        elif isinstance(exc, ssl.SSLError):
            reason = ConnectionClosed(f"TLS error: {exc.reason or exc}")
        else:
            reason = ConnectionClosed(f"connection lost: {exc.strerror or exc}" if isinstance(exc, OSError) else f"connection lost: {exc}")
        self._finish(reason)
        self._can_write.set()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # -- reading on and off -------------------------------------------------------
    def hold(self, held: bool) -> None:
        """Stop reading the socket at the next file data while the owner cannot keep up (frames
        already received are still handed out, and chat or a goodbye with no file data ahead
        of it is still read), or go on."""
        self.held = held
        self._chunks_while_held = 0
        self._steer_reading()

    def read_to_the_end(self) -> None:
        """Read what the kernel still holds whatever waits: the peer has closed, so that is
        bounded, and its last words (a BYE behind file data) come with it."""
        self._to_the_end = True
        self._steer_reading()

    def discard(self) -> None:
        """We are leaving and will read nothing more: drop what waits and keep reading the
        socket until it closes. Data left unread in the kernel makes it reset the connection on
        close, and the peer, still sending file data, would then lose our goodbye."""
        self._discarding = True
        self._frames.clear()
        self._chat.clear()
        self._queued_bytes = self._ordered = 0
        self._full = self.held = False
        self._steer_reading()

    def _steer_reading(self) -> None:
        pause = (self._full or (self.held and self._chunks_while_held > 0)) and not self._to_the_end
        if pause == self._reading_paused or self.transport is None or self.transport.is_closing():
            return
        self._reading_paused = pause
        if pause:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    # -- internals ---------------------------------------------------------------
    def _bound_unread(self, nbytes: int) -> None:
        self._receive_window.bytes_read(nbytes)
        now = asyncio.get_running_loop().time()
        if not self._receive_window.due(now):
            return  # the kernel is asked (a system call) only when the window may move
        sample = tcp_info.path_sample(self._sock)
        if sample is not None:
            window = self._receive_window.update(sample[0], now)
            if window is not None:
                tcp_info.clamp_window(self._sock, window)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _finish(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        if not self.closed.done():
            self.closed.set_result(exc)
        self._wake()

    async def recv(self):
        while not (self._chat or self._frames):
            if self.error is not None:
                raise self.error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._chat:
            return self._chat.popleft()
        frame = self._frames.popleft()
        if not isinstance(frame, FileChunk):
            self._ordered -= 1
        else:
            self._queued_bytes -= len(frame.data)
            if self._full and self._queued_bytes < RECV_LOW:
                self._full = False
                self._steer_reading()
        return frame


class Connection:
    """What the session holds: frames in, frames out, and a way to close."""

    def __init__(
        self, transport: asyncio.Transport, protocol: FrameProtocol, *, dialed: bool, opened_at: float | None = None
    ) -> None:
        self.transport = transport
        self.protocol = protocol
        self.dialed = dialed
        # When the TCP connection was made (loop time): the handshake deadline counts from here.
        self.opened_at = asyncio.get_running_loop().time() if opened_at is None else opened_at
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer_host = plain_host(peer[0])
        self.peer_port = peer[1]
        self.ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        self.bytes_sent = 0
        self.relay: str | None = None  # HOST:PORT of the transit relay carrying it, if any
        self.invite_secret: str | None = None  # glued on this pending invite's relay token
        self.file_hash = SHA256  # what FILE_DONE carries here, agreed in the handshake
        self.file_lane = FileLane(transport, transport.get_extra_info("socket"))

    @property
    def peer_address(self) -> str:
        return host_port(self.peer_host, self.peer_port)

    @property
    def encrypted(self) -> bool:
        return self.ssl_object is not None

    @property
    def is_closing(self) -> bool:
        return self.transport.is_closing() or self.protocol.error is not None

    def send_magic(self) -> None:
        self.transport.write(MAGIC)

    def hold_reading(self, held: bool) -> None:
        """Stop reading file data (True) while the disk is behind, or go on (False)."""
        self.protocol.hold(held)

    def _check_peer_there(self) -> None:
        """While reading is held, a peer that has closed may have left its goodbye unread in
        the kernel; writing to it would bring its reset, and the transport would be dropped
        with what it said. Read to the end instead, and do not write."""
        if self.protocol.held and tcp_info.peer_closed(self.transport.get_extra_info("socket")):
            self.protocol.read_to_the_end()
            raise ConnectionClosed("the peer closed the connection")

    def send(self, frame) -> None:
        """Queue a control or chat frame ahead of any bulk data still to come."""
        if self.transport.is_closing():
            raise ConnectionClosed("the connection is closed")
        self._check_peer_there()
        data = encode(frame)
        self.bytes_sent += len(data)
        self.transport.write(data)

    async def send_chunk(self, tid: int, offset: int, data) -> None:
        """Write a file chunk as FILE_CHUNK frames of a few milliseconds each, each when the
        pacer lets it go and the transport has room, so a chat frame never waits long."""
        protocol = self.protocol
        lane = self.file_lane
        view = memoryview(data)
        done = 0
        while True:
            await lane.wait_turn()
            while not protocol._can_write.is_set():
                await protocol._can_write.wait()
            if self.is_closing:
                raise protocol.error or ConnectionClosed("the connection is closed")
            self._check_peer_there()
            piece = view[done:done + lane.piece_size(len(view))]
            self.transport.writelines((encode_chunk_header(tid, offset + done, len(piece)), piece))
            self.bytes_sent += len(piece)
            done += len(piece)
            if done >= len(view):
                return

    async def wait_writable(self) -> None:
        await self.protocol._can_write.wait()

    async def recv(self):
        return await self.protocol.recv()

    def unread_goodbye(self):
        """A BUSY, BYE or ERROR received but not read yet (the peer's last word), or None."""
        return next((f for f in self.protocol._frames if isinstance(f, (Busy, Bye, Error))), None)

    def discard_incoming(self) -> None:
        """Read and drop everything from here on (see FrameProtocol.discard)."""
        self.protocol.discard()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()
        self.protocol._finish(ConnectionClosed("closed by us"))

    def abort(self) -> None:
        self.transport.abort()
        self.protocol._finish(ConnectionClosed("closed by us"))

    def reset(self) -> None:
        """Abort a connection found dead with a reset: the kernel forgets it at once instead of
        retrying its goodbye for minutes, so its address pair is free to dial again (a hole
        punched from the listening port reuses the very same pair)."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()

    async def wait_closed(self, timeout: float = 2.0) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self.protocol.closed), timeout)
        except asyncio.TimeoutError:
            self.transport.abort()

    async def close_after_goodbye(self, timeout: float = 2.0) -> None:
        """Our goodbye is written: close once the peer, having read it, closes. The peer may be
        sending file data until then, and TLS closed first meets that data after its close_notify
        (an error in OpenSSL): the connection would end in a reset, which can reach the peer
        before it has read the goodbye. A peer still silent after the timeout is aborted: a TLS
        close would wait for it once more."""
        try:
            await asyncio.wait_for(asyncio.shield(self.protocol.closed), timeout)
        except asyncio.TimeoutError:
            self.abort()
            return
        await self.flush_and_close(timeout)

    async def flush_and_close(self, timeout: float = 2.0) -> None:
        """Close after the transport has written what it holds (a goodbye frame)."""
        if not self.transport.is_closing():
            self.transport.close()  # close() flushes the write buffer first
        try:
            await asyncio.wait_for(asyncio.shield(self.protocol.closed), timeout)
        except asyncio.TimeoutError:
            self.transport.abort()
