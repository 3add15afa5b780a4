"""The local network as the session sees it: our own announcement, and who else announces
p2pchat there, each marked known or new by fingerprint.

Used by the session (announce and browse) and, before a session exists, by the connect
screen (browse only).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from loguru import logger

from p2pchat.identity import short_fingerprint
from p2pchat.net.address import PeerAddress
from p2pchat.net.discovery import LanDiscovery
from p2pchat.reach.lan_peer import LanPeer

CLOSE_TIMEOUT = 2.0
START_DELAY = 1.0  # as for port mapping: the first frame first, then the zeroconf import


class LanPeers:
    def __init__(
        self,
        own_fingerprint: str,
        is_known: Callable[[str], bool],
        on_change: Callable[[list[LanPeer]], None],
        announce: Callable[[], tuple[str, str, int, list[str]]] | None = None,
    ) -> None:
        self.own_fingerprint = own_fingerprint
        self.is_known = is_known
        self.on_change = on_change
        self._announce = announce  # (nickname, fingerprint, port, addresses) when it is asked
        self._discovery = LanDiscovery(self._changed)
        self._task: asyncio.Task | None = None
        self.status = "starting"  # for /info

    def start(self, delay: float = START_DELAY) -> None:
        self._task = asyncio.create_task(self._run(delay), name="lan-discovery")

    async def _run(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self._discovery.start(self._announce() if self._announce else None)
        except Exception as exc:  # no multicast, no interface...: say why in /info, go on
            self.status = f"off ({exc})"
            logger.info("LAN discovery: {}", self.status)
            return
        self.status = "announced and looking" if self._announce else "looking"

    async def reannounce(self) -> None:
        """Announce again, with what `announce()` gives now (a new nickname)."""
        if self._announce is not None and self.status.startswith("announced"):
            with contextlib.suppress(Exception):
                await self._discovery.announce(*self._announce())

    def _changed(self) -> None:
        self.on_change(self.peers())

    def peers(self) -> list[LanPeer]:
        found = []
        for service in self._discovery.services.values():
            if service.fingerprint == self.own_fingerprint:
                continue
            found.append(LanPeer(service.nickname, service.fingerprint, short_fingerprint(service.fingerprint),
                                 service.hosts[0], service.port, self.is_known(service.fingerprint)))
        return sorted(found, key=lambda p: (not p.known, p.nickname.casefold(), p.fingerprint))

    def addresses_of(self, fingerprint: str) -> list[PeerAddress]:
        """Where the LAN says this identity listens, pinned to it."""
        return [PeerAddress(host, service.port, fingerprint)
                for service in self._discovery.services.values() if service.fingerprint == fingerprint
                for host in service.hosts]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._discovery.close(), CLOSE_TIMEOUT)
