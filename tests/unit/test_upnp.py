"""UPnP IGD messages without I/O: what a router's answers may hold, and what they must not."""

from __future__ import annotations

import pytest

from p2pchat.protocol import upnp
from p2pchat.protocol.upnp import UpnpError

LOCATION = upnp.parse_url("http://192.168.1.1:5000/rootDesc.xml")

DESCRIPTION = b"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
 <device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
  <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
   <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
    <serviceList>
     <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
      <controlURL>/ctl/PPPConn</controlURL></service>
     <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>
      <controlURL>/ctl/IPConn</controlURL></service>
    </serviceList></device></deviceList></device></deviceList></device>
</root>"""


def answer(status: str, body: bytes, *headers: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


def test_a_search_answer_gives_the_igd_location_and_other_datagrams_none():
    reply = (b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: " + upnp.IGD.encode()
             + b"\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n")
    assert upnp.parse_search_answer(reply) == "http://192.168.1.1:5000/rootDesc.xml"
    assert upnp.parse_search_answer(reply.replace(upnp.IGD.encode(), b"upnp:rootdevice")) is None
    assert upnp.parse_search_answer(b"NOTIFY * HTTP/1.1\r\nST: x\r\n\r\n") is None
    assert upnp.parse_search_answer(reply.replace(b"http://", b"file://")) is None
    assert upnp.parse_search_answer(b"\xff\x00garbage") is None
    assert b"ST: " + upnp.IGD.encode() in upnp.search_request(2)


def test_the_ip_connection_is_chosen_over_ppp_and_its_url_is_resolved():
    service, url = upnp.control_url(DESCRIPTION, LOCATION)
    assert service == "urn:schemas-upnp-org:service:WANIPConnection:2"
    assert url.text == "http://192.168.1.1:5000/ctl/IPConn"


@pytest.mark.parametrize(("description", "reason"), [
    (b"<root><device>", "not well-formed"),
    (b"<root/>", "names no device"),
    (b"<root><device><deviceType>urn:x:device:Basic:1</deviceType></device></root>", "no WAN connection service"),
    (DESCRIPTION.replace(b"/ctl/IPConn", b"http://203.0.113.9/steal"), "not the router"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><root>&a;</root>', "DOCTYPE"),
])
def test_a_description_that_cannot_be_used_says_why(description, reason):
    with pytest.raises(UpnpError, match=reason):
        upnp.control_url(description, LOCATION)


def test_a_soap_call_names_the_action_and_escapes_its_arguments():
    request = upnp.soap_request(LOCATION, "urn:x:service:WANIPConnection:1", "AddPortMapping",
                                {"NewExternalPort": 4000, "NewEnabled": True, "NewPortMappingDescription": "<&>"})
    head, body = request.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /rootDesc.xml HTTP/1.1\r\nHost: 192.168.1.1:5000\r\n")
    assert b'SOAPAction: "urn:x:service:WANIPConnection:1#AddPortMapping"' in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"<NewExternalPort>4000</NewExternalPort><NewEnabled>1</NewEnabled>" in body
    assert b"<NewPortMappingDescription>&lt;&amp;&gt;</NewPortMappingDescription>" in body


def test_answers_and_faults_are_read_with_content_length_or_chunks():
    envelope = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                b'<u:GetExternalIPAddressResponse xmlns:u="urn:x"><NewExternalIPAddress>203.0.113.7'
                b'</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>')
    status, body = upnp.parse_http_answer(answer("200 OK", envelope + b"trailing", f"Content-Length: {len(envelope)}"))
    assert upnp.parse_soap_answer(status, body, "GetExternalIPAddress") == {"NewExternalIPAddress": "203.0.113.7"}
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(envelope), envelope)
    assert upnp.parse_http_answer(answer("200 OK", chunked, "Transfer-Encoding: chunked")) == (200, envelope)
    fault = (b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body><s:Fault><detail>"
             b"<UPnPError xmlns='urn:schemas-upnp-org:control-1-0'><errorCode>718</errorCode>"
             b"<errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>"
             b"</s:Body></s:Envelope>")
    with pytest.raises(UpnpError, match="ConflictInMappingEntry") as raised:
        upnp.parse_soap_answer(500, fault, "AddPortMapping")
    assert raised.value.code == upnp.CONFLICT


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5",  # no end of headers
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nshort\r\n",
])
def test_a_broken_http_answer_is_one_error(data):
    with pytest.raises(UpnpError):
        upnp.parse_http_answer(data)


def test_an_answer_to_another_action_or_garbage_is_one_error():
    with pytest.raises(UpnpError, match="does not answer"):
        upnp.parse_soap_answer(200, b"<Envelope><Body><OtherResponse/></Body></Envelope>", "AddPortMapping")
    with pytest.raises(UpnpError, match="HTTP status 404"):
        upnp.parse_soap_answer(404, b"not xml at all <", "AddPortMapping")
    with pytest.raises(UpnpError, match="not an http"):
        upnp.parse_url("https://192.168.1.1/x")
