"""Who can dial an address: anyone, or only the network it is on. No I/O."""

from __future__ import annotations

import ipaddress


def private_external(address: str) -> bool:
    """An address no one on the internet can dial: RFC 1918 or shared (RFC 6598) space, which
    means another NAT sits in front of the router. (Not `is_global`: documentation ranges are
    not global either, and real networks use odd ranges.)"""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    blocks = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
    return ip.version == 4 and any(ip in ipaddress.ip_network(block) for block in blocks)


def home_only(address: str) -> bool:
    """An address no one outside its own network can dial: RFC 1918, shared (RFC 6598), unique
    local, loopback or link-local (not `is_private`, which also counts documentation ranges)."""
    ip = ipaddress.ip_address(address)
    unique_local = ip.version == 6 and ip in ipaddress.ip_network("fc00::/7")
    return ip.is_loopback or ip.is_link_local or unique_local or private_external(address)
