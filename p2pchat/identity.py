"""Who we are and whom we have met.

An identity is an Ed25519 key; its fingerprint (SHA-256 of the public key, base32) is
what peers compare. The certificate beside the key is signed by p2pchat's well-known
CA only so that TLS will exchange it in both directions; it proves nothing by itself.
Known peers are remembered the way ssh remembers hosts: trust on first use, and a loud
verdict when a familiar nickname or address shows up with a different key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import tomlkit
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tomlkit.exceptions import TOMLKitError

KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
FINGERPRINT_LENGTH = 52  # base32 of 32 bytes, padding removed
_BASE32 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_UTC = dt.timezone.utc
# A fixed start in the past, so a peer whose clock is behind still accepts a new certificate.
_CERT_NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=_UTC)
_CERT_NOT_AFTER = dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=_UTC)
_SHORT_CODE_CONTEXT = b"p2pchat short code v1\x00"

# 256 distinct, easy-to-say words: one per byte of the short code hash (order matters).
SHORT_CODE_WORDS: tuple[str, ...] = tuple(
    """
    acid acorn actor adult agent alarm album alley amber angel ankle apple april apron arena
    army arrow atlas aunt autumn baby bacon badge bagel baker bamboo banjo barn basin beach
    bean bear bell belt bench berry bike bird blade boat bone book boot bottle bowl box
    brain bread brick bridge broom brush bucket bull cabin cable cactus cake camel camera
    candle candy canoe cargo carrot castle cat cave cello chair chalk cheese cherry chess
    chief chin circle city clock cloud clown coast cobra coin comet coral corn cow crab
    crane crayon cream crown cube cup daisy desert diary dice dog doll donkey door dragon
    drum duck eagle earth echo eel egg elbow elk falcon farm feather fence fern field finger
    fish flag flute foam forest fork fox frog garden ghost giant glass globe glove goat gold
    grape grass guitar hammer harbor hawk heart hill honey horse hotel index iron island
    ivory jelly jewel judge juice jungle kayak kitten kiwi knee knife koala ladder lake lamp
    lemon lens lily lion lizard lunch mango maple marble mask melon metal monkey moon moose
    mouse mud needle nest nurse oak ocean olive onion orange otter owl panda paper peach
    pencil piano pilot pizza planet plum pocket pony quilt rabbit radio rain raven ribbon
    river robot rocket roof rope ruby saddle salad sand scarf shark sheep shell ship shoe
    silver skate snail snake sock sofa spoon squid star stone sugar sun swan table tiger
    toast tooth towel tower train tree truck tulip turtle vase violin wagon whale wheel wolf
    yacht zebra
    """.split()
)
SHORT_CODE_LENGTH = 4


class IdentityError(Exception):
    """A key, certificate or known-peers file cannot be used; the message says how to fix it."""


# --- fingerprints -------------------------------------------------------------------------


def fingerprint_of_public_key(public_key: CertificatePublicKeyTypes) -> str:
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b32encode(hashlib.sha256(spki).digest()).decode("ascii").rstrip("=")


def fingerprint_of_cert_der(der: bytes) -> str:
    """Fingerprint of the key in a DER certificate (what TLS hands over)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise IdentityError(f"the peer's certificate cannot be read: {exc}") from None
    return fingerprint_of_public_key(cert.public_key())


def normalise_fingerprint(text: str) -> str:
    """Accept what a user pasted: grouped or not, any case, stray spaces."""
    return "".join(c for c in text if c not in "- \t\r\n").upper()


def is_fingerprint(text: str) -> bool:
    """True for a full, normalised fingerprint (52 base32 characters)."""
    return len(text) == FINGERPRINT_LENGTH and set(text) <= _BASE32


def group_fingerprint(fp: str) -> str:
    fp = normalise_fingerprint(fp)
    return "-".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def short_fingerprint(fp: str) -> str:
    return group_fingerprint(normalise_fingerprint(fp)[:8])


def short_code(fp_a: str, fp_b: str) -> str:
    """Words both peers can read to each other; the same whichever side computes them."""
    low, high = sorted((normalise_fingerprint(fp_a), normalise_fingerprint(fp_b)))
    digest = hashlib.sha256(
        _SHORT_CODE_CONTEXT + low.encode("ascii") + b"\x00" + high.encode("ascii")
    ).digest()
    return " ".join(SHORT_CODE_WORDS[b] for b in digest[:SHORT_CODE_LENGTH])


