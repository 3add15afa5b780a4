"""Ask the home router to forward a TCP port: UPnP IGD (through async-upnp-client) or NAT-PMP.

Each router kind is a class with `add()` (map, or renew the same mapping) and `remove()`.
Everything a router says is untrusted input: a reply that makes no sense is a `PortMapError`
with one line saying why, never a crash, and every step has a timeout. async-upnp-client
(and aiohttp under it) is imported only when a mapping is first tried, off the start-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ipaddress
import secrets
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from p2pchat.protocol import natpmp

DESCRIPTION = "p2pchat"
IGD_SEARCH = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
_WAN_SERVICES = ("urn:schemas-upnp-org:service:WANIPConnection:",
                 "urn:schemas-upnp-org:service:WANPPPConnection:")
_CONFLICT, _ONLY_PERMANENT = 718, 725  # UPnP error codes of AddPortMapping
PORT_TRIES = 3  # the listening port itself, then random ones when that is taken


class PortMapError(Exception):
    """No mapping; the message says why in one line."""


@dataclass(frozen=True)
class Mapping:
    method: str  # "UPnP" or "NAT-PMP"
    router: str  # the router's LAN address
    external_address: str  # the router's public address, "" when it would not say
    external_port: int
    internal_port: int
    lifetime: int  # seconds granted; 0: until removed


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


def _source_address(router: str) -> str:
    """Our address on the way to the router (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((router, 9))
        return probe.getsockname()[0]


def default_gateway(route_file: Path = Path("/proc/net/route")) -> str | None:
    """The IPv4 default gateway from the kernel's routing table (Linux), or None."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in route_file.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000" and int(fields[3], 16) & 2:  # default route, via a gateway
                return socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
    return None


# -- UPnP IGD ------------------------------------------------------------------------------


async def load_upnp() -> None:
    """Import async-upnp-client (and aiohttp, ~0.4 s) in a thread, not on the event loop."""
    await asyncio.to_thread(importlib.import_module, "async_upnp_client.client_factory")
    await asyncio.to_thread(importlib.import_module, "async_upnp_client.aiohttp")
    await asyncio.to_thread(importlib.import_module, "async_upnp_client.search")


async def find_igd(timeout: float, target: tuple[str, int] | None = None) -> str:
    """The description URL of the first Internet Gateway Device that answers an SSDP search
    (multicast, or unicast to `target`)."""
    from async_upnp_client.search import SsdpSearchListener

    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def answer(headers) -> None:
        location = headers.get("location") or ""
        if location.startswith("http://") and not found.done():
            found.set_result(location)

    listener = SsdpSearchListener(callback=answer, target=target, timeout=max(1, int(timeout)),
                                  search_target=IGD_SEARCH, connect_callback=lambda: listener.async_search())
    try:
        await listener.async_start()
    except OSError as exc:
        raise PortMapError(f"cannot search for a UPnP router: {exc.strerror or exc}") from None
    try:
        return await asyncio.wait_for(found, timeout)
    except asyncio.TimeoutError:
        raise PortMapError("no UPnP router answered") from None
    finally:
        listener.async_stop()


def _upnp_reason(exc: BaseException) -> str:
    code = getattr(exc, "error_code", None)
    text = str(exc).strip() or type(exc).__name__
    return f"UPnP error {code}: {text}" if code else text


class UpnpRouter:
    def __init__(self, internal_port: int, lifetime: int, *, timeout: float = 3.0,
                 target: tuple[str, int] | None = None) -> None:
        self.internal_port = internal_port
        self.lifetime = lifetime
        self.timeout = timeout
        self.target = target
        self._service: Any = None  # the router's UPnP service, found on first use
        self._router = ""
        self._external_port: int | None = None

    async def _call(self, action: str, **arguments):
        from async_upnp_client.exceptions import UpnpError

        try:
            return await asyncio.wait_for(self._service.action(action).async_call(**arguments), self.timeout)
        except asyncio.TimeoutError:
            raise PortMapError(f"the UPnP router at {self._router} did not answer {action}") from None
        except (UpnpError, OSError, KeyError, ValueError, TypeError) as exc:
            raise PortMapError(f"the UPnP router at {self._router} refused {action}: {_upnp_reason(exc)}") from exc

    async def _connect(self) -> None:
        await load_upnp()
        from async_upnp_client.aiohttp import AiohttpRequester
        from async_upnp_client.client_factory import UpnpFactory
        from async_upnp_client.exceptions import UpnpError

        location = await find_igd(self.timeout, self.target)
        self._router = location.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        factory = UpnpFactory(AiohttpRequester(timeout=max(1, int(self.timeout))), non_strict=True)
        try:
            device = await asyncio.wait_for(factory.async_create_device(location), self.timeout * 2)
        except asyncio.TimeoutError:
            raise PortMapError(f"the UPnP router at {self._router} did not describe itself in time") from None
        except (UpnpError, OSError, ValueError, KeyError, TypeError) as exc:  # malformed XML included
            raise PortMapError(f"the UPnP router at {self._router} sent a description that cannot be "
                               f"read: {_upnp_reason(exc)}") from None
        for service in device.all_services:
            if service.service_type.startswith(_WAN_SERVICES) and "AddPortMapping" in service.actions:
                self._service = service
                return
        raise PortMapError(f"the UPnP device at {self._router} offers no port mapping")

    async def add(self) -> Mapping:
        if self._service is None:
            await self._connect()
        internal = _source_address(self._router)
        tries = [self._external_port] if self._external_port else [self.internal_port] + [
            1024 + secrets.randbelow(64511) for _ in range(PORT_TRIES - 1)]
        lifetime = self.lifetime
        for port in tries:
            try:
                await self._add(port, internal, lifetime)
            except PortMapError as exc:
                code = getattr(exc.__cause__, "error_code", None)
                if code == _ONLY_PERMANENT and lifetime:
                    lifetime = 0
                    await self._add(port, internal, lifetime)
                elif code == _CONFLICT and port != tries[-1]:
                    continue
                else:
                    raise
            self._external_port = port
            try:  # the mapping stands (and is removed at quit) even if the router hides its address
                result = await self._call("GetExternalIPAddress")
                external = str(result.get("NewExternalIPAddress") or "")
            except PortMapError as exc:
                logger.info("port mapping: {}", exc)
                external = ""
            return Mapping("UPnP", self._router, external, port, self.internal_port, lifetime)
        raise PortMapError("every port tried is taken on the router")

    async def _add(self, port: int, internal: str, lifetime: int) -> None:
        await self._call(
            "AddPortMapping", NewRemoteHost="", NewExternalPort=port, NewProtocol="TCP",
            NewInternalPort=self.internal_port, NewInternalClient=internal, NewEnabled=True,
            NewPortMappingDescription=DESCRIPTION, NewLeaseDuration=lifetime,
        )

    async def remove(self) -> None:
        if self._service is not None and self._external_port:
            await self._call("DeletePortMapping", NewRemoteHost="", NewExternalPort=self._external_port,
                             NewProtocol="TCP")
            self._external_port = None


# -- NAT-PMP -------------------------------------------------------------------------------


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.put_nowait(data)


class NatPmpRouter:
    def __init__(self, internal_port: int, lifetime: int, *, timeout: float = 2.0,
                 gateway: tuple[str, int] | None = None) -> None:
        self.internal_port = internal_port
        self.lifetime = lifetime
        self.timeout = timeout
        self.gateway = gateway
        self._external_port = 0

    def _router(self) -> tuple[str, int]:
        if self.gateway is not None:
            return self.gateway
        found = default_gateway()
        if found is None:
            raise PortMapError("no default gateway to ask for NAT-PMP")
        return found, natpmp.PORT

    async def _ask(self, request: bytes, parse):
        """Send `request`, resending at 0.25, 0.5, 1 s... (RFC 6886) until an answer parses."""
        router = self._router()
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.create_datagram_endpoint(_Datagrams, remote_addr=router)
        except OSError as exc:
            raise PortMapError(f"cannot reach {router[0]} for NAT-PMP: {exc.strerror or exc}") from None
        deadline = loop.time() + self.timeout
        wait, problem = 0.25, "no NAT-PMP router answered"
        try:
            while loop.time() < deadline:
                transport.sendto(request)
                resend = min(deadline, loop.time() + wait)
                while (left := resend - loop.time()) > 0:
                    try:
                        data = await asyncio.wait_for(protocol.received.get(), left)
                    except asyncio.TimeoutError:
                        break
                    try:
                        return parse(data)
                    except natpmp.NatPmpError as exc:
                        problem = f"the NAT-PMP router at {router[0]}: {exc}"
                        if "not an answer" not in str(exc) and "too short" not in str(exc):
                            raise PortMapError(problem) from None  # a refusal: final
                wait *= 2
        finally:
            transport.close()
        raise PortMapError(problem)

    async def add(self) -> Mapping:
        address = await self._ask(natpmp.external_address_request(), natpmp.parse_external_address)
        wanted = self._external_port or self.internal_port
        mapped = await self._ask(natpmp.map_request(self.internal_port, wanted, self.lifetime),
                                 natpmp.parse_port_mapped)
        if mapped.internal_port != self.internal_port or not mapped.external_port:
            raise PortMapError("the NAT-PMP router mapped another port than the one asked for")
        self._external_port = mapped.external_port
        return Mapping("NAT-PMP", self._router()[0], address.address, mapped.external_port,
                       self.internal_port, mapped.lifetime)

    async def remove(self) -> None:
        if self._external_port:
            await self._ask(natpmp.map_request(self.internal_port, 0, 0), natpmp.parse_port_mapped)
            self._external_port = 0
