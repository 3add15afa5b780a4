"""Keeping the listening port forwarded on the home router, in the background.

Tries UPnP IGD, then NAT-PMP; renews the mapping at half its lease and removes it at quit.
It never delays the start and never raises an alarm: a router that does not map says why
once, in the log and in /info. A mapping that works gives the public address that invites
and /info carry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from loguru import logger

from p2pchat.net.portmap import Mapping, NatPmpRouter, PortMapError, UpnpRouter, private_external

LEASE = 3600  # seconds asked for; renewed at half
RETRY = 300.0  # seconds before asking again after a renewal failed
MIN_RENEW = 30.0  # seconds: however short a lease the router grants, ask no more often
REMOVE_TIMEOUT = 2.0  # at quit
# Seconds to wait before the first request: the front end draws its first frame meanwhile,
# not competing with the import of the UPnP library.
START_DELAY = 1.0


class PortMapper:
    def __init__(self, port: int, on_mapped: Callable[[Mapping], None] = lambda mapping: None,
                 routers: list[Any] | None = None) -> None:
        self.port = port
        self.on_mapped = on_mapped
        self.routers: list[Any] = routers if routers is not None else [UpnpRouter(port, LEASE), NatPmpRouter(port, LEASE)]
        self.status = "asking the router"  # for /info
        self.mapping: Mapping | None = None
        self._router: Any = None  # the one that mapped the port
        self._task: asyncio.Task | None = None

    @property
    def public_address(self) -> tuple[str, int] | None:
        """Where the internet reaches us through the router, if we know."""
        mapping = self.mapping
        if mapping is None or not mapping.external_address or private_external(mapping.external_address):
            return None
        return mapping.external_address, mapping.external_port

    def start(self, delay: float = START_DELAY) -> None:
        self._task = asyncio.create_task(self._run(delay), name="port-mapping")

    async def _first(self) -> Mapping:
        reasons = []
        for router in self.routers:
            try:
                mapping = await router.add()
            except PortMapError as exc:
                reasons.append(str(exc))
                continue
            self._router = router
            return mapping
        raise PortMapError("; ".join(reasons))

    def _report(self, status: str) -> bool:
        """Keep `status` for /info and log it once; True if it changed."""
        if status == self.status:
            return False
        self.status = status
        logger.info("port mapping: {}", status)
        return True

    async def _run(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            mapping = await self._first()
        except PortMapError as exc:
            self._report(f"not mapped ({exc})")
            return
        while True:
            self.mapping = mapping
            public = self.public_address
            if public is None and mapping.external_address:
                self._report(f"mapped by {mapping.method} on {mapping.router}, but the router's own address "
                             f"{mapping.external_address} is private: another router stands in front of it")
            else:
                where = f"{public[0]}:{public[1]}" if public else f"port {mapping.external_port} of {mapping.router}"
                lease = f"renewed every {mapping.lifetime // 2 // 60} min" if mapping.lifetime else "no lease"
                if self._report(f"{where} forwarded by {mapping.method} ({lease})"):
                    self.on_mapped(mapping)
            if not mapping.lifetime:
                return
            await asyncio.sleep(max(MIN_RENEW, mapping.lifetime / 2))
            while True:
                try:
                    mapping = await self._router.add()
                    break
                except PortMapError as exc:
                    self.mapping = None
                    self._report(f"renewal failed ({exc}); trying again in {RETRY / 60:.0f} min")
                    await asyncio.sleep(RETRY)

    async def close(self) -> None:
        """Stop renewing and remove the mapping (briefly: quitting must not wait on a router)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._router is not None and self.mapping is not None:
            try:
                await asyncio.wait_for(self._router.remove(), REMOVE_TIMEOUT)
                logger.info("port mapping removed")
            except (PortMapError, asyncio.TimeoutError) as exc:
                logger.info("port mapping: could not remove it at quit: {}", exc or "no answer")
            self.mapping = None
