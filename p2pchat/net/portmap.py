"""Ask the home router to forward a TCP port: UPnP IGD or NAT-PMP, both on the standard
library alone (the messages are in protocol/upnp.py and protocol/natpmp.py), so that asking
costs no import and next to no memory, whether a router answers or not.

Each router kind is a class with `add()` (map, or renew the same mapping) and `remove()`.
Everything a router says is untrusted input: a reply that makes no sense is a `PortMapError`
with one line saying why, never a crash, and every step has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from p2pchat.protocol import natpmp, upnp
from p2pchat.protocol.scope import private_external

DESCRIPTION = "p2pchat"
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


def could_be_public(address: str) -> bool:
    """Whether a router's claim to be reachable at `address` could be true: not loopback,
    unspecified, link-local, multicast, nor behind another NAT. Anything else is not shown or
    advertised (a lying device on the LAN must not put 127.0.0.1 into an invite)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    odd = ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast
    return not odd and not private_external(address)


def _source_address(router: str) -> str:
    """Our address on the way to the router (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((router, 9))
            return probe.getsockname()[0]
    except OSError as exc:
        raise PortMapError(f"no route to the router at {router}: {exc.strerror or exc}") from None


def default_gateway(route_file: Path = Path("/proc/net/route")) -> str | None:
    """The IPv4 default gateway from the kernel's routing table (Linux), or None."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in route_file.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000" and int(fields[3], 16) & 2:  # default route, via a gateway
                return socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
    return None


# -- UPnP IGD ------------------------------------------------------------------------------


SEARCH_RESEND = 1.0  # seconds between two M-SEARCHes (UDP: the first may be lost)


async def find_igd(timeout: float, target: tuple[str, int] | None = None) -> upnp.Url:
    """The description URL of the first Internet Gateway Device that answers an SSDP search
    (multicast, or unicast to `target`) within `timeout` seconds. Only the router may answer:
    the default gateway (or `target`), with a description on its own address; any other device
    on the LAN is ignored."""
    router = target[0] if target else default_gateway()
    if router is None:
        raise PortMapError("no default gateway to ask for UPnP")
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            _Datagrams, local_addr=("0.0.0.0", 0), family=socket.AF_INET)
    except OSError as exc:
        raise PortMapError(f"cannot search for a UPnP router: {exc.strerror or exc}") from None
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    deadline = loop.time() + timeout
    try:
        while (left := deadline - loop.time()) > 0:
            try:
                transport.sendto(upnp.search_request(max(1, min(int(timeout), 5))), target or upnp.SSDP_GROUP)
            except OSError as exc:
                raise PortMapError(f"cannot search for a UPnP router: {exc.strerror or exc}") from None
            resend = loop.time() + min(left, SEARCH_RESEND)
            while (wait := resend - loop.time()) > 0:
                try:
                    data, sender = await asyncio.wait_for(protocol.received.get(), wait)
                except asyncio.TimeoutError:
                    break
                location = upnp.parse_search_answer(data)
                try:
                    url = upnp.parse_url(location) if location is not None and sender == router else None
                except upnp.UpnpError:
                    url = None
                if url is not None and url.host == router:
                    return url
                logger.debug("port mapping: ignored an SSDP answer from {} ({!r})", sender, (location or "")[:80])
    finally:
        transport.close()
    raise PortMapError("no UPnP router answered")


async def _http(url: upnp.Url, request: bytes, timeout: float) -> tuple[int, bytes]:
    """Send one request, read the answer until the router closes (at most MAX_DESCRIPTION)."""
    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            writer.write(request)
            data = b""
            while len(data) <= upnp.MAX_DESCRIPTION and (piece := await reader.read(64 * 1024)):
                data += piece
            return data
        finally:
            writer.close()

    data = await asyncio.wait_for(exchange(), timeout)
    if len(data) > upnp.MAX_DESCRIPTION:
        raise upnp.UpnpError(f"an answer larger than {upnp.MAX_DESCRIPTION // 1024} KB")
    return upnp.parse_http_answer(data)


