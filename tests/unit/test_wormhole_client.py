"""The wormhole client state machine, two instances talking through an in-memory mailbox.

The mailbox below keeps the server's rules that matter to a client (allocate picks a free
nameplate, claim opens its mailbox, every add is echoed to both sides, release and close answer,
a third side is "crowded"); the real server is exercised in tests/integration.
"""

from __future__ import annotations

import json

import pytest

from p2pchat.protocol.wormhole.client import (
    REPLY_TIMEOUT,
    Closed,
    CodeReady,
    Failed,
    KeyAgreed,
    NoPeer,
    PeerConfirmed,
    Received,
    WormholeClient,
    WrongCode,
)
from p2pchat.protocol.wormhole.keys import decrypt, phase_key

APPID = "p2pchat.test/unit"


class Mailbox:
    def __init__(self) -> None:
        self.nameplates: dict[str, list[str]] = {}  # nameplate -> sides holding it
        self.mailboxes: dict[str, list[dict]] = {}
        self.listeners: dict[str, list[WormholeClient]] = {}
        self.sides: dict[int, str] = {}
        self.log: list[tuple[str, dict]] = []

    def pump(self, *clients: WormholeClient, now: float = 0.0) -> None:
        busy = True
        while busy:
            busy = False
            for client in clients:
                for text in client.data_to_send():
                    busy = True
                    self.handle(client, json.loads(text), now)

    def reply(self, client: WormholeClient, now: float, **message) -> None:
        client.receive(json.dumps(message), now)

    def handle(self, client: WormholeClient, message: dict, now: float) -> None:
        self.log.append((client.side, message))
        kind = message["type"]
        self.reply(client, now, type="ack", id=message["id"])
        if kind == "bind":
            assert message["appid"] == APPID
            self.sides[id(client)] = message["side"]
        elif kind == "list":
            nameplates = [{"id": n} for n, holders in self.nameplates.items() if holders]
            self.reply(client, now, type="nameplates", nameplates=nameplates)
        elif kind == "allocate":
            nameplate = str(len(self.nameplates) + 1)
            self.nameplates[nameplate] = [client.side]  # the server claims it for the allocator
            self.reply(client, now, type="allocated", nameplate=nameplate)
        elif kind == "claim":
            holders = self.nameplates.setdefault(message["nameplate"], [])
            if client.side in holders:
                self.reply(client, now, type="claimed", mailbox="mb" + message["nameplate"])
                return
            if len(holders) >= 2:
                self.reply(client, now, type="error", error="crowded", orig=message)
                return
            holders.append(client.side)
            self.reply(client, now, type="claimed", mailbox="mb" + message["nameplate"])
        elif kind == "open":
            name = message["mailbox"]
            self.listeners.setdefault(name, []).append(client)
            for old in self.mailboxes.setdefault(name, []):
                self.reply(client, now, type="message", **old)
        elif kind == "add":
            name = next(n for n, ls in self.listeners.items() if client in ls)
            stored = {"side": client.side, "phase": message["phase"], "body": message["body"]}
            self.mailboxes[name].append(stored)
            for listener in self.listeners[name]:
                self.reply(listener, now, type="message", **stored)
        elif kind == "release":
            holders = self.nameplates.get(message["nameplate"], [])
            if client.side in holders:
                holders.remove(client.side)
            self.reply(client, now, type="released")
        elif kind == "close":
            self.listeners[message["mailbox"]].remove(client)
            self.reply(client, now, type="closed")


def events(client: WormholeClient) -> list:
    out = []
    while (event := client.next_event()) is not None:
        out.append(event)
    return out


def meet(inviter_code=None, guest_code=None):
    mailbox = Mailbox()
    inviter = WormholeClient(APPID, "aaaa", versions={"p2pchat": 1})
    inviter.connected(0.0)
    mailbox.pump(inviter)
    (ready,) = events(inviter)
    assert isinstance(ready, CodeReady)
    guest = WormholeClient(APPID, "bbbb", code=guest_code or ready.code, versions={"p2pchat": 1})
    guest.connected(1.0)
    return mailbox, inviter, guest, ready.code


def test_allocated_code_has_the_nameplate_and_two_words():
    _, _, _, code = meet()
    nameplate, first, second = code.split("-")
    assert nameplate == "1" and first.isalpha() and second.isalpha()


def test_both_sides_agree_a_key_and_read_each_others_messages():
    mailbox, inviter, guest, _ = meet()
    inviter.send(b"hello from the inviter")  # before the key: it waits for it
    mailbox.pump(inviter, guest)
    guest.send(b"hello from the guest")
    mailbox.pump(inviter, guest)
    got_inviter, got_guest = events(inviter), events(guest)
    assert [type(e) for e in got_inviter] == [KeyAgreed, PeerConfirmed, Received]
    assert [type(e) for e in got_guest] == [KeyAgreed, PeerConfirmed, Received]
    assert got_inviter[0].verifier == got_guest[0].verifier
    assert got_inviter[1].versions == {"p2pchat": 1}
    assert got_inviter[2] == Received(0, b"hello from the guest")
    assert got_guest[2] == Received(0, b"hello from the inviter")


