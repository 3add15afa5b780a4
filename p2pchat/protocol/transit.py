"""The client side of the magic-wormhole transit relay handshake, without I/O.

Each side opens TCP to the relay and sends `please relay TOKEN for side SIDE\\n` (TOKEN 64
lowercase hex digits, SIDE 16). The relay answers `ok\\n` once two connections with the same
token and different sides are there, then copies bytes between them. Anything else it says
(`bad handshake\\n`, `impatient\\n`) is followed by the close. Which end of a glued pair
speaks TLS as the client is fixed by `tls_client_over_relay()`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass

OK = b"ok\n"
_TOKEN = re.compile(r"[0-9a-f]{64}")
_SIDE = re.compile(r"[0-9a-f]{16}")
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
DERIVED_LABEL = b"p2pchat relay token v1"
PAIR_LABEL = b"p2pchat pair relay token v1"

# What the relay's known answers mean, for the user.
_ANSWERS = {
    b"bad handshake": "the relay did not understand the request (is it a transit relay?)",
    b"impatient": "the relay closed the connection: data was sent before the peer arrived",
}


class RelayRefused(Exception):
    """The relay said something other than `ok`; the message is for the user."""


@dataclass(frozen=True)
class RelayAddress:
    host: str  # without brackets
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def setting(self) -> str:
        return f"tcp:{self}"


def relay_host_problem(host: str) -> str | None:
    """Why `host` (without brackets) cannot be a relay's host, or None. A name is letters,
    digits, dots and hyphens in labels of at most 63; an address may not be one that names no
    machine on a path between two homes (unspecified, multicast, link-local: the last is where
    cloud metadata services answer)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.fullmatch(host) or host.startswith("[") or ":" in host:
            return "letters, digits, dots and hyphens only"
        if any(not 1 <= len(label) <= 63 for label in host.rstrip(".").split(".")):
            return "each part of a host name is 1 to 63 characters"
        return None
    if address.is_unspecified or address.is_multicast or address.is_link_local:
        return f"{address} is not an address a relay can have"
    return None


def parse_relay(text: str) -> RelayAddress:
    """`tcp:HOST:PORT` (IPv6 in brackets); raise ValueError with a one-line reason."""
    raw = text.strip()
    if not raw.startswith("tcp:"):
        raise ValueError(f"{raw!r} is not a relay address: write tcp:HOST:PORT, e.g. tcp:relay.example.org:4001")
    host, sep, port_text = raw[4:].rpartition(":")
    if not sep or not _HOST.fullmatch(host):
        raise ValueError(f"{raw!r} is not a relay address: write tcp:HOST:PORT (IPv6 as tcp:[::1]:4001)")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{raw!r}: the relay port must be a number from 1 to 65535")
    problem = relay_host_problem(host.strip("[]"))
    if problem:
        raise ValueError(f"{raw!r} is not a relay address: {problem}")
    return RelayAddress(host.strip("[]"), int(port_text))


def parse_relays(text: str) -> list[RelayAddress]:
    """A list of relay addresses separated by commas or spaces; empty text is no relay."""
    return [parse_relay(item) for item in re.split(r"[,\s]+", text.strip()) if item]


def new_side() -> str:
    return secrets.token_hex(8)


def request_line(token: str, side: str) -> bytes:
    if not _TOKEN.fullmatch(token) or not _SIDE.fullmatch(side):
        raise ValueError("a relay token is 64 and a side 16 lowercase hex digits")
    return f"please relay {token} for side {side}\n".encode("ascii")


def read_answer(buffer: bytes) -> bool:
    """True once `buffer` (what the relay sent so far, up to its first newline) is `ok\\n`;
    False if more bytes are needed; RelayRefused for anything else, as soon as it cannot
    become one of the relay's answers."""
    line, newline, _ = buffer.partition(b"\n")
    if not newline:
        if not any(answer.startswith(buffer) for answer in (b"ok", *_ANSWERS)):
            raise RelayRefused(f"the relay answered {_shown(buffer)} instead of ok (is it a transit relay?)")
        return False
    if line == b"ok":
        return True
    known = _ANSWERS.get(line)
    raise RelayRefused(known or f"the relay answered {_shown(line)} instead of ok (is it a transit relay?)")


def _shown(data: bytes) -> str:
    return repr(data[:40].decode("ascii", "replace"))


def derived_token(fingerprint_a: str, fingerprint_b: str) -> str:
    """The relay token two known peers both compute: SHA-256 over a label and both sorted
    fingerprints, each line-terminated."""
    low, high = sorted((fingerprint_a, fingerprint_b))
    data = DERIVED_LABEL + b"\n" + low.encode("ascii") + b"\n" + high.encode("ascii") + b"\n"
    return hashlib.sha256(data).hexdigest()


def pair_token(secret: bytes, fingerprint_a: str, fingerprint_b: str) -> str:
    """The relay token of two peers that know each other's keys: SHA-256 over a label, the
    32-byte secret only they can compute (p2pchat.identity.pairing) and both sorted
    fingerprints, each line-terminated. Nobody else can wait under it."""
    if len(secret) != 32:
        raise ValueError("a pair secret is 32 bytes")
    low, high = sorted((fingerprint_a, fingerprint_b))
    data = PAIR_LABEL + b"\n" + secret + b"\n" + low.encode("ascii") + b"\n" + high.encode("ascii") + b"\n"
    return hashlib.sha256(data).hexdigest()


def tls_client_over_relay(own_fingerprint: str, peer_fingerprint: str, *, invited: bool | None) -> bool:
    """Which end of a glued pair is the TLS client: with an invite's token the invited side
    (`invited` True; the inviter passes False); with a derived token (`invited` None) the
    side whose fingerprint sorts lower."""
    if invited is not None:
        return invited
    if own_fingerprint == peer_fingerprint:
        raise ValueError("both ends have the same fingerprint")
    return own_fingerprint < peer_fingerprint
