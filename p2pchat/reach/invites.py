"""Invites this side has handed out and not yet seen used: a small JSON file.

`p2pchat invite` and `/invite` add one; a running session reads the file every second (so an
invite made by `p2pchat invite` counts at once), waits on the relays for each pending invite, and redeems an invite at most once,
for the first peer that presents its secret inside TLS before it expires.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from p2pchat.net.address import bound_host
from p2pchat.net.interfaces import local_addresses
from p2pchat.protocol.invite import INVITE_LIFETIME, Invite, format_invite, new_secret
from p2pchat.protocol.transit import RelayAddress


class Invites:
    def __init__(self, path: Path, clock=time.time) -> None:
        self.path = path
        self.clock = clock

    def _load(self) -> dict[str, int]:
        """secret -> expiry (Unix seconds), expired ones dropped."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            now = self.clock()
            return {
                str(item["secret"]): int(item["expires"])
                for item in raw.get("invites", [])
                if int(item["expires"]) > now
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # no file, or one we cannot read: no invite is pending

    def _save(self, pending: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"invites": [{"secret": s, "expires": e} for s, e in pending.items()]}
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
    ) -> Invite:
        pending = self._load()
        secret = new_secret()
        expires = int(self.clock()) + INVITE_LIFETIME
        pending[secret] = expires
        self._save(pending)
        return Invite(fingerprint, secret, expires, tuple(addresses), tuple(relays))

    def pending(self) -> list[str]:
        return list(self._load())

    def redeem(self, secret: str) -> bool:
        """True, once, for a pending invite's secret; the invite is gone afterwards."""
        pending = self._load()
        match = next((s for s in pending if secrets.compare_digest(s.encode(), secret.encode())), None)
        if match is None:
            return False
        del pending[match]
        self._save(pending)
        return True


def make_invite(
    invites: Invites, fingerprint: str, port: int, relays: list[RelayAddress],
    public: tuple[str, int] | None = None, *, bind: str = "::",
) -> tuple[str, str]:
    """A new invite line, and one line saying what it allows (for the user). `public` is the
    address the router forwards to us, tried first."""
    host = bound_host(bind)  # bound to one address: the only one that answers
    local = [(address, port) for address in ([host] if host else local_addresses())]
    addresses = ([public] if public else []) + local
    invite = invites.create(fingerprint, addresses, relays)
    hours = INVITE_LIFETIME // 3600
    ways = ", ".join([f"{a}:{p}" if ":" not in a else f"[{a}]:{p}" for a, p in addresses]) or "no direct address"
    if relays:
        ways += "; relay " + ", ".join(str(r) for r in relays)
    else:
        ways += "; no relay set (the peer must reach an address above directly)"
    return format_invite(invite), f"good for one peer within {hours} hours: {ways}"