class UpnpRouter:
    def __init__(self, internal_port: int, lifetime: int, *, timeout: float = 3.0,
                 target: tuple[str, int] | None = None) -> None:
        self.internal_port = internal_port
        self.lifetime = lifetime
        self.timeout = timeout
        self.target = target
        self._service = ""
        self._control: upnp.Url | None = None
        self._router = ""
        self._external_port: int | None = None

    async def _call(self, action: str, **arguments) -> dict[str, str]:
        request = upnp.soap_request(self._control, self._service, action, arguments)
        try:
            status, body = await _http(self._control, request, self.timeout)
            return upnp.parse_soap_answer(status, body, action)
        except asyncio.TimeoutError:
            raise PortMapError(f"the UPnP router at {self._router} did not answer {action}") from None
        except (upnp.UpnpError, OSError) as exc:
            raise PortMapError(f"the UPnP router at {self._router} refused {action}: {_reason(exc)}") from exc

    async def _connect(self) -> None:
        location = await find_igd(self.timeout, self.target)
        self._router = location.host
        try:
            status, body = await _http(location, upnp.get_request(location), self.timeout * 2)
            if status != 200:
                raise upnp.UpnpError(f"HTTP status {status}")
            self._service, self._control = upnp.control_url(body, location)
        except asyncio.TimeoutError:
            raise PortMapError(f"the UPnP router at {self._router} did not describe itself in time") from None
        except upnp.NoPortMapping:
            raise PortMapError(f"the UPnP device at {self._router} offers no port mapping") from None
        except (upnp.UpnpError, OSError) as exc:
            raise PortMapError(f"the UPnP router at {self._router} sent a description that cannot be "
                               f"read: {_reason(exc)}") from None

    async def add(self) -> Mapping:
        if self._control is None:
            await self._connect()
        internal = _source_address(self._router)
        tries = [self._external_port] if self._external_port else [self.internal_port] + [
            1024 + secrets.randbelow(64511) for _ in range(PORT_TRIES - 1)]
        lifetime = self.lifetime
        for port in tries:
            try:
                await self._add(port, internal, lifetime)
            except PortMapError as exc:
                code = getattr(exc.__cause__, "code", None)
                if code == upnp.ONLY_PERMANENT and lifetime:
                    lifetime = 0
                    await self._add(port, internal, lifetime)
                elif code == upnp.CONFLICT and port != tries[-1]:
                    continue
                else:
                    raise
            self._external_port = port
            try:  # the mapping stands (and is removed at quit) even if the router hides its address
                result = await self._call("GetExternalIPAddress")
                external = _claimed_external(result.get("NewExternalIPAddress", ""), self._router)
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
        if self._control is not None and self._external_port:
            await self._call("DeletePortMapping", NewRemoteHost="", NewExternalPort=self._external_port,
                             NewProtocol="TCP")
            self._external_port = None


def _reason(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def _claimed_external(address: str, router: str) -> str:
    """The router's claimed public address, or "" when no one could dial it there (a private
    one is kept: it is how another NAT in front of the router shows)."""
    behind_another_nat = private_external(address) and _parses(address)
    if address and not could_be_public(address) and not behind_another_nat:
        logger.info("port mapping: the router at {} claims the public address {!r}; not used", router, address[:64])
        return ""
    return address


def _parses(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


# -- NAT-PMP -------------------------------------------------------------------------------


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()  # (data, sender)

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.put_nowait((data, addr[0]))


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
                        data, _ = await asyncio.wait_for(protocol.received.get(), left)
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
        router = self._router()[0]
        return Mapping("NAT-PMP", router, _claimed_external(address.address, router), mapped.external_port,
                       self.internal_port, mapped.lifetime)

    async def remove(self) -> None:
        if self._external_port:
            await self._ask(natpmp.map_request(self.internal_port, 0, 0), natpmp.parse_port_mapped)
            self._external_port = 0
