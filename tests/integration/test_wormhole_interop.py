"""p2pchat's rendezvous client against the real magic-wormhole mailbox server and library.

The server is `twist wormhole-mailbox` on loopback; the other side is the magic-wormhole library
itself (Twisted, in a subprocess), told only the AppID and the code.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest

from p2pchat.reach.rendezvous import CodeMeeting, CodeMismatch, RendezvousError, Unreachable
from tests.support.mailbox import MailboxServer
from tests.support.relay import twist_command
from tests.support.session import free_port

pytestmark = pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-mailbox-server not installed")

APPID = "p2pchat.test/interop"
PEER_SCRIPT = Path(__file__).parents[1] / "support" / "wormhole_peer.py"


@pytest.fixture(scope="module")
def mailbox():
    server = MailboxServer("127.0.0.1", free_port()).start()
    yield server
    server.stop()


class LibraryPeer:
    """The magic-wormhole library on the other side, in a subprocess."""

    def __init__(self, url: str, code: str, message: str) -> None:
        self.args = [sys.executable, str(PEER_SCRIPT), url, APPID, code, message]

    async def __aenter__(self) -> LibraryPeer:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        return self

    async def line(self, kind: str) -> str:
        return await asyncio.wait_for(self._line(kind), 20)

    async def _line(self, kind: str) -> str:
        assert self.process.stdout is not None
        while True:
            raw = await self.process.stdout.readline()
            if not raw:
                err = await self.process.stderr.read()  # type: ignore[union-attr]
                raise AssertionError(f"the library side ended early: {err.decode()[-2000:]}")
            word, _, rest = raw.decode().strip().partition(" ")
            if word == kind or word == "error":
                assert word == kind, rest
                return rest

    async def __aexit__(self, *exc) -> None:
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()


async def test_we_allocate_and_the_library_claims(mailbox):
    meeting = CodeMeeting(mailbox.url, APPID, b"introduction from p2pchat")
    code = await meeting.open()
    assert code.split("-")[0].isdigit() and len(code.split("-")) == 3
    async with LibraryPeer(mailbox.url, code, "introduction from the library") as peer:
        theirs = await asyncio.wait_for(meeting.exchange(), 20)
        assert theirs == b"introduction from the library"
        assert bytes.fromhex(await peer.line("got")) == b"introduction from p2pchat"
    assert meeting.confirmed


async def test_the_library_allocates_and_we_claim(mailbox):
    async with LibraryPeer(mailbox.url, "allocate", "the library's first message") as peer:
        code = await peer.line("code")
        meeting = CodeMeeting(mailbox.url, APPID, b"p2pchat's first message", code=code)
        assert await meeting.open() == code
        assert await asyncio.wait_for(meeting.exchange(), 20) == b"the library's first message"
        assert bytes.fromhex(await peer.line("got")) == b"p2pchat's first message"


async def test_a_wrong_code_fails_on_both_sides(mailbox):
    async with LibraryPeer(mailbox.url, "allocate", "not for you") as peer:
        code = await peer.line("code")
        nameplate = code.split("-")[0]
        meeting = CodeMeeting(mailbox.url, APPID, b"guess", code=f"{nameplate}-wrong-guess")
        await meeting.open()
        with pytest.raises(CodeMismatch, match="the code did not match"):
            await asyncio.wait_for(meeting.exchange(), 20)
        assert "WrongPasswordError" in await peer.line("error")


async def test_an_unreachable_server_is_reported_within_five_seconds():
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"ws://127.0.0.1:{closed_port.getsockname()[1]}/v1"
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(Unreachable, match="cannot be reached"):
            await CodeMeeting(url, APPID, b"x").open()
        assert loop.time() - start < 5


async def test_a_server_that_never_answers_is_reported_within_the_connect_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts TCP, never speaks WebSocket
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/v1"
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(Unreachable, match="no answer"):
            await CodeMeeting(url, APPID, b"x", connect_timeout=1.0).open()
        assert loop.time() - start < 3


async def test_a_server_that_refuses_everyone_is_one_line(tmp_path):
    server = MailboxServer("127.0.0.1", free_port(), refuse="closed for maintenance").start()
    try:
        with pytest.raises(RendezvousError, match="^the rendezvous server refuses us: closed for maintenance$"):
            await CodeMeeting(server.url, APPID, b"x").open()
    finally:
        server.stop()


async def test_a_server_that_answers_garbage_is_one_line():
    async def garbage(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    async with server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
        with pytest.raises(Unreachable, match="cannot be reached"):
            await CodeMeeting(url, APPID, b"x").open()


@pytest.mark.parametrize("reply", ["this is not json", None])
async def test_a_websocket_that_speaks_garbage_or_closes_is_one_line(reply):
    from websockets.asyncio.server import serve

    async def handler(ws):
        await ws.recv()  # bind
        if reply is not None:
            await ws.send(reply)
        await ws.close()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with pytest.raises(RendezvousError) as caught:
            await asyncio.wait_for(CodeMeeting(f"ws://127.0.0.1:{port}/v1", APPID, b"x").open(), 10)
    expected = "not the wormhole protocol" if reply else "closed the connection"
    assert expected in str(caught.value) and "\n" not in str(caught.value)


async def test_the_library_with_a_wrong_code_is_told_and_so_are_we(mailbox):
    meeting = CodeMeeting(mailbox.url, APPID, b"not for a guesser")
    code = await meeting.open()
    nameplate = code.split("-")[0]
    async with LibraryPeer(mailbox.url, f"{nameplate}-wrong-guess", "a guess") as peer:
        with pytest.raises(CodeMismatch):
            await asyncio.wait_for(meeting.exchange(), 20)
        assert "WrongPasswordError" in await peer.line("error")
