"""Our own identity: an Ed25519 key and the certificate that carries it in TLS.

The certificate is signed by p2pchat's well-known CA only so that TLS will exchange it
in both directions; it proves nothing by itself: the fingerprint of the key does.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from p2pchat.identity.fingerprints import (
    IdentityError,
    fingerprint_of_public_key,
    group_fingerprint,
    short_fingerprint,
)

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
_UTC = dt.timezone.utc
# A fixed start in the past, so a peer whose clock is behind still accepts a new certificate.
_CERT_NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=_UTC)
_CERT_NOT_AFTER = dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=_UTC)


def _ca_file(name: str) -> bytes:
    return (resources.files("p2pchat") / "net" / "ca" / name).read_bytes()


def _load_ca() -> tuple[x509.Certificate, ed25519.Ed25519PrivateKey]:
    cert = x509.load_pem_x509_certificate(_ca_file("ca.pem"))
    key = serialization.load_pem_private_key(_ca_file("ca-key.pem"), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return cert, key


def _issue_certificate(key: ed25519.Ed25519PrivateKey, fingerprint: str) -> x509.Certificate:
    ca_cert, ca_key = _load_ca()
    public_key = key.public_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "p2pchat"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"p2pchat {short_fingerprint(fingerprint)}"),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_CERT_NOT_BEFORE)
        .not_valid_after(_CERT_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, None)
    )


def _certificate_fits(cert_path: Path, key: ed25519.Ed25519PrivateKey) -> bool:
    """True if the certificate holds our key, is signed by the CA and is still valid."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        ca_cert, _ = _load_ca()
        cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    same_key = cert.public_key() == key.public_key()
    return same_key and cert.not_valid_after_utc > dt.datetime.now(_UTC)


def write_atomically(path: Path, data: bytes, *, mode: int, replace: bool = True) -> None:
    """Write a temp file with `mode` beside `path`, then move it into place.

    With replace=False an existing `path` is left alone and FileExistsError is raised,
    so two processes creating an identity at once cannot end up with different keys.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        if os.name != "nt":
            os.fchmod(fd, mode)  # before any byte is written
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _link_without_overwriting(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _link_without_overwriting(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)  # atomic, and fails if `path` exists
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: nearly as good
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)


def _check_key_permissions(key_path: Path) -> None:
    if os.name == "nt":
        return  # POSIX mode bits mean nothing there; the profile folder is private already
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise IdentityError(
            f"private key {key_path} is readable by other users (mode {mode:03o}); "
            f"fix it with: chmod 600 {key_path}"
        )


def _read_key(key_path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(
            f"{key_path} is not a usable private key ({exc}); move it away and p2pchat "
            "will create a new identity (peers will then see a new fingerprint)"
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise IdentityError(f"{key_path} is not an Ed25519 key; p2pchat identities are Ed25519")
    return key


def _new_key(key_path: Path) -> ed25519.Ed25519PrivateKey:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        write_atomically(key_path, pem, mode=0o600, replace=False)
    except FileExistsError:
        return _read_key(key_path)  # another process created it first: use theirs
    return key


@dataclass(frozen=True)
class Identity:
    """Our key pair on disk: `key.pem` (mode 0600) and `cert.pem` in one directory."""

    directory: Path
    fingerprint: str

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE

    @property
    def cert_path(self) -> Path:
        return self.directory / CERT_FILE

    @property
    def grouped_fingerprint(self) -> str:
        return group_fingerprint(self.fingerprint)

    @property
    def short_fingerprint(self) -> str:
        return short_fingerprint(self.fingerprint)

    @classmethod
    def load_or_create(cls, directory: Path) -> Identity:
        """Load the identity in `directory`, creating the key (and certificate) if absent.

        A certificate that is missing, expired, not signed by the bundled CA or not for
        this key is issued again: the key alone is the identity.
        """
        directory = Path(directory)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            key_path = directory / KEY_FILE
            if key_path.exists():
                _check_key_permissions(key_path)
                key = _read_key(key_path)
            else:
                key = _new_key(key_path)
            fingerprint = fingerprint_of_public_key(key.public_key())
            cert_path = directory / CERT_FILE
            if not _certificate_fits(cert_path, key):
                cert = _issue_certificate(key, fingerprint)
                pem = cert.public_bytes(serialization.Encoding.PEM)
                write_atomically(cert_path, pem, mode=0o644)
        except OSError as exc:
            raise IdentityError(f"cannot use identity folder {directory}: {exc}") from None
        return cls(directory, fingerprint)
