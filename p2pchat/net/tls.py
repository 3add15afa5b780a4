"""TLS 1.3 contexts in which both sides show a certificate, and what to read from them.

Python's ssl asks the client for a certificate only when it has a CA to check it
against, so every identity certificate is signed by p2pchat's well-known CA (its key
is public, see PROTOCOL.md section 7). Passing that check means nothing; what
authenticates a peer is the fingerprint of its key, `peer_fingerprint()`, which the
session compares with the one it expects or has on record.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
from importlib import resources
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class CertificateHolder(Protocol):
    """What a context needs from an identity (p2pchat.identity.Identity fits)."""

    @property
    def key_path(self) -> Path: ...

    @property
    def cert_path(self) -> Path: ...


def ca_certificate_pem() -> str:
    """The well-known CA certificate: the only trust anchor of both contexts."""
    return (resources.files(__package__) / "ca" / "ca.pem").read_text(encoding="ascii")


def _context(purpose: int, identity: CertificateHolder) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False  # peers have no names; the key fingerprint is checked
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cadata=ca_certificate_pem())
    context.load_cert_chain(identity.cert_path, identity.key_path)
    return context


def server_context(identity: CertificateHolder) -> ssl.SSLContext:
    """For the listening side; it demands the dialer's certificate."""
    return _context(ssl.PROTOCOL_TLS_SERVER, identity)


def client_context(identity: CertificateHolder) -> ssl.SSLContext:
    """For the dialing side; it shows our certificate too. Host names are not checked."""
    return _context(ssl.PROTOCOL_TLS_CLIENT, identity)


def _peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> bytes:
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the peer presented no certificate")
    return der


def peer_fingerprint(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> str:
    """The identity fingerprint of the peer's key (p2pchat.identity defines the same one:
    base32 of SHA-256 over the DER SubjectPublicKeyInfo, no padding)."""
    cert = x509.load_der_x509_certificate(_peer_certificate(ssl_object))
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b32encode(hashlib.sha256(spki).digest()).decode("ascii").rstrip("=")


def tls_summary(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[str, str]:
    """Lines for `/info`: protocol, cipher, key type of the peer."""
    name, _, bits = ssl_object.cipher() or ("?", "", 0)
    cert = x509.load_der_x509_certificate(_peer_certificate(ssl_object))
    key_type = type(cert.public_key()).__name__.removesuffix("PublicKey").lstrip("_")
    return {
        "tls_version": ssl_object.version() or "?",
        "cipher": name,
        "cipher_bits": str(bits),
        "peer_key_type": key_type,
        "peer_fingerprint": peer_fingerprint(ssl_object),
        "session_resumed": "yes" if ssl_object.session_reused else "no",
    }


def looks_like_tls(first_bytes: bytes) -> bool:
    """True if a plain listener has just read the start of a TLS handshake record."""
    return len(first_bytes) >= 2 and first_bytes[0] == 0x16 and first_bytes[1] == 0x03


def explain_tls_error(exc: BaseException) -> str:
    """One line for the user about a failed TLS handshake."""
    text = str(exc).lower()
    if "wrong_version_number" in text.replace(" ", "_") or "http_request" in text:
        return "the peer does not speak TLS (is it running with --no-tls?)"
    if "unsupported protocol" in text or "protocol version" in text:
        return "the peer does not speak TLS 1.3 (is it a p2pchat peer?)"
    if "certificate verify failed" in text or "unknown ca" in text:
        return "the peer's certificate is not a p2pchat identity certificate"
    if "certificate required" in text or "peer did not return a certificate" in text:
        return "the peer did not show a certificate (is it a p2pchat peer?)"
    reason = getattr(exc, "reason", None)
    return f"TLS handshake failed: {reason or exc}"
