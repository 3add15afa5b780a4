"""Peer addresses: `HOST:PORT`, `[v6]:PORT`, or `p2pchat://HOST:PORT/FINGERPRINT`."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

SCHEME = "p2pchat://"


@dataclass(frozen=True)
class PeerAddress:
    host: str
    port: int
    fingerprint: str | None = None  # expected identity, grouped form normalised away

    def __str__(self) -> str:
        return host_port(self.host, self.port)


def plain_host(host: str) -> str:
    """A socket's host as people write it: an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`,
    what a dual-stack listener sees for an IPv4 peer) as the IPv4 address."""
    return host[7:] if host.lower().startswith("::ffff:") and "." in host else host


def host_port(host: str, port: int) -> str:
    """`HOST:PORT` to show, `[v6]:PORT` for IPv6."""
    host = plain_host(host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"port must be a number from 0 to 65535, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range (0-65535)")
    return port


def parse_address(text: str) -> PeerAddress:
    """Parse what a user typed; raise ValueError with a one-line explanation."""
    raw = text.strip()
    fingerprint = None
    if raw.lower().startswith(SCHEME):
        raw = raw[len(SCHEME):]
        raw, _, fp = raw.partition("/")
        fp = fp.strip("/")
        if fp:
            # Imported here: the protocol package is heavy, and the command line imports this
            # module before the app's first frame.
            from p2pchat.protocol.share_check import checked_fingerprint

            fingerprint = checked_fingerprint(fp)
    elif "://" in raw:
        scheme = raw.partition("://")[0]
        raise ValueError(f"{text!r} is a {scheme}:// address, not a peer's: give HOST:PORT or a p2pchat:// address")
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"{text!r} is not HOST:PORT (IPv6 looks like [::1]:8080)")
        port_text = rest[1:]
    else:
        host, sep, port_text = raw.rpartition(":")
        if not sep or not host:
            raise ValueError(f"{text!r} is not HOST:PORT (for example 192.168.1.20:8080)")
        if ":" in host:
            raise ValueError(f"{text!r}: write IPv6 addresses in brackets, like [::1]:8080")
    port = parse_port(port_text)
    if port == 0:
        raise ValueError(f"{text!r}: cannot connect to port 0")
    if not host or any(c.isspace() or c in "/@" for c in host):
        raise ValueError(f"{text!r} has no valid host name")
    return PeerAddress(host, port, fingerprint)


def bound_host(bind: str) -> str | None:
    """The one address listened on, or None when `bind` is every interface ("::", "0.0.0.0")."""
    try:
        return None if not bind or ipaddress.ip_address(bind).is_unspecified else bind
    except ValueError:
        return bind  # a host name: it is where we listen


def guess_lan_host(bind: str = "::") -> str:
    """The address other machines most likely reach us on (no packet is sent).

    Bound to one address, that is the only one where anything answers.
    """
    if host := bound_host(bind):
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # a documentation address; connect() only picks a route
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
