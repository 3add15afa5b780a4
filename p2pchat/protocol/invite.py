"""Invites: one pasteable line that introduces the inviter to a new peer. No I/O.

The line is `p2pchat1` followed by the lowercase base32 (no padding) of:

    version      1 byte, 1
    fingerprint  32 bytes: the inviter's key fingerprint (the SHA-256 it is the base32 of)
    secret       16 bytes, random, one-time
    expires      4 bytes, big-endian Unix time in seconds
    addresses    1 byte count, then per address: 4 or 6 (1 byte), the IPv4 (4 bytes) or
                 IPv6 (16 bytes) address, the port (2 bytes)
    relays       1 byte count, then per relay: host length (1 byte), the host in ASCII, port (2)
    check        4 bytes: the first 4 bytes of SHA-256 over CHECK_LABEL and everything above

Letters and digits only, so a double click selects all of it and no shell quotes it. The check
catches a typo before anything is dialled. The secret never leaves TLS: the relay sees only
`relay_token()`, a hash of it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import struct
from dataclasses import dataclass, field

from p2pchat.protocol.transit import RelayAddress

PREFIX = "p2pchat1"
VERSION = 1
CHECK_LABEL = b"p2pchat invite v1"
RELAY_TOKEN_LABEL = b"p2pchat invite relay token v1\n"
SECRET_BYTES = 16
INVITE_LIFETIME = 24 * 3600  # seconds an invite can be used
MAX_ITEMS = 16  # addresses, relays


class InviteError(ValueError):
    """The text is not a usable invite; the message is one line for the user."""


@dataclass(frozen=True)
class Invite:
    fingerprint: str  # base32, as p2pchat.identity writes it
    secret: str  # 32 lowercase hex digits
    expires: int  # Unix seconds
    addresses: tuple[tuple[str, int], ...] = ()
    relays: tuple[RelayAddress, ...] = field(default=())

    def expired(self, now: float) -> bool:
        return now >= self.expires


def new_secret() -> str:
    return secrets.token_hex(SECRET_BYTES)


def relay_token(secret: str) -> str:
    """The token both sides present to the relay for an invite (the secret stays inside TLS)."""
    return hashlib.sha256(RELAY_TOKEN_LABEL + bytes.fromhex(secret)).hexdigest()


def _fingerprint_bytes(fingerprint: str) -> bytes:
    try:
        raw = base64.b32decode(fingerprint + "=" * (-len(fingerprint) % 8))
    except ValueError:
        raise ValueError(f"{fingerprint!r} is not a fingerprint") from None
    if len(raw) != 32:
        raise ValueError(f"{fingerprint!r} is not a full fingerprint")
    return raw


def format_invite(invite: Invite) -> str:
    if len(invite.addresses) > MAX_ITEMS or len(invite.relays) > MAX_ITEMS:
        raise ValueError(f"an invite holds at most {MAX_ITEMS} addresses and {MAX_ITEMS} relays")
    body = bytearray([VERSION])
    body += _fingerprint_bytes(invite.fingerprint)
    body += bytes.fromhex(invite.secret)
    body += struct.pack(">I", invite.expires)
    body.append(len(invite.addresses))
    for host, port in invite.addresses:
        packed = ipaddress.ip_address(host).packed
        body += bytes([4 if len(packed) == 4 else 6]) + packed + struct.pack(">H", port)
    body.append(len(invite.relays))
    for relay in invite.relays:
        name = relay.host.encode("ascii")
        if not 1 <= len(name) <= 255:
            raise ValueError(f"relay host {relay.host!r} is too long for an invite")
        body += bytes([len(name)]) + name + struct.pack(">H", relay.port)
    body += _check(body)
    return PREFIX + base64.b32encode(bytes(body)).decode("ascii").rstrip("=").lower()


def _check(body: bytes | bytearray) -> bytes:
    return hashlib.sha256(CHECK_LABEL + bytes(body)).digest()[:4]


def looks_like_invite(text: str) -> bool:
    return "".join(text.split()).lower().startswith(PREFIX)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InviteError("the invite is cut short: paste the whole line")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def port(self) -> int:
        port = int(struct.unpack(">H", self.take(2))[0])
        if port == 0:
            raise InviteError("the invite names port 0")
        return port


def parse_invite(text: str) -> Invite:
    """Read a pasted invite (whitespace and case do not matter); raise InviteError."""
    compact = "".join(text.split()).lower()
    if not compact.startswith(PREFIX):
        raise InviteError(f"an invite starts with {PREFIX}")
    encoded = compact[len(PREFIX) :].upper()
    try:
        data = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except ValueError:
        raise InviteError("the invite has a typo (characters that cannot be in an invite)") from None
    if len(data) < 5:
        raise InviteError("the invite is cut short: paste the whole line")
    body, check = data[:-4], data[-4:]
    if not secrets.compare_digest(_check(body), check):
        raise InviteError("the invite has a typo or is incomplete (its check does not match): paste it again")
    reader = _Reader(body)
    version = reader.byte()
    if version != VERSION:
        raise InviteError(f"the invite is of version {version}; this p2pchat reads version {VERSION}")
    fingerprint = base64.b32encode(reader.take(32)).decode("ascii").rstrip("=")
    secret = reader.take(SECRET_BYTES).hex()
    expires = struct.unpack(">I", reader.take(4))[0]
    addresses = []
    for _ in range(reader.byte()):
        family = reader.byte()
        if family not in (4, 6):
            raise InviteError("the invite holds an address of an unknown kind")
        host = str(ipaddress.ip_address(reader.take(4 if family == 4 else 16)))
        addresses.append((host, reader.port()))
    relays = []
    for _ in range(reader.byte()):
        raw = reader.take(reader.byte())
        try:
            host = raw.decode("ascii")
        except UnicodeDecodeError:
            raise InviteError("the invite holds a relay name that is not ASCII") from None
        if not host or any(c.isspace() or c in "/@" for c in host):
            raise InviteError("the invite holds an unusable relay name")
        relays.append(RelayAddress(host, reader.port()))
    if reader.pos != len(body):
        raise InviteError("the invite has bytes this version does not know")
    return Invite(fingerprint, secret, expires, tuple(addresses), tuple(relays))
