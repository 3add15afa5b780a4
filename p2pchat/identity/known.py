"""Peers we have met, remembered the way ssh remembers hosts: trust on first use, and
a loud verdict when a familiar nickname shows up with a different key."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tomlkit
from cryptography.hazmat.primitives.asymmetric import ed25519
from tomlkit.exceptions import TOMLKitError

from p2pchat.identity.fingerprints import (
    FINGERPRINT_LENGTH,
    IdentityError,
    fingerprint_of_public_key,
    group_fingerprint,
    is_fingerprint,
    normalise_fingerprint,
)
from p2pchat.identity.keys import write_atomically
from p2pchat.protocol.transit import RelayAddress, parse_relay

_UTC = dt.timezone.utc

TrustStatus = Literal["known", "new", "changed"]
KEPT_RELAYS = 4  # relays kept per peer: an invite may name 16, a reconnect needs a few

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
    key: bytes = b""  # the raw Ed25519 public key (hashes to the fingerprint); empty: not yet seen
    relays: tuple[RelayAddress, ...] = ()  # where its invite said it waits, newest first


@dataclass(frozen=True)
class TrustVerdict:
    """What to make of a key: `known`, `new`, or `changed` (a familiar name, new key)."""

    status: TrustStatus
    fingerprint: str
    record: KnownPeer | None = None  # known: this key's record; changed: the old key's
    matched_by: str = ""  # changed: "nickname" or "address"

    @property
    def old_fingerprint(self) -> str:
        return self.record.fingerprint if self.status == "changed" and self.record else ""

    @property
    def verified(self) -> bool:
        return self.status == "known" and self.record is not None and self.record.verified


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

    def find_by_address(self, address: str) -> list[KnownPeer]:
        """Peers last seen at exactly this "host:port", most recent first."""
        return [p for p in self.all() if p.address == address]

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
        self, fp: str, nickname: str, address: str, *, now: dt.datetime | None = None, key: bytes = b"",
        relays: Sequence[RelayAddress] = (),
    ) -> KnownPeer:
        """Record that we talked to `fp`; keeps first_seen and verified of an existing record.
        `key`, the peer's raw public key as TLS showed it, is kept when it is `fp`'s. `relays`
        (from the invite that introduced it) go before those kept earlier, `KEPT_RELAYS` in all."""
        fp = _require_fingerprint(fp)
        when = now or _now()
        if key and not key_matches(fp, key):
            raise IdentityError("a public key that is not this peer's fingerprint")
        learnt = [relay.setting for relay in relays]

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
            if key:
                entry["key"] = base64.b64encode(key).decode("ascii")
            if learnt:
                kept = [str(relay) for relay in entry.get("relays", [])]
                entry["relays"] = list(dict.fromkeys([*learnt, *kept]))[:KEPT_RELAYS]

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

    def touch(self, fp: str, *, now: dt.datetime | None = None) -> None:
        """The chat with `fp` went on until now: its last_seen says so (a peer not on
        record is left alone)."""
        fp = normalise_fingerprint(fp)
        when = now or _now()

        def change(peers: tomlkit.items.Table) -> None:
            if fp in peers:
                peers[fp]["last_seen"] = when

        self._update(change)

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
            write_atomically(self.path, tomlkit.dumps(doc).encode("utf-8"), mode=0o600)
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
        key = _parse_key(fp, entry.get("key", ""))
        if key is None:
            raise bad(f"[peers.{fp}] has a key that is not this fingerprint's (remove the key line)")
        relays = _parse_relays(entry.get("relays", []))
        if relays is None:
            raise bad(f"[peers.{fp}] needs relays as a list of at most {KEPT_RELAYS} \"tcp:HOST:PORT\"")
        result[fp] = KnownPeer(
            key=key,
            relays=relays,
            fingerprint=fp,
            nickname=str(entry["nickname"]),
            address=str(entry["address"]),
            first_seen=_as_utc(entry["first_seen"]),
            last_seen=_as_utc(entry["last_seen"]),
            verified=bool(entry["verified"]),
        )
    return result


def key_matches(fp: str, key: bytes) -> bool:
    """Whether `key` (raw Ed25519 public key) is the one `fp` names."""
    try:
        public = ed25519.Ed25519PublicKey.from_public_bytes(key)
    except ValueError:
        return False
    return fingerprint_of_public_key(public) == fp


def _parse_key(fp: str, text: object) -> bytes | None:
    """The stored key, b"" when there is none, None when it is not `fp`'s."""
    if text == "":
        return b""
    try:
        key = base64.b64decode(str(text), validate=True)
    except ValueError:
        return None
    return key if key_matches(fp, key) else None


def _parse_relays(items: object) -> tuple[RelayAddress, ...] | None:
    """The relays kept for a peer (checked as an invite's are), or None if they are not."""
    if not isinstance(items, list) or len(items) > KEPT_RELAYS or not all(isinstance(i, str) for i in items):
        return None
    try:
        return tuple(parse_relay(str(item)) for item in items)
    except ValueError:
        return None


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
