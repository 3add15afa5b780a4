"""Routers that answer wrongly, on loopback: an SSDP responder, an HTTP server for the IGD
description, and a NAT-PMP gateway, each saying what the test tells it to."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, reply: Callable[[bytes], list[bytes]]) -> None:
        self.reply = reply
        self.requests: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.requests.append(data)
        for answer in self.reply(data):
            self.transport.sendto(answer, addr)


async def udp_server(reply: Callable[[bytes], list[bytes]]) -> tuple[asyncio.DatagramTransport, _Udp, int]:
    """A UDP server on 127.0.0.1 that answers each datagram with `reply(data)`."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Udp(reply), local_addr=("127.0.0.1", 0))
    return transport, protocol, transport.get_extra_info("sockname")[1]


def ssdp_answer(location: str | None) -> bytes:
    lines = ["HTTP/1.1 200 OK", "CACHE-CONTROL: max-age=120",
             "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1",
             "USN: uuid:00000000-0000-4000-8000-000000000001::urn:schemas-upnp-org:device:InternetGatewayDevice:1"]
    if location is not None:
        lines.append(f"LOCATION: {location}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def http_server(body: bytes, status: str = "200 OK") -> tuple[asyncio.Server, int]:
    """Answers every request with `body` (as XML) and closes."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def natpmp_gateway(external: bytes = bytes([203, 0, 113, 11]), lifetime: int | None = None):
    """A reply function for `udp_server`: a NAT-PMP gateway that maps whatever it is asked."""
    def reply(data: bytes) -> list[bytes]:
        if data == b"\x00\x00":
            return [struct.pack("!BBHI", 0, 128, 0, 1) + external]
        version, op, _, internal, external_port, asked = struct.unpack("!BBHHHI", data)
        granted = asked if lifetime is None else lifetime
        return [struct.pack("!BBHIHHI", 0, 130, 0, 1, internal, external_port if asked else 0, granted)]
    return reply


IGD_DESCRIPTION = b"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>fake router</friendlyName><UDN>uuid:00000000-0000-4000-8000-00000000cafe</UDN>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><SCPDURL>/scpd.xml</SCPDURL>
<controlURL>/ctl</controlURL><eventSubURL>/evt</eventSubURL></service></serviceList></device></root>"""

_VARIABLES = {"RemoteHost": "string", "ExternalPort": "ui2", "PortMappingProtocol": "string",
              "InternalPort": "ui2", "InternalClient": "string", "PortMappingEnabled": "boolean",
              "PortMappingDescription": "string", "PortMappingLeaseDuration": "ui4",
              "ExternalIPAddress": "string"}
_ACTIONS = {
    "AddPortMapping": [("NewRemoteHost", "in", "RemoteHost"), ("NewExternalPort", "in", "ExternalPort"),
                       ("NewProtocol", "in", "PortMappingProtocol"), ("NewInternalPort", "in", "InternalPort"),
                       ("NewInternalClient", "in", "InternalClient"), ("NewEnabled", "in", "PortMappingEnabled"),
                       ("NewPortMappingDescription", "in", "PortMappingDescription"),
                       ("NewLeaseDuration", "in", "PortMappingLeaseDuration")],
    "DeletePortMapping": [("NewRemoteHost", "in", "RemoteHost"), ("NewExternalPort", "in", "ExternalPort"),
                          ("NewProtocol", "in", "PortMappingProtocol")],
    "GetExternalIPAddress": [("NewExternalIPAddress", "out", "ExternalIPAddress")],
}


def _scpd() -> bytes:
    actions = "".join(
        f"<action><name>{name}</name><argumentList>" + "".join(
            f"<argument><name>{arg}</name><direction>{way}</direction>"
            f"<relatedStateVariable>{var}</relatedStateVariable></argument>" for arg, way, var in args)
        + "</argumentList></action>" for name, args in _ACTIONS.items())
    variables = "".join(f'<stateVariable sendEvents="no"><name>{n}</name><dataType>{t}</dataType></stateVariable>'
                        for n, t in _VARIABLES.items())
    return (f'<?xml version="1.0"?><scpd xmlns="urn:schemas-upnp-org:service-1-0"><specVersion><major>1</major>'
            f"<minor>0</minor></specVersion><actionList>{actions}</actionList>"
            f"<serviceStateTable>{variables}</serviceStateTable></scpd>").encode()


def soap_answer(action: str, values: dict[str, str]) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    return (f'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            f's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            f'<u:{action}Response xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">{inner}'
            f"</u:{action}Response></s:Body></s:Envelope>").encode()


def soap_fault(code: int, text: str) -> bytes:
    return (f'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            f's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault>'
            f"<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
            f'<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>{code}</errorCode>'
            f"<errorDescription>{text}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>").encode()


async def fake_igd(
    control: Callable[[str, bytes], tuple[str, bytes]], description: bytes = IGD_DESCRIPTION, host: str = "127.0.0.1",
) -> tuple[asyncio.Server, int, list[str]]:
    """An IGD over HTTP on loopback: a real description, and `control(action, body)` giving the
    (status, body) of every SOAP call. Returns the server, its port and the actions called."""
    called: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            path = head.split(" ", 2)[1]
            length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n")
                           if line.lower().startswith("content-length:")), 0)
            body = await reader.readexactly(length) if length else b""
            if path == "/rootDesc.xml":
                status, answer = "200 OK", description
            elif path == "/scpd.xml":
                status, answer = "200 OK", _scpd()
            else:
                action = next((line.split("#", 1)[1].strip().strip('"') for line in head.split("\r\n")
                               if line.lower().startswith("soapaction:")), "")
                called.append(action)
                status, answer = control(action, body)
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {len(answer)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + answer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, host, 0)
    return server, server.sockets[0].getsockname()[1], called
