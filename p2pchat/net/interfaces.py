"""This machine's addresses that a peer might reach: every interface but loopback."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from pathlib import Path

try:
    import fcntl
except ImportError:  # not a Unix
    fcntl = None

_SIOCGIFADDR = 0x8915


def _ipv4_of(name: str) -> str | None:
    if fcntl is None:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None  # no IPv4 address on this interface
    return socket.inet_ntoa(packed[20:24])


def _ipv6_addresses() -> list[str]:
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            found.append(str(ipaddress.IPv6Address(bytes.fromhex(raw))))
    return found


def _guess_route_address() -> list[str]:
    """Elsewhere than Linux: the address the default route leaves from (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        return [probe.getsockname()[0]]
    return []


def local_addresses() -> list[str]:
    """IPv4 first, then global IPv6; no loopback, link-local or unspecified addresses."""
    candidates: list[str] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
        candidates += [a for a in map(_ipv4_of, names) if a]
        candidates += _ipv6_addresses()
    except (OSError, AttributeError):
        pass
    if not candidates:
        candidates = _guess_route_address()
    usable = []
    for text in dict.fromkeys(candidates):
        address = ipaddress.ip_address(text)
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            usable.append(text)
    return usable


def is_this_machine(host: str) -> bool:
    """Whether `host` (an address or `localhost`) names this machine."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() == "localhost"
    return address.is_loopback or address.is_unspecified or str(address) in local_addresses()
