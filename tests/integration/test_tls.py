"""Real TLS 1.3 between two identities on loopback, and what is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from p2pchat.identity import Identity, fingerprint_of_cert_der
from p2pchat.net.tls import (
    ca_certificate_pem,
    client_context,
    explain_tls_error,
    looks_like_tls,
    peer_fingerprint,
    server_context,
    tls_summary,
)


@pytest.fixture
def alice(tmp_path):
    return Identity.load_or_create(tmp_path / "alice")


@pytest.fixture
def bob(tmp_path):
    return Identity.load_or_create(tmp_path / "bob")


class Server:
    """A TLS echo-once server that records what it learnt about each client."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self.seen: list[dict[str, str]] = []
        self.handshakes = 0  # completed server-side handshakes, whatever follows

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader, writer) -> None:
        self.handshakes += 1
        self.seen.append(tls_summary(writer.get_extra_info("ssl_object")))
        writer.write(await reader.read(1))
        await writer.drain()
        writer.close()


def rogue_identity(directory):
    """A certificate that looks like ours but is self-signed, not signed by the CA."""
    directory.mkdir()
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p2pchat rogue")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, None)
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    class Rogue:
        pass

    rogue = Rogue()
    rogue.key_path, rogue.cert_path = key_path, cert_path
    return rogue


async def test_each_side_sees_the_others_fingerprint(alice, bob):
    async with Server(server_context(alice)) as server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=client_context(bob)
        )
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
        ssl_object = writer.get_extra_info("ssl_object")
        assert peer_fingerprint(ssl_object) == alice.fingerprint
        assert (
            fingerprint_of_cert_der(ssl_object.getpeercert(binary_form=True)) == alice.fingerprint
        )
        summary = tls_summary(ssl_object)
        writer.close()
        await writer.wait_closed()
    assert summary["tls_version"] == "TLSv1.3"
    assert summary["peer_key_type"] == "Ed25519"
    assert summary["cipher"].startswith("TLS_")
    assert [seen["peer_fingerprint"] for seen in server.seen] == [bob.fingerprint]


async def assert_refused(server: Server, context: ssl.SSLContext) -> None:
    """The connection must fail, either in the handshake or at the first read."""
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=context)
        try:
            writer.write(b"x")
            await reader.readexactly(1)
        finally:
            writer.close()
    assert server.handshakes == 0


async def test_client_certificate_not_signed_by_the_ca_is_rejected(alice, tmp_path):
    rogue = rogue_identity(tmp_path / "rogue")
    async with Server(server_context(alice)) as server:
        await assert_refused(server, client_context(rogue))


async def test_client_without_certificate_is_rejected(alice):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cadata=ca_certificate_pem())
    async with Server(server_context(alice)) as server:
        await assert_refused(server, context)


async def test_server_certificate_not_signed_by_the_ca_is_rejected(bob, tmp_path):
    rogue = rogue_identity(tmp_path / "rogue")
    async with Server(server_context(rogue)) as server:
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            await asyncio.open_connection("127.0.0.1", server.port, ssl=client_context(bob))
    assert "not a p2pchat identity certificate" in explain_tls_error(caught.value)


async def test_plain_listener_recognises_a_tls_client(bob):
    first_bytes: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def plain_handler(reader, writer):
        first_bytes.set_result(await reader.readexactly(4))
        writer.write(b"P2PC\x00\x00\x00\x02\x01{}")  # what a plain peer would send
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(ssl.SSLError) as caught:
        await asyncio.open_connection("127.0.0.1", port, ssl=client_context(bob))
    server.close()
    await server.wait_closed()
    assert looks_like_tls(await first_bytes)
    assert not looks_like_tls(b"P2PC")
    assert not looks_like_tls(b"\x16")
    assert "does not speak TLS" in explain_tls_error(caught.value)


async def run_s_client(
    port: int, identity: Identity, version_flag: str, ca_file
) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "openssl",
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        version_flag,
        "-CAfile",
        str(ca_file),
        "-cert",
        str(identity.cert_path),
        "-key",
        str(identity.key_path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    return process.returncode, output.decode(errors="replace")


async def test_openssl_speaks_tls13_only(alice, bob, tmp_path):
    if shutil.which("openssl") is None:
        print("openssl is not installed: cannot cross-check with s_client")
        pytest.skip("openssl is not installed")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(ca_certificate_pem())
    async with Server(server_context(alice)) as server:
        _, output = await run_s_client(server.port, bob, "-tls1_3", ca_file)
        assert "New, TLSv1.3, Cipher is TLS_" in output, output
        assert "Verify return code: 0 (ok)" in output, output
        status, output = await run_s_client(server.port, bob, "-tls1_2", ca_file)
        assert status != 0, output
        assert "Cipher is (NONE)" in output, output
    assert [seen["tls_version"] for seen in server.seen] == ["TLSv1.3"]
