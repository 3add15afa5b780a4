"""Invites this side has handed out, pending or used: a small JSON file.

`p2pchat invite` and `/invite` add one; a running session reads the file every second (so an
invite made by `p2pchat invite` counts at once), waits on the relays for each pending invite, and redeems an invite at most once,
for the first peer that presents its secret inside TLS before it expires.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: one process per home is all that is safe there
    fcntl = None

from p2pchat.net.address import bound_host
from p2pchat.net.interfaces import local_addresses
from p2pchat.protocol.invite import INVITE_LIFETIME, Invite, format_invite, new_secret
from p2pchat.protocol.scope import home_only
from p2pchat.protocol.transit import RelayAddress


class Invites:
    def __init__(self, path: Path, clock=time.time) -> None:
        self.path = path
        self.clock = clock

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Holds an exclusive lock on the store across a read-modify-write, so two processes on
        one home (`p2pchat invite` beside a running session, or two sessions) never undo each
        other's change or redeem one secret twice."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _load(self) -> dict[str, int]:
        """secret -> expiry (Unix seconds), expired ones dropped."""
        return self._read()[0]

    def _read(self) -> tuple[dict[str, int], list[dict]]:
        """The pending invites, and the used ones kept until they expire (each
        `{"secret", "expires", "by"}`, `by` the fingerprint that redeemed it)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            now = self.clock()
            pending = {
                str(item["secret"]): int(item["expires"])
                for item in raw.get("invites", [])
                if int(item["expires"]) > now
            }
            used = [
                {"secret": str(item["secret"]), "expires": int(item["expires"]), "by": str(item.get("by", ""))}
                for item in raw.get("used", [])
                if int(item["expires"]) > now
            ]
            return pending, used
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}, []  # no file, or one we cannot read: no invite is pending

    def _expected(self) -> dict[str, str]:
        """secret -> the fingerprint a code introduced: the only one that may redeem it."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8")).get("expected", {})
            return {str(secret): str(fingerprint) for secret, fingerprint in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    def _save(
        self, pending: dict[str, int], used: list[dict] | None = None, expected: dict[str, str] | None = None,
    ) -> None:
        if used is None:
            used = self._read()[1]
        expected = {s: fp for s, fp in (self._expected() if expected is None else expected).items() if s in pending}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"invites": [{"secret": s, "expires": e} for s, e in pending.items()], "used": used,
                "expected": expected}
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(temporary, self.path)

    def create(
        self,
        fingerprint: str,
        addresses: list[tuple[str, int]],
        relays: list[RelayAddress],
        lifetime: int = INVITE_LIFETIME,
    ) -> Invite:
        secret = new_secret()
        expires = int(self.clock()) + lifetime
        with self._locked():
            pending = self._load()
            pending[secret] = expires
            self._save(pending)
        return Invite(fingerprint, secret, expires, tuple(addresses), tuple(relays))

    def pending(self) -> list[str]:
        return list(self._load())

    def used(self) -> list[str]:
        """The secrets of used invites not yet expired."""
        return self.pending_and_used()[1]

    def pending_and_used(self) -> tuple[list[str], list[str]]:
        """`pending()` and `used()` from one read of the file (the relays ask every second)."""
        pending, used = self._read()
        return list(pending), [item["secret"] for item in used]

    def expect(self, secret: str, fingerprint: str) -> None:
        """Only `fingerprint` may redeem this invite now: a code introduced that identity."""
        with self._locked():
            pending = self._load()
            if secret in pending:
                expected = self._expected()
                expected[secret] = fingerprint
                self._save(pending, expected=expected)

    def redeem(self, secret: str, by: str = "") -> bool:
        """True, once, for a pending invite's secret presented by the fingerprint `by` (if a code
        introduced one, only that one); the invite is then kept as used (by `by`) until it
        expires, so a second use can be told from a stranger's."""
        with self._locked():
            pending, used = self._read()
            match = _find(pending, secret)
            if match is None:
                return False
            expected = self._expected().get(match)
            if expected is not None and expected != by:
                return False
            used.append({"secret": match, "expires": pending.pop(match), "by": by})
            self._save(pending, used)
        return True

    def used_by(self, secret: str) -> str | None:
        """Who redeemed this invite (a fingerprint, "" if not recorded), or None if it was not
        used (unknown, or expired)."""
        _, used = self._read()
        return next((item["by"] for item in used if _same(item["secret"], secret)), None)


def _same(held: str, presented: str) -> bool:
    return secrets.compare_digest(held.encode(), presented.encode())


def _find(pending: dict[str, int], secret: str) -> str | None:
    return next((held for held in pending if _same(held, secret)), None)


def make_invite(
    invites: Invites, fingerprint: str, port: int, relays: list[RelayAddress],
    public: tuple[str, int] | None = None, *, bind: str = "::", lifetime: int = INVITE_LIFETIME,
) -> tuple[str, str]:
    """A new invite line, and one line saying what it allows (for the user). `public` is the
    address the router forwards to us, tried first."""
    host = bound_host(bind)  # bound to one address: the only one that answers
    local = [(address, port) for address in ([host] if host else local_addresses())]
    addresses = ([public] if public else []) + local
    invite = invites.create(fingerprint, addresses, relays, lifetime)
    within = f"{lifetime // 3600} hours" if lifetime >= 3600 else f"{lifetime // 60} minutes"
    ways = ", ".join([f"{a}:{p}" if ":" not in a else f"[{a}]:{p}" for a, p in addresses]) or "no direct address"
    if relays:
        ways += "; relay " + ", ".join(str(r) for r in relays)
    elif all(home_only(a) for a, _ in addresses):
        ways += ("; WARNING: these addresses work only on your own network and no relay is set, so a "
                 "peer in another home cannot use this invite: set one (p2pchat config set relay "
                 "tcp:HOST:PORT) or let your router map the port")
    else:
        ways += "; no relay set: the peer must reach an address above directly"
    return format_invite(invite), f"good for one peer within {within}: {ways}"

