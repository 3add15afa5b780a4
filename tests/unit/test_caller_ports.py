"""The caller driven through its narrow ports alone: no Session, no sockets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from p2pchat.net.address import PeerAddress
from p2pchat.reach.caller import Caller
from p2pchat.reach.race import ReachPlan
from p2pchat.reach.target import DialTarget, parse_target


@dataclass
class StandingStill:
    stopped: bool = False
    connected: bool = False
    handshaking: bool = False
    last_peer_id: str | None = None


@dataclass
class Recorder:
    said: list[tuple] = field(default_factory=list)

    def dialing(self, target, attempt):
        self.said.append(("dialing", target, attempt))

    def retrying(self, target, attempt, delay, reason):
        self.said.append(("retrying", target, attempt, delay, reason))

    def gave_up(self):
        self.said.append(("gave up",))

    def notice(self, text, level="info"):
        self.said.append(("notice", text, level))


def nowhere(_target):
    """A plan with no path at all: every attempt fails at once."""
    return ReachPlan([], [], [], None, None, "side", 1.0, lambda conn: None), lambda conn: None


def make_caller(presence, report, tasks):
    async def never(conn, expected):
        raise AssertionError("no connection should reach the handshake")

    def spawn(coro, name):
        task = asyncio.ensure_future(coro)
        tasks.append(task)
        return task

    return Caller(presence, report, plan=nowhere, handshake=never, spawn=spawn,
                  listening_port=lambda: 7001, reconnect_cap=2.0)


async def test_each_failed_attempt_is_reported_with_the_backoff_until_stopped():
    presence, report, tasks = StandingStill(), Recorder(), []
    caller = make_caller(presence, report, tasks)
    target = DialTarget((PeerAddress("10.0.0.2", 7000),))
    caller.call(target)
    while len([s for s in report.said if s[0] == "retrying"]) < 2:
        await asyncio.sleep(0.05)
    caller.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert report.said[:4] == [
        ("dialing", "10.0.0.2:7000", 1),
        ("retrying", "10.0.0.2:7000", 1, 0.5, "no address to try, and no relay that could find this peer"),
        ("dialing", "10.0.0.2:7000", 2),
        ("retrying", "10.0.0.2:7000", 2, 1.0, "no address to try, and no relay that could find this peer"),
    ]


async def test_a_peer_found_on_the_lan_is_not_called_while_a_handshake_is_under_way():
    presence, report, tasks = StandingStill(handshaking=True), Recorder(), []
    caller = make_caller(presence, report, tasks)
    caller.call_found("p2pchat://192.168.1.9:7100/" + "B" * 52)
    assert tasks == [] and caller.target is None
    presence.handshaking = False
    presence.stopped = True  # quitting: nothing is called either
    caller.call_found("p2pchat://192.168.1.9:7100/" + "B" * 52)
    assert tasks == []


async def test_the_caller_stops_when_the_peer_reached_us_first():
    presence, report, tasks = StandingStill(connected=True), Recorder(), []
    caller = make_caller(presence, report, tasks)
    caller.call(parse_target("10.0.0.2:7000"))
    await asyncio.gather(*tasks)
    assert report.said == []


async def test_a_peer_found_on_the_lan_where_a_call_is_ringing_is_not_called_twice():
    """Enter on a LAN entry dials it; the session's own LAN watch then sees that same peer
    appear: the attempt under way there is not started over."""
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    address = f"p2pchat://127.0.0.1:{port}/" + "B" * 52
    ringing = asyncio.Event()

    async def slow_handshake(conn, expected):
        ringing.set()
        await asyncio.sleep(30)  # the peer takes its time: the attempt stays under way

    def here(target):
        return ReachPlan(list(target.direct), [], [], None, None, "side", 5.0, lambda conn: None), lambda conn: None

    presence, report, tasks = StandingStill(), Recorder(), []

    def spawn(coro, name):
        tasks.append(asyncio.ensure_future(coro))
        return tasks[-1]

    caller = Caller(presence, report, plan=here, handshake=slow_handshake, spawn=spawn,
                    listening_port=lambda: 7001, reconnect_cap=2.0)
    try:
        caller.call(parse_target(address))
        await asyncio.wait_for(ringing.wait(), 5)
        caller.call_found(address)
        await asyncio.sleep(0.2)
        assert [said for said in report.said if said[0] == "dialing"] == [("dialing", f"127.0.0.1:{port}", 1)]
        assert len(tasks) == 1
    finally:
        caller.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