def test_messages_on_the_wire_are_sealed_with_the_senders_phase_key():
    mailbox, inviter, guest, _ = meet()
    inviter.send(b"secret words")
    mailbox.pump(inviter, guest)
    adds = [m for side, m in mailbox.log if side == "aaaa" and m["type"] == "add"]
    assert [m["phase"] for m in adds] == ["pake", "version", "0"]
    assert b"secret words" not in bytes.fromhex(adds[2]["body"])
    key = inviter._key
    assert decrypt(phase_key(key, "aaaa", "0"), bytes.fromhex(adds[2]["body"])) == b"secret words"
    with pytest.raises(ValueError):
        decrypt(phase_key(key, "bbbb", "0"), bytes.fromhex(adds[2]["body"]))


def test_the_nameplate_is_released_after_the_first_message_from_the_other_side():
    mailbox, inviter, guest, _ = meet()
    mailbox.pump(inviter, guest)
    releases = [side for side, m in mailbox.log if m["type"] == "release"]
    assert sorted(releases) == ["aaaa", "bbbb"]


def test_a_wrong_code_is_detected_on_both_sides_and_nothing_is_delivered():
    mailbox = Mailbox()
    inviter = WormholeClient(APPID, "aaaa")
    inviter.connected(0.0)
    mailbox.pump(inviter)
    (ready,) = events(inviter)
    nameplate = ready.code.split("-")[0]
    guest = WormholeClient(APPID, "bbbb", code=f"{nameplate}-wrong-words")
    guest.connected(0.0)
    inviter.send(b"introduction")
    guest.send(b"introduction")
    mailbox.pump(inviter, guest)
    for client in (inviter, guest):
        got = events(client)
        assert WrongCode() in got and Closed() in got
        assert not any(isinstance(e, (Received, PeerConfirmed)) for e in got)
    closes = [m for _, m in mailbox.log if m["type"] == "close"]
    assert [m["mood"] for m in closes] == ["scary", "scary"]


def test_a_third_side_on_a_nameplate_two_others_hold_is_told_it_is_crowded():
    mailbox = Mailbox()
    mailbox.nameplates["9"] = ["aaaa", "bbbb"]  # both still hold it (neither has released yet)
    third = WormholeClient(APPID, "cccc", code="9-crossover-clockwork")
    third.connected(2.0)
    mailbox.pump(third)
    got = events(third)
    assert isinstance(got[0], Failed) and "used" in got[0].reason


def test_no_peer_in_time_is_reported_and_the_nameplate_let_go():
    mailbox = Mailbox()
    guest = WormholeClient(APPID, "bbbb", code="5-crossover-clockwork", peer_timeout=30.0)
    guest.connected(0.0)
    mailbox.pump(guest)
    guest.tick(29.0)
    assert events(guest) == []
    guest.tick(30.0)
    mailbox.pump(guest)
    assert events(guest) == [NoPeer(), Closed()]


def test_a_server_that_does_not_answer_times_out():
    client = WormholeClient(APPID, "aaaa")
    client.connected(0.0)
    client.data_to_send()
    assert client.deadline == REPLY_TIMEOUT
    client.tick(REPLY_TIMEOUT)
    got = events(client)
    assert isinstance(got[0], Failed) and got[-1] == Closed()


@pytest.mark.parametrize("text", [
    "not json", "[1, 2]", '{"no": "type"}', '{"type": "message", "side": 1}',
    '{"type": "allocated", "nameplate": "\u0661\u0662"}', '{"type": "allocated", "nameplate": "7\u001b[2J"}',
])
def test_garbage_from_the_server_is_one_failure(text):
    client = WormholeClient(APPID, "aaaa")
    client.connected(0.0)
    client.receive(text, 0.0)
    got = events(client)
    assert len([e for e in got if isinstance(e, Failed)]) == 1
    assert "not the wormhole protocol" in got[0].reason


def test_a_welcome_with_an_error_refuses_us():
    client = WormholeClient(APPID, "aaaa")
    client.connected(0.0)
    client.receive(json.dumps({"type": "welcome", "welcome": {"error": "go away\x1b[31m"}}), 0.0)
    (failed, closed) = events(client)
    assert failed == Failed("the rendezvous server refuses us: go away [31m") and closed == Closed()


def test_a_lost_connection_before_the_end_is_a_failure():
    client = WormholeClient(APPID, "aaaa")
    client.connected(0.0)
    client.lost()
    assert events(client) == [Failed("the rendezvous server closed the connection"), Closed()]


def test_a_peer_that_agrees_a_key_and_then_falls_silent_times_out():
    mailbox = Mailbox()
    maker = WormholeClient(APPID, "aaaa")  # sends its pake, never any message of its own
    maker.connected(0.0)
    mailbox.pump(maker)
    (ready,) = events(maker)
    guest = WormholeClient(APPID, "bbbb", code=ready.code, peer_timeout=20.0)
    guest.connected(0.0)
    mailbox.pump(maker, guest, now=5.0)
    assert [type(e) for e in events(guest)] == [KeyAgreed, PeerConfirmed]
    guest.tick(24.0)
    assert events(guest) == []
    guest.tick(25.0)
    mailbox.pump(guest)
    assert events(guest) == [Failed("the other side of the code stopped answering"), Closed()]


def test_a_code_whose_nameplate_is_not_listed_meets_nobody_at_once():
    mailbox = Mailbox()
    other = WormholeClient(APPID, "aaaa")  # someone else's code keeps the list from being empty
    other.connected(0.0)
    mailbox.pump(other)
    guest = WormholeClient(APPID, "bbbb", code="5-crossover-clockwork", peer_timeout=30.0)
    guest.connected(0.0)
    mailbox.pump(guest)
    assert events(guest) == [NoPeer(), Closed()]
    assert not any(m["type"] == "claim" for side, m in mailbox.log if side == "bbbb")