def share_address(host: str, port: int, fp: str) -> str:
    """The one string a peer needs to reach us and check our key."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"p2pchat://{host}:{port}/{group_fingerprint(fp)}"


# --- our own identity ---------------------------------------------------------------------


def _ca_file(name: str) -> bytes:
    return resources.files("p2pchat").joinpath("net", "ca", name).read_bytes()


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


def _write_atomically(path: Path, data: bytes, *, mode: int, replace: bool = True) -> None:
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
        _write_atomically(key_path, pem, mode=0o600, replace=False)
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
                _write_atomically(cert_path, pem, mode=0o644)
        except OSError as exc:
            raise IdentityError(f"cannot use identity folder {directory}: {exc}") from None
        return cls(directory, fingerprint)


# --- known peers (trust on first use) -----------------------------------------------------

Trust = Literal["known", "new", "changed"]

_HEADER = (
    "Peers whose keys p2pchat has seen (trust on first use, like ssh's known_hosts).\n"
    "Delete a [peers.FINGERPRINT] table to forget that peer."
)


@dataclass(frozen=True)
class KnownPeer:
    fingerprint: str
    nickname: str
    address: str  # "host:port" last used with this peer
    first_seen: dt.datetime
    last_seen: dt.datetime
    verified: bool = False  # the user compared fingerprints or the short code


@dataclass(frozen=True)
class TrustVerdict:
    """What to make of a key: `known`, `new`, or `changed` (a familiar name, new key)."""

    status: Trust
    fingerprint: str
    record: KnownPeer | None = None  # known: this key's record; changed: the old key's
    matched_by: str = ""  # changed: "nickname" or "address"

    @property
    def old_fingerprint(self) -> str:
        return self.record.fingerprint if self.status == "changed" and self.record else ""

    @property
    def verified(self) -> bool:
        return self.status == "known" and self.record is not None and self.record.verified


def address_host(address: str) -> str:
    """The host part of "host:port", "[v6]:port", a bare host or a bare IPv6 address."""
    address = address.strip()
    if address.startswith("["):
        return address[1:].partition("]")[0].lower()
    if address.count(":") == 1:
        return address.partition(":")[0].lower()
    return address.lower()


def _now() -> dt.datetime:
    return dt.datetime.now(_UTC).replace(microsecond=0)


class KnownPeers:
    """The known-peers TOML file. Every change re-reads the file, applies, and replaces it."""

    def __init__(self, path: Path, document: tomlkit.TOMLDocument) -> None:
        self.path = Path(path)
        self._doc = document
        self._peers = _parse_peers(self.path, document)

    @classmethod
    def load(cls, path: Path) -> KnownPeers:
        return cls(path, _read_document(Path(path)))

    def __len__(self) -> int:
        return len(self._peers)

    def all(self) -> list[KnownPeer]:
        return sorted(self._peers.values(), key=lambda p: p.last_seen, reverse=True)

    def get(self, fp: str) -> KnownPeer | None:
        return self._peers.get(normalise_fingerprint(fp))

    def find_by_nickname(self, nickname: str) -> list[KnownPeer]:
        """Peers last seen under this nickname (case-insensitive), most recent first."""
        wanted = nickname.strip().casefold()
        return [p for p in self.all() if p.nickname.casefold() == wanted]

    def find_by_address(self, host: str) -> list[KnownPeer]:
        """Peers last seen at this host (a port, if given, is ignored), most recent first."""
        wanted = address_host(host)
        return [p for p in self.all() if address_host(p.address) == wanted]

    def check(self, fp: str, nickname: str, address: str = "") -> TrustVerdict:
        fp = normalise_fingerprint(fp)
        record = self.get(fp)
        if record is not None:
            return TrustVerdict("known", fp, record)
        for matched_by, candidates in (
            ("nickname", self.find_by_nickname(nickname) if nickname else []),
            ("address", self.find_by_address(address) if address else []),
        ):
            if candidates:
                return TrustVerdict("changed", fp, candidates[0], matched_by)
        return TrustVerdict("new", fp)

    def remember(
        self, fp: str, nickname: str, address: str, *, now: dt.datetime | None = None
    ) -> KnownPeer:
        """Record that we talked to `fp`; keeps first_seen and verified of an existing record."""
        fp = _require_fingerprint(fp)
        when = now or _now()

        def change(peers: tomlkit.items.Table) -> None:
            entry = peers.get(fp)
            if entry is None:
                entry = tomlkit.table()
                entry["nickname"] = nickname
                entry["address"] = address
                entry["first_seen"] = when
                entry["last_seen"] = when
                entry["verified"] = False
                peers[fp] = entry
            else:
                entry["nickname"] = nickname
                entry["address"] = address
                entry["last_seen"] = when

        self._update(change)
        return self._peers[fp]

    def mark_verified(self, fp: str, verified: bool = True) -> KnownPeer:
        fp = _require_fingerprint(fp)

        def change(peers: tomlkit.items.Table) -> None:
            if fp not in peers:
                raise IdentityError(f"{group_fingerprint(fp)} is not a known peer")
            peers[fp]["verified"] = verified

        self._update(change)
        return self._peers[fp]

    def forget(self, fp: str) -> bool:
        """Remove a peer; False if it was not known."""
        fp = normalise_fingerprint(fp)
        found = False

        def change(peers: tomlkit.items.Table) -> None:
            nonlocal found
            found = fp in peers
            if found:
                del peers[fp]

        self._update(change)
        return found

    def _update(self, change: Callable[[tomlkit.items.Table], None]) -> None:
        # Re-read first: another p2pchat process may have written since we loaded.
        doc = _read_document(self.path)
        _parse_peers(self.path, doc)
        if "peers" not in doc:
            doc["peers"] = tomlkit.table(is_super_table=True)
        change(doc["peers"])
        peers = _parse_peers(self.path, doc)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.path, tomlkit.dumps(doc).encode("utf-8"), mode=0o600)
        except OSError as exc:
            raise IdentityError(f"cannot save known peers to {self.path}: {exc}") from None
        self._doc, self._peers = doc, peers


def _require_fingerprint(fp: str) -> str:
    fp = normalise_fingerprint(fp)
    if not is_fingerprint(fp):
        raise IdentityError(
            f"{fp!r} is not a full fingerprint ({FINGERPRINT_LENGTH} base32 characters)"
        )
    return fp


def _read_document(path: Path) -> tomlkit.TOMLDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        doc = tomlkit.document()
        for line in _HEADER.splitlines():
            doc.add(tomlkit.comment(line))
        return doc
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentityError(f"cannot read known peers file {path}: {exc}") from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise IdentityError(
            f"known peers file {path} is not valid TOML ({exc}); fix it, or delete it "
            "to start again (every peer will then be asked about as new)"
        ) from None


def _parse_peers(path: Path, doc: tomlkit.TOMLDocument) -> dict[str, KnownPeer]:
    def bad(what: str) -> IdentityError:
        return IdentityError(
            f"known peers file {path}: {what}; fix or delete that entry (or the whole file)"
        )

    peers = doc.get("peers", {})
    if not isinstance(peers, dict):
        raise bad("'peers' must be a table")
    result: dict[str, KnownPeer] = {}
    for fp, entry in peers.items():
        if not is_fingerprint(fp):
            raise bad(f"{fp!r} is not a fingerprint")
        if not isinstance(entry, dict):
            raise bad(f"[peers.{fp}] must be a table")
        fields = {
            "nickname": str,
            "address": str,
            "first_seen": dt.datetime,
            "last_seen": dt.datetime,
            "verified": bool,
        }
        for name, kind in fields.items():
            if not isinstance(entry.get(name), kind):
                raise bad(f"[peers.{fp}] needs {name} as a {kind.__name__}")
        result[fp] = KnownPeer(
            fingerprint=fp,
            nickname=str(entry["nickname"]),
            address=str(entry["address"]),
            first_seen=_as_utc(entry["first_seen"]),
            last_seen=_as_utc(entry["last_seen"]),
            verified=bool(entry["verified"]),
        )
    return result


def _as_utc(value: dt.datetime) -> dt.datetime:
    plain = dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
    )  # a plain datetime, not tomlkit's item
    return plain.astimezone(_UTC) if plain.tzinfo else plain.replace(tzinfo=_UTC)
