"""A p2pchat the local network announces (what the LAN shows and a front end lists)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanPeer:
    """Someone announcing p2pchat on the local network (a claim until TLS checks it)."""

    nickname: str
    fingerprint: str  # the one announced: dialing pins it
    short_fingerprint: str
    host: str
    port: int
    known: bool  # the fingerprint is a known peer's

    @property
    def address(self) -> str:
        """What to dial: this host and port, with the announced fingerprint pinned."""
        return f"p2pchat://{self.host}:{self.port}/{self.fingerprint}"
