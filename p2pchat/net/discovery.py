"""Announcing ourselves and seeing other p2pchat users on the local network (mDNS / DNS-SD,
through the `zeroconf` package).

zeroconf takes a quarter of a second to import: it is imported in a thread when discovery
starts, never on the way to the app's first frame. Whatever arrives from the network is a
claim: a record that cannot be read is skipped (and logged), never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from p2pchat.protocol.lan import SERVICE_TYPE, instance_name, parse_txt, txt_properties

RESOLVE_TIMEOUT = 3.0  # seconds to wait for a service's address and TXT record


@dataclass(frozen=True)
class LanService:
    name: str  # the DNS-SD instance name
    nickname: str
    fingerprint: str  # as announced: checked by TLS when dialed
    hosts: tuple[str, ...]
    port: int


def service_from(name: str, properties: dict, addresses: list[str], port: int | None) -> LanService | None:
    """The service a resolved record describes, or None (logged) when it makes no sense."""
    try:
        announcement = parse_txt(properties)
    except ValueError as exc:
        logger.info("LAN: ignoring the announcement {!r}: {}", name, exc)
        return None
    hosts = tuple(a for a in addresses if a and ":" not in a)  # IPv4: what we announce too
    if not hosts or not port or not 0 < port < 65536:
        logger.info("LAN: ignoring the announcement {!r}: no usable address or port", name)
        return None
    return LanService(name, announcement.nickname, announcement.fingerprint, hosts, port)


class LanDiscovery:
    """Announce (optional) and browse `_p2pchat._tcp`; `on_change()` runs after every change
    to `services` (on the event loop)."""

    def __init__(self, on_change: Callable[[], None], interfaces: list[str] | None = None) -> None:
        self.on_change = on_change
        self.interfaces = interfaces  # None: every interface
        self.services: dict[str, LanService] = {}
        # zeroconf's objects, imported on start() (the first frame does not wait for it)
        self._zc: Any = None
        self._browser: Any = None
        self._announced: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    async def start(self, announce: tuple[str, str, int, list[str]] | None = None) -> None:
        """Browse, and if `announce` is (nickname, fingerprint, port, addresses), announce."""
        await asyncio.to_thread(importlib.import_module, "zeroconf.asyncio")
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

        if self._closed:
            return
        self._zc = AsyncZeroconf(interfaces=self.interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only)
        self._browser = AsyncServiceBrowser(self._zc.zeroconf, SERVICE_TYPE, handlers=[self._changed])
        if announce is not None:
            await self.announce(*announce)

    async def announce(self, nickname: str, fingerprint: str, port: int, addresses: list[str]) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        info = AsyncServiceInfo(
            SERVICE_TYPE, instance_name(fingerprint), port=port,
            properties=txt_properties(nickname, fingerprint),
            server=f"p2pchat-{fingerprint[:16].lower()}.local.",
            addresses=[socket.inet_aton(a) for a in addresses if ":" not in a],
        )
        if self._announced is None:
            await self._zc.async_register_service(info, allow_name_change=True)
        else:
            await self._zc.async_update_service(info)
        self._announced = info

    def _changed(self, zeroconf, service_type: str, name: str, state_change) -> None:
        if state_change.name == "Removed":
            if self.services.pop(name, None) is not None:
                self.on_change()
            return
        task = asyncio.ensure_future(self._resolve(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, name: str) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        info = AsyncServiceInfo(SERVICE_TYPE, name)
        try:
            found = await info.async_request(self._zc.zeroconf, RESOLVE_TIMEOUT * 1000)
        except Exception as exc:  # a malformed record must not end discovery
            logger.info("LAN: cannot resolve {!r}: {}", name, exc)
            return
        if not found or self._closed:
            return
        service = service_from(name, info.properties or {}, info.parsed_addresses(), info.port)
        if service is not None and self.services.get(name) != service:
            self.services[name] = service
            self.on_change()

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.async_cancel()
        if self._zc is not None:
            with contextlib.suppress(Exception):
                if self._announced is not None:
                    await asyncio.wait_for(self._zc.async_unregister_service(self._announced), 1.0)
            with contextlib.suppress(Exception):
                await self._zc.async_close()
