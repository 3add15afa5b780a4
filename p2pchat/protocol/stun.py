"""STUN Binding (RFC 8489) without I/O: the request we send, and the address an answer reports.

Only what learning our public address needs: a Binding request with a fresh transaction id, and
from a success response the XOR-MAPPED-ADDRESS (or, from a server of the RFC 3489 era, the
MAPPED-ADDRESS). Every length is checked before it is used; an answer that breaks a rule, or
carries a FINGERPRINT that does not match, raises `StunError`.
"""

from __future__ import annotations

import ipaddress
import secrets
import struct
import zlib
from dataclasses import dataclass
from enum import Enum

MAGIC_COOKIE = 0x2112A442
HEADER = struct.Struct("!HHI12s")  # type, length, magic cookie, transaction id
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111

MAPPED_ADDRESS = 0x0001
MESSAGE_INTEGRITY = 0x0008
XOR_MAPPED_ADDRESS = 0x0020
FINGERPRINT = 0x8028
FINGERPRINT_XOR = 0x5354554E  # "STUN"
MAX_MESSAGE = 1280  # an answer to a Binding request fits easily; more is not read

_FAMILIES = {0x01: 4, 0x02: 16}


class StunError(Exception):
    """A datagram that is not a valid STUN message, or not the answer we wait for."""


@dataclass(frozen=True, slots=True)
class StunMessage:
    kind: int
    transaction: bytes
    attributes: tuple[tuple[int, bytes], ...]

    def attribute(self, kind: int) -> bytes | None:
        """The first attribute of that type (RFC 8489: later duplicates are ignored)."""
        return next((value for key, value in self.attributes if key == kind), None)


def new_transaction() -> bytes:
    return secrets.token_bytes(12)


def binding_request(transaction: bytes) -> bytes:
    """A Binding request with no attributes: 20 bytes."""
    if len(transaction) != 12:
        raise ValueError("a STUN transaction id has 12 bytes")
    return HEADER.pack(BINDING_REQUEST, 0, MAGIC_COOKIE, transaction)


def parse(data: bytes) -> StunMessage:
    """One STUN message (RFC 8489 section 5), its FINGERPRINT checked when it has one."""
    if len(data) < HEADER.size or len(data) > MAX_MESSAGE:
        raise StunError(f"a STUN message has 20 to {MAX_MESSAGE} bytes, not {len(data)}")
    kind, length, cookie, transaction = HEADER.unpack_from(data)
    if kind & 0xC000 or cookie != MAGIC_COOKIE:
        raise StunError("not a STUN message (top bits or magic cookie)")
    if length % 4 or HEADER.size + length != len(data):
        raise StunError(f"the STUN length {length} does not match the datagram")
    attributes = []
    pos = HEADER.size
    while pos < len(data):
        if len(data) - pos < 4:
            raise StunError("a STUN attribute header is cut short")
        key, size = struct.unpack_from("!HH", data, pos)
        end = pos + 4 + size
        if end > len(data):
            raise StunError("a STUN attribute runs past the message")
        if key == FINGERPRINT:
            _check_fingerprint(data, pos, data[pos + 4 : end])
        attributes.append((key, bytes(data[pos + 4 : end])))
        pos = end + (-size % 4)  # values are padded to 4 bytes
    return StunMessage(kind, transaction, tuple(attributes))


def _check_fingerprint(data: bytes, pos: int, value: bytes) -> None:
    if len(value) != 4:
        raise StunError("a STUN FINGERPRINT has 4 bytes")
    if pos + 8 != len(data):
        raise StunError("a STUN FINGERPRINT must be the last attribute")
    expected = (zlib.crc32(data[:pos]) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
    if struct.unpack("!I", value)[0] != expected:
        raise StunError("the STUN FINGERPRINT does not match")


def mapped_address(message: StunMessage) -> tuple[str, int]:
    """The address and port a Binding success response says it saw us at."""
    value = message.attribute(XOR_MAPPED_ADDRESS)
    if value is not None:
        return _address(value, xor=message.transaction)
    value = message.attribute(MAPPED_ADDRESS)
    if value is not None:
        return _address(value, xor=None)
    raise StunError("the STUN answer names no mapped address")


def _address(value: bytes, *, xor: bytes | None) -> tuple[str, int]:
    if len(value) < 4:
        raise StunError("a STUN address attribute is cut short")
    _, family, port = struct.unpack_from("!BBH", value)
    size = _FAMILIES.get(family)
    if size is None or len(value) != 4 + size:
        raise StunError("a STUN address attribute has an unknown family or a wrong length")
    raw = value[4:]
    if xor is not None:
        port ^= MAGIC_COOKIE >> 16
        mask = struct.pack("!I", MAGIC_COOKIE) + xor  # IPv4 uses only the cookie's 4 bytes
        raw = bytes(a ^ b for a, b in zip(raw, mask, strict=False))
    return str(ipaddress.ip_address(raw)), port


def answer_to(data: bytes, transaction: bytes) -> tuple[str, int] | None:
    """The mapped address if `data` is the success response to our request `transaction`;
    None for a datagram that is not (a stray packet, or another request's late answer).
    Raises StunError for an answer to our request that we cannot use."""
    try:
        message = parse(data)
    except StunError:
        return None
    if message.transaction != transaction:
        return None
    if message.kind == BINDING_ERROR:
        raise StunError("the STUN server answered with an error")
    if message.kind != BINDING_SUCCESS:
        return None
    return mapped_address(message)


DEFAULT_SERVERS = "stun.cloudflare.com:3478, stun.l.google.com:19302"


def parse_servers(text: str) -> list[tuple[str, int]]:
    """`HOST:PORT, HOST:PORT` (IPv6 in brackets) -> [(host, port)]; empty: none.
    Raises ValueError with a one-line reason."""
    servers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or any(ch.isspace() for ch in host):
            raise ValueError(f"{item!r} is not a STUN server: write HOST:PORT, e.g. stun.example.org:3478")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{item!r}: the port must be a number from 1 to 65535")
        servers.append((host, int(port)))
    return servers


class Mapping(str, Enum):
    """How the router in front of us maps our port, as two STUN servers saw it."""

    NO_NAT = "no NAT"  # a server saw one of our own addresses and our port
    PRESERVING = "port-preserving NAT"  # our port, one public address for both servers
    CONSISTENT = "NAT with a stable port"  # one public port for both servers, but not ours
    SYMMETRIC = "symmetric NAT"  # a new public port for each destination
    UNKNOWN = "unknown"  # fewer than two answers

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class PublicAddress:
    """What STUN told us: the public address (None without an answer) and the mapping."""

    host: str | None
    port: int | None
    mapping: Mapping


def classify(local_port: int, local_hosts: set[str], answers: list[tuple[str, int]]) -> PublicAddress:
    """The verdict from the answers of (up to) two servers to requests from `local_port`."""
    if not answers:
        return PublicAddress(None, None, Mapping.UNKNOWN)
    host, port = answers[0]
    if host in local_hosts and port == local_port:
        return PublicAddress(host, port, Mapping.NO_NAT)
    if len(answers) < 2:
        return PublicAddress(host, port, Mapping.UNKNOWN)
    if len({answer[1] for answer in answers}) > 1 or len({answer[0] for answer in answers}) > 1:
        return PublicAddress(host, None, Mapping.SYMMETRIC)
    return PublicAddress(host, port, Mapping.PRESERVING if port == local_port else Mapping.CONSISTENT)
