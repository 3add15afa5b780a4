"""The STUN client against real STUN responders on 127.0.0.1 (the NAT lab's, as subprocesses)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from p2pchat.net.stun import public_address
from p2pchat.protocol.stun import Mapping, classify, parse_servers

RESPONDER = Path(__file__).resolve().parents[1] / "nat" / "stun_server.py"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def responders():
    started = []
    for _ in range(2):
        port = free_udp_port()
        process = subprocess.Popen([sys.executable, str(RESPONDER), "127.0.0.1", str(port)], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        started.append((process, port))
    yield [("127.0.0.1", port) for _, port in started]
    for process, _ in started:
        process.kill()
        process.wait(5)


async def test_two_answers_from_our_own_port_show_it_is_kept(responders):
    port = free_udp_port()
    verdict = await public_address(responders, port)
    assert (verdict.host, verdict.port, verdict.mapping) == ("127.0.0.1", port, Mapping.PRESERVING)


async def test_a_silent_server_leaves_the_verdict_open():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        verdict = await public_address([silent.getsockname()], free_udp_port())
    assert verdict.mapping is Mapping.UNKNOWN and verdict.host is None


async def test_one_answer_gives_the_address_but_no_verdict(responders):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        verdict = await public_address([responders[0], silent.getsockname()], free_udp_port())
    assert verdict.host == "127.0.0.1" and verdict.mapping is Mapping.UNKNOWN


def test_two_public_ports_for_one_socket_mean_a_symmetric_nat():
    verdict = classify(7000, {"192.168.1.5"}, [("203.0.113.11", 40001), ("203.0.113.11", 40002)])
    assert verdict.mapping is Mapping.SYMMETRIC and verdict.port is None


def test_our_own_address_and_port_mean_no_nat():
    assert classify(7000, {"203.0.113.20"}, [("203.0.113.20", 7000)]).mapping is Mapping.NO_NAT


def test_one_stable_public_port_that_is_not_ours():
    assert classify(7000, set(), [("203.0.113.11", 1234)] * 2).mapping is Mapping.CONSISTENT


def test_the_server_list_setting():
    assert parse_servers("stun.example.org:3478, [2001:db8::1]:19302") == [("stun.example.org", 3478), ("2001:db8::1", 19302)]
    assert parse_servers("  ") == []
    for bad in ("stun.example.org", "host:0", "host:x"):
        with pytest.raises(ValueError):
            parse_servers(bad)
