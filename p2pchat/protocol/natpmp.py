"""NAT-PMP (RFC 6886) requests and answers as bytes, without I/O.

A client sends small UDP datagrams to the gateway's port 5351: "what is your public address"
(opcode 0) and "forward this TCP port" (opcode 2, lifetime 0 deletes). The gateway answers
with opcode + 128, a result code and the seconds since it started (its epoch).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

PORT = 5351
VERSION = 0
OP_EXTERNAL_ADDRESS = 0
OP_MAP_TCP = 2
RESULTS = {
    1: "the router does not speak this NAT-PMP version",
    2: "the router refused (port mapping is turned off there)",
    3: "the router has no working internet connection",
    4: "the router has no room for another mapping",
    5: "the router does not know this request",
}


class NatPmpError(ValueError):
    """An answer that is malformed, not the one asked for, or a refusal (the message says why)."""


@dataclass(frozen=True)
class ExternalAddress:
    epoch: int
    address: str


@dataclass(frozen=True)
class PortMapped:
    epoch: int
    internal_port: int
    external_port: int
    lifetime: int  # seconds; the router may grant less than asked


def external_address_request() -> bytes:
    return struct.pack("!BB", VERSION, OP_EXTERNAL_ADDRESS)


def map_request(internal_port: int, external_port: int, lifetime: int) -> bytes:
    """Map (or, with lifetime 0 and external port 0, delete) a TCP port."""
    return struct.pack("!BBHHHI", VERSION, OP_MAP_TCP, 0, internal_port, external_port, lifetime)


def _header(data: bytes, opcode: int, size: int) -> int:
    """Check version, opcode and result; return the epoch."""
    if len(data) < 4:
        raise NatPmpError(f"a NAT-PMP answer of {len(data)} bytes is too short")
    version, op, result = struct.unpack("!BBH", data[:4])
    if version != VERSION or op != opcode + 128:
        raise NatPmpError(f"not an answer to this NAT-PMP request (version {version}, opcode {op})")
    if result != 0:
        raise NatPmpError(RESULTS.get(result, f"the router answered with error {result}"))
    if len(data) < size:
        raise NatPmpError(f"a NAT-PMP answer of {len(data)} bytes is too short (needs {size})")
    return int(struct.unpack("!I", data[4:8])[0])


def parse_external_address(data: bytes) -> ExternalAddress:
    epoch = _header(data, OP_EXTERNAL_ADDRESS, 12)
    return ExternalAddress(epoch, str(ipaddress.IPv4Address(data[8:12])))


def parse_port_mapped(data: bytes) -> PortMapped:
    epoch = _header(data, OP_MAP_TCP, 16)
    internal, external, lifetime = struct.unpack("!HHI", data[8:16])
    return PortMapped(epoch, internal, external, lifetime)
