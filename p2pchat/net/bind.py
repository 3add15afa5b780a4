"""The listening socket, on the standard library alone: the command line binds it before the
front end and the session are imported (a few hundred milliseconds of imports), so that peers
can reach us and the first frame can say where we listen; the session takes it from here.
"""

from __future__ import annotations

import errno
import socket

_early: dict[tuple[str, int], socket.socket] = {}  # (bind, port asked for) -> bound socket


class PortInUse(Exception):
    pass


def open_listening_socket(bind: str, port: int) -> socket.socket:
    """Bind (dual-stack where possible); raise PortInUse for EADDRINUSE."""
    infos = socket.getaddrinfo(bind or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    last_error: OSError | None = None
    for family, socktype, proto, _, addr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                try:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                except OSError:
                    pass
            sock.bind(addr)
            sock.listen(64)
            if hasattr(socket, "SO_REUSEPORT"):
                # Set after the bind, so another listener on this port is still refused: only a
                # socket that dials from our port to punch a hole (net/punch.py) may share it.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(str(port)) from exc
            last_error = exc
    raise last_error or OSError(f"cannot listen on {bind}:{port}")


def bind_early(bind: str, port: int) -> int | None:
    """Listen on (bind, port) now, for `take_early()`; the port, or None when it cannot (the
    session then tries again and says why)."""
    try:
        sock = open_listening_socket(bind, port)
    except (OSError, PortInUse):
        return None
    _early[(bind, port)] = sock
    return sock.getsockname()[1]


def early_port() -> int | None:
    """The port bound early and not yet taken, if any."""
    return next((sock.getsockname()[1] for sock in _early.values()), None)


def take_early(bind: str, port: int) -> socket.socket | None:
    """The socket bound early for exactly (bind, port), handed over once."""
    return _early.pop((bind, port), None)
