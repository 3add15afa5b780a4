"""Asking a router for a port: routers that answer nonsense (SSDP, IGD description, NAT-PMP)
end in one clear reason, never a crash or a hang; a NAT-PMP mapping is removed at quit."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import pytest
from router_fakes import (
    fake_igd,
    http_server,
    natpmp_gateway,
    soap_answer,
    soap_fault,
    ssdp_answer,
    udp_server,
)

from p2pchat.net.portmap import (
    NatPmpRouter,
    PortMapError,
    UpnpRouter,
    default_gateway,
    private_external,
)
from p2pchat.protocol import natpmp
from p2pchat.reach import port_mapping
from p2pchat.reach.port_mapping import PortMapper

pytestmark = pytest.mark.timeout(30)


async def upnp_failure(reply) -> str:
    transport, _, port = await udp_server(reply)
    try:
        with pytest.raises(PortMapError) as failed:
            await UpnpRouter(7000, 600, timeout=1.0, target=("127.0.0.1", port)).add()
        return str(failed.value)
    finally:
        transport.close()


async def test_ssdp_garbage_and_answers_without_a_location_find_no_router():
    garbage = [b"\x00\xff" * 40, b"HTTP/1.1 200 OK\r\n\r\n", b"NOTIFY * HTTP/1.1\r\nLOCATION: x\r\n\r\n",
               ssdp_answer(None), ssdp_answer("ftp://127.0.0.1/x"), b"HTTP/1.1 200 OK\r\n" + b"A" * 1400]
    assert await upnp_failure(lambda data: garbage) == "no UPnP router answered"


@pytest.mark.parametrize("body, status", [
    (b"<root><device", "200 OK"),  # cut off
    (b"\x00\x01 not xml at all", "200 OK"),
    (b"<?xml version='1.0'?><root xmlns='urn:schemas-upnp-org:device-1-0'></root>", "200 OK"),
    (b"", "500 Internal Server Error"),
])
async def test_a_description_that_cannot_be_read_is_a_clear_reason(body, status):
    server, http_port = await http_server(body, status)
    try:
        reason = await upnp_failure(lambda data: [ssdp_answer(f"http://127.0.0.1:{http_port}/rootDesc.xml")])
    finally:
        server.close()
    assert reason.startswith("the UPnP router at 127.0.0.1 ")
    assert "\n" not in reason


async def test_a_device_without_port_mapping_says_so():
    body = (b"<?xml version='1.0'?><root xmlns='urn:schemas-upnp-org:device-1-0'><specVersion><major>1</major>"
            b"<minor>0</minor></specVersion><device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>"
            b"<friendlyName>x</friendlyName><UDN>uuid:1</UDN></device></root>")
    server, http_port = await http_server(body)
    try:
        reason = await upnp_failure(lambda data: [ssdp_answer(f"http://127.0.0.1:{http_port}/rootDesc.xml")])
    finally:
        server.close()
    assert reason == "the UPnP device at 127.0.0.1 offers no port mapping"


@pytest.mark.parametrize("answers, reason", [
    ([], "no NAT-PMP router answered"),
    ([b"\xff"], "too short"),
    ([b"\x00\x81\x00\x00" + bytes(8)], "not an answer"),
    ([struct.pack("!BBHI", 0, 128, 2, 1) + bytes(4)], "refused"),
])
async def test_natpmp_nonsense_is_a_clear_reason(answers, reason):
    transport, _, port = await udp_server(lambda data: answers)
    try:
        with pytest.raises(PortMapError, match=reason):
            await NatPmpRouter(7000, 600, timeout=0.6, gateway=("127.0.0.1", port)).add()
    finally:
        transport.close()


@contextlib.asynccontextmanager
async def mapper_on(reply):
    """A PortMapper asking a loopback NAT-PMP gateway that answers with `reply`; started,
    and with its first mapping made."""
    transport, gateway, port = await udp_server(reply)
    mapped = []
    mapper = PortMapper(7000, mapped.append,
                        routers=[NatPmpRouter(7000, 600, timeout=1.0, gateway=("127.0.0.1", port))])
    try:
        mapper.start(delay=0)
        while mapper.mapping is None:
            await asyncio.sleep(0.01)
        yield mapper, mapped, gateway
        await mapper.close()
    finally:
        transport.close()


async def test_a_mapping_is_reported_and_removed_at_quit():
    async with mapper_on(natpmp_gateway()) as (mapper, mapped, gateway):
        assert mapper.public_address == ("203.0.113.11", 7000)
        assert mapper.status == "203.0.113.11:7000 forwarded by NAT-PMP (renewed every 5 min)"
        assert [m.method for m in mapped] == ["NAT-PMP"]
    assert gateway.requests[-1] == natpmp.map_request(7000, 0, 0)  # deleted at close


async def test_a_mapping_is_renewed_before_its_lease_ends(monkeypatch):
    monkeypatch.setattr(port_mapping, "MIN_RENEW", 0.05)  # the gateway grants 1 s leases
    maps = natpmp.map_request(7000, 7000, 600)
    async with mapper_on(natpmp_gateway(lifetime=1)) as (mapper, mapped, gateway):
        while gateway.requests.count(maps) < 3:  # the first request and two renewals, at 0.5 s
            await asyncio.sleep(0.05)
        assert len(mapped) == 1  # said once, not at every renewal
        assert mapper.public_address == ("203.0.113.11", 7000)


async def test_a_router_behind_another_nat_is_not_advertised():
    async with mapper_on(natpmp_gateway(external=bytes([100, 64, 0, 7]))) as (mapper, mapped, _):
        assert mapper.public_address is None and mapped == []
        assert "100.64.0.7 is private: another router stands in front of it" in mapper.status


async def test_no_router_at_all_is_one_status_line():
    transport, _, port = await udp_server(lambda data: [])
    mapper = PortMapper(7000, routers=[NatPmpRouter(7000, 600, timeout=0.3, gateway=("127.0.0.1", port))])
    try:
        mapper.start(delay=0)
        await mapper._task
        assert mapper.status == "not mapped (no NAT-PMP router answered)"
        await mapper.close()
    finally:
        transport.close()


def test_private_external_addresses_are_rfc1918_and_shared_space_only(tmp_path):
    assert private_external("192.168.1.1") and private_external("100.64.0.1") and private_external("10.1.2.3")
    assert not private_external("203.0.113.11")  # documentation space: the lab's internet
    assert not private_external("8.8.8.8")
    routes = tmp_path / "route"
    routes.write_text("Iface\tDestination\tGateway \tFlags\n"
                      "eth0\t00000000\t0164A8C0\t0003\n")
    assert default_gateway(routes) == "192.168.100.1"
    routes.write_text("garbage")
    assert default_gateway(routes) is None


async def igd_mapping(control):
    """Map through a fake IGD answering SOAP calls with `control`: (mapping or reason, calls)."""
    server, http_port, called = await fake_igd(control)
    transport, _, ssdp_port = await udp_server(
        lambda data: [ssdp_answer(f"http://127.0.0.1:{http_port}/rootDesc.xml")])
    router = UpnpRouter(7000, 600, timeout=2.0, target=("127.0.0.1", ssdp_port))
    try:
        try:
            return await router.add(), called, router
        except PortMapError as exc:
            return str(exc), called, router
    finally:
        transport.close()
        server.close()


async def test_an_igd_maps_and_a_taken_port_moves_to_another():
    taken = {"first": True}

    def control(action, body):
        if action == "AddPortMapping" and taken.pop("first", False):
            return "500 Internal Server Error", soap_fault(718, "ConflictInMappingEntry")
        if action == "GetExternalIPAddress":
            return "200 OK", soap_answer(action, {"NewExternalIPAddress": "203.0.113.9"})
        return "200 OK", soap_answer(action, {})

    mapping, called, _ = await igd_mapping(control)
    assert called == ["AddPortMapping", "AddPortMapping", "GetExternalIPAddress"]
    assert (mapping.method, mapping.external_address, mapping.internal_port) == ("UPnP", "203.0.113.9", 7000)
    assert mapping.external_port != 7000


@pytest.mark.parametrize("status, answer, reason", [
    ("200 OK", b"<s:Envelope><unclosed", "refused AddPortMapping"),
    ("200 OK", b"\x00\xff binary", "refused AddPortMapping"),
    ("500 Internal Server Error", soap_fault(606, "Action not authorized"), "refused AddPortMapping: UPnP error 606"),
    ("404 Not Found", b"", "refused AddPortMapping"),
])
async def test_soap_nonsense_or_a_refusal_is_one_reason(status, answer, reason):
    result, _, _ = await igd_mapping(lambda action, body: (status, answer))
    assert isinstance(result, str) and result.startswith("the UPnP router at 127.0.0.1 ")
    assert reason in result and "\n" not in result


async def test_a_router_that_hides_its_address_keeps_the_mapping_unadvertised():
    def control(action, body):
        if action == "GetExternalIPAddress":
            return "200 OK", b"<?xml version='1.0'?><nonsense/>"
        return "200 OK", soap_answer(action, {})

    mapping, called, router = await igd_mapping(control)
    assert (mapping.external_address, mapping.external_port) == ("", 7000)
    mapper = PortMapper(7000)
    mapper.mapping = mapping
    assert mapper.public_address is None  # nothing to put in an invite
