"""A LAN that floods announcements costs bounded memory and work: at most MAX_SERVICES kept,
MAX_HOSTS addresses each, one report per burst, and a bounded number of lookups at once."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest
from zeroconf import ServiceStateChange

from p2pchat.net import discovery
from p2pchat.net.discovery import LanDiscovery, LanService
from p2pchat.reach.lan import LanPeers

pytestmark = pytest.mark.timeout(30)


def fingerprint(n: int) -> str:
    return base64.b32encode(hashlib.sha256(str(n).encode()).digest()).decode().rstrip("=")


def flood(lan: LanDiscovery, count: int) -> None:
    for n in range(count):
        hosts = tuple(f"192.0.2.{h}" for h in range(1, 11))
        lan.found(LanService(f"p2pchat-{n}._p2pchat._tcp.local.", f"n{n}", fingerprint(n), hosts[: discovery.MAX_HOSTS], 7000))


async def test_2000_announcements_keep_64_and_report_once():
    reports: list[int] = []
    lan = LanDiscovery(lambda: reports.append(len(lan.services)))
    flood(lan, 2000)
    await asyncio.sleep(discovery.SETTLE * 2)
    assert len(lan.services) == discovery.MAX_SERVICES
    assert reports == [discovery.MAX_SERVICES]


async def test_a_known_name_updates_in_place_past_the_cap():
    lan = LanDiscovery(lambda: None)
    flood(lan, 100)
    first = next(iter(lan.services.values()))
    lan.found(LanService(first.name, "renamed", first.fingerprint, first.hosts, first.port))
    assert lan.services[first.name].nickname == "renamed"


def test_an_announcement_keeps_at_most_four_hosts():
    service = discovery.service_from(
        "x", {"v": "1", "nick": "eve", "fp": fingerprint(1)}, [f"192.0.2.{h}" for h in range(1, 50)], 7000)
    assert service is not None and len(service.hosts) == discovery.MAX_HOSTS


async def test_a_burst_of_new_names_starts_a_bounded_number_of_lookups():
    lan = LanDiscovery(lambda: None)
    for n in range(2000):
        lan._changed(None, "_p2pchat._tcp.local.", f"p2pchat-{n}._p2pchat._tcp.local.", ServiceStateChange.Added)
    assert len(lan._tasks) == discovery.MAX_RESOLVING
    await lan.close()


async def test_the_session_view_lists_at_most_the_cap(tmp_path):
    changes: list[int] = []
    peers = LanPeers(fingerprint(-1), lambda fp: False, lambda found: changes.append(len(found)))
    flood(peers._discovery, 2000)
    await asyncio.sleep(discovery.SETTLE * 2)
    assert changes == [discovery.MAX_SERVICES]
    assert len(peers.peers()) == discovery.MAX_SERVICES
