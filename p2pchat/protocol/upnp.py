"""UPnP IGD port mapping as bytes, without I/O: the SSDP search, the device description and
the SOAP calls (AddPortMapping, DeletePortMapping, GetExternalIPAddress).

A client multicasts an SSDP M-SEARCH for an Internet Gateway Device; a router answers with
the URL of its XML description, which names the control URL of its WANIPConnection (or
WANPPPConnection) service; each action is an HTTP POST of a SOAP envelope to that URL. All of
it comes from the local network and is untrusted: anything that cannot be read raises
`UpnpError` with one line saying why. Sizes are capped before parsing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

SSDP_GROUP = ("239.255.255.250", 1900)
IGD = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
# Preferred first: a router may list a PPP service that is not the connected one.
WAN_SERVICES = ("urn:schemas-upnp-org:service:WANIPConnection:",
                "urn:schemas-upnp-org:service:WANPPPConnection:")
MAX_DESCRIPTION = 256 * 1024  # bytes of an HTTP answer (real descriptions are 2-30 KiB)
CONFLICT, ONLY_PERMANENT = 718, 725  # error codes of AddPortMapping


class UpnpError(ValueError):
    """A malformed answer or a refusal; `code` is the router's UPnP error code, if it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(f"UPnP error {code}: {message}" if code is not None else message)
        self.code = code


class NoPortMapping(UpnpError):
    """The description is readable, but names no service that maps ports."""


@dataclass(frozen=True)
class Url:
    host: str
    port: int
    path: str  # with the query, as it goes on the request line

    @property
    def text(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"


def parse_url(text: str) -> Url:
    try:
        parts = urlsplit(text.strip())
        port = parts.port or 80
    except ValueError:
        raise UpnpError(f"not a URL: {text[:80]!r}") from None
    if parts.scheme != "http" or not parts.hostname:
        raise UpnpError(f"not an http:// URL: {text[:80]!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ord(c) < 33 for c in path):
        raise UpnpError(f"not a URL: {text[:80]!r}")
    return Url(parts.hostname, port, path)


# -- SSDP ---------------------------------------------------------------------------------


def search_request(wait: int = 2) -> bytes:
    """The M-SEARCH datagram; devices answer within `wait` seconds (MX)."""
    return (f"M-SEARCH * HTTP/1.1\r\nHOST: {SSDP_GROUP[0]}:{SSDP_GROUP[1]}\r\n"
            f'MAN: "ssdp:discover"\r\nMX: {wait}\r\nST: {IGD}\r\n\r\n').encode()


def parse_search_answer(data: bytes) -> str | None:
    """The LOCATION of an IGD's answer to our search; None for anything else (other devices'
    answers and announcements share the port)."""
    lines = data.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        return None
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if headers.get("st") != IGD or not headers.get("location", "").startswith("http://"):
        return None
    return headers["location"]


# -- HTTP ---------------------------------------------------------------------------------


def get_request(url: Url) -> bytes:
    return f"GET {url.path} HTTP/1.1\r\nHost: {_host_header(url)}\r\nConnection: close\r\n\r\n".encode()


def _host_header(url: Url) -> str:
    return f"[{url.host}]:{url.port}" if ":" in url.host else f"{url.host}:{url.port}"


def parse_http_answer(data: bytes) -> tuple[int, bytes]:
    """(status, body) of a whole answer read until the server closed (Connection: close)."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        raise UpnpError("the answer ended before its headers did")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/") or not status[1].isdigit():
        raise UpnpError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        body = _unchunk(body)
    elif headers.get("content-length", "").isdigit():
        body = body[: int(headers["content-length"])]
    return int(status[1]), body


def _unchunk(body: bytes) -> bytes:
    pieces: list[bytes] = []
    at = 0
    while True:
        end = body.find(b"\r\n", at)
        try:
            size = int(body[at:end].split(b";")[0], 16) if end >= 0 else -1
        except ValueError:
            size = -1
        if size < 0 or end + 2 + size > len(body):
            raise UpnpError("a chunked answer that does not add up")
        if size == 0:
            return b"".join(pieces)
        pieces.append(body[end + 2:end + 2 + size])
        at = end + 2 + size + 2


def _xml(body: bytes, what: str) -> ElementTree.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:  # no device needs them; entity tricks do
        raise UpnpError(f"{what} declares a DOCTYPE")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise UpnpError(f"{what} is not well-formed XML ({exc})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ElementTree.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


# -- the description ----------------------------------------------------------------------


def control_url(description: bytes, location: Url) -> tuple[str, Url]:
    """(service type, control URL) of the WAN connection service the description names.

    The control URL must be on the router that described itself: a description cannot send
    our requests to another host.
    """
    root = _xml(description, "the device description")
    base = next((e.text or "" for e in root.iter() if _local(e.tag) == "URLBase"), "").strip() or location.text
    found = {}
    for service in root.iter():
        if _local(service.tag) != "service":
            continue
        kind, control = _child_text(service, "serviceType"), _child_text(service, "controlURL")
        for rank, prefix in enumerate(WAN_SERVICES):
            if kind.startswith(prefix) and control and rank not in found:
                found[rank] = kind, control
    if not found:
        if not any(_local(element.tag) == "device" for element in root.iter()):
            raise UpnpError("the description names no device")
        raise NoPortMapping("the device offers no WAN connection service")
    kind, control = found[min(found)]
    url = parse_url(urljoin(base, control))
    if url.host != location.host:
        raise UpnpError(f"the control URL points to {url.host}, not the router")
    return kind, url


# -- SOAP ---------------------------------------------------------------------------------


def soap_request(url: Url, service: str, action: str, arguments: dict[str, object]) -> bytes:
    """The whole HTTP request calling `action` with `arguments` (in order: routers care)."""
    values = "".join(f"<{name}>{escape(_text(value))}</{name}>" for name, value in arguments.items())
    body = ('<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            f'<u:{action} xmlns:u="{escape(service)}">{values}</u:{action}></s:Body></s:Envelope>\r\n').encode()
    head = (f"POST {url.path} HTTP/1.1\r\nHost: {_host_header(url)}\r\n"
            f'Content-Type: text/xml; charset="utf-8"\r\nSOAPAction: "{service}#{action}"\r\n'
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return head + body


def escape(text: str) -> str:
    """XML character data (xml.sax.saxutils has this, but importing it brings urllib.request)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def parse_soap_answer(status: int, body: bytes, action: str) -> dict[str, str]:
    """The output arguments of `action`; UpnpError (with the router's code) for a fault."""
    if status == 200:
        root = _xml(body, f"the answer to {action}")
        for element in root.iter():
            if _local(element.tag) == f"{action}Response":
                return {_local(child.tag): (child.text or "").strip() for child in element}
        raise UpnpError(f"the answer to {action} does not answer it")
    code: int | None = None
    description = f"HTTP status {status}"
    try:
        fault = list(_xml(body, f"the fault for {action}").iter()) if body.strip() else []
    except UpnpError:  # no readable fault: the status says it
        fault = []
    for element in fault:
        text = (element.text or "").strip()
        if _local(element.tag) == "errorCode" and text.isdigit():
            code = int(text)
        elif _local(element.tag) == "errorDescription" and text:
            description = " ".join(text.split())[:200]
    raise UpnpError(description, code)
