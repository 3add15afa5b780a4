"""Reaching a peer through a magic-wormhole transit relay, in asyncio.

`open_relay()` connects to the relay, asks it to glue us to whoever presents the same token,
and returns the raw socket once the relay said `ok`. `tls_over_relay()` then runs the normal
TLS handshake over that socket, as client or server (PROTOCOL.md says which side is which),
so the relay only ever carries ciphertext.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

from p2pchat.net.connection import Connection
from p2pchat.net.dialer import describe_dial_error
from p2pchat.net.punch import tls_on_socket
from p2pchat.protocol.transit import RelayAddress, RelayRefused, read_answer, request_line

__all__ = ["RelayError", "open_relay", "tls_over_relay"]


class RelayError(Exception):
    """The relay could not be used; the message is one line for the user. `reached`: the relay
    answered as a relay does (it waited for the peer, or glued us to someone)."""

    def __init__(self, message: str, *, reached: bool = False) -> None:
        super().__init__(message)
        self.reached = reached


def _keepalive(sock: socket.socket) -> None:
    # A relay that vanishes while we wait for the peer is noticed within about a minute.
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", 20), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    for level, option, value in options:
        try:
            sock.setsockopt(level, option, value)
        except OSError:
            pass


async def _connect(relay: RelayAddress, timeout: float) -> socket.socket:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(relay.host, relay.port, type=socket.SOCK_STREAM), timeout
    )
    last: BaseException = OSError("no address")
    for family, socktype, proto, _, address in infos:
        sock = socket.socket(family, socktype, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last


async def _await_ok(sock: socket.socket, where: str) -> None:
    loop = asyncio.get_running_loop()
    answer = b""
    while not read_answer(answer):
        # One byte at a time: whatever follows the ok line is the peer's TLS, not ours to eat.
        byte = await loop.sock_recv(sock, 1)
        if not byte:
            said = f" after {answer.decode('ascii', 'replace')!r}" if answer else " before the peer arrived"
            raise RelayError(f"{where} closed the connection{said}")
        answer += byte


async def open_relay(
    relay: RelayAddress,
    token: str,
    side: str,
    *,
    timeout: float,
    wait: float | None,
    on_waiting: Callable[[], None] = lambda: None,
) -> socket.socket:
    """A socket glued by the relay to the peer with the same token.

    `timeout` bounds reaching the relay; `wait` bounds waiting for the peer (None: until
    cancelled, for the side that waits to be found); `on_waiting` is called once the request
    is sent. Raises RelayError with the reason."""
    where = f"relay {relay}"
    try:
        sock = await _connect(relay, timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise RelayError(describe_dial_error(exc, where)) from None
    except UnicodeError:  # a name the resolver cannot encode (a label over 63 characters)
        raise RelayError(f"{where}: not a usable host name") from None
    loop = asyncio.get_running_loop()
    try:
        _keepalive(sock)
        await asyncio.wait_for(loop.sock_sendall(sock, request_line(token, side)), timeout)
        on_waiting()
        await asyncio.wait_for(_await_ok(sock, where), wait)
    except RelayRefused as exc:
        sock.close()
        raise RelayError(f"{where}: {exc}") from None
    except asyncio.TimeoutError:
        sock.close()
        raise RelayError(f"{where}: the peer did not arrive in time (or the relay never answered)",
                         reached=True) from None
    except OSError as exc:
        sock.close()
        raise RelayError(describe_dial_error(exc, where)) from None
    except BaseException:
        sock.close()
        raise
    return sock


async def tls_over_relay(
    sock: socket.socket,
    context: ssl.SSLContext,
    relay: RelayAddress,
    *,
    tls_client: bool,
    dialed: bool,
    timeout: float,
) -> Connection:
    """The p2pchat connection over a glued relay socket: TLS as `tls_client` says."""
    try:
        conn = await tls_on_socket(sock, context, tls_client=tls_client, dialed=dialed, timeout=timeout)
    except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError) as exc:
        raise RelayError(describe_dial_error(exc, f"the peer via relay {relay}"), reached=True) from None
    conn.relay = str(relay)
    return conn
