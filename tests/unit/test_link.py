"""The handshake state machine, both ends in memory: no sockets, no event loop, no sleeps.

Like h11's ConnectionPair, a `Pair` is one connection between two `Side`s; frames one end
sends wait in the other's inbox until a test delivers them, so any interleaving of two
connections can be written down step by step. Approval (the identity check, which may ask a
person) is taken as immediate.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import p2pchat.session.handshake.machine as link
from p2pchat.protocol import (
    ERROR_CODES,
    FRAME_CLASSES,
    PROTOCOL_VERSION,
    Busy,
    Bye,
    Error,
    Hello,
    ProtocolError,
    Ready,
    Text,
    is_decider,
)
from p2pchat.session.handshake.machine import (
    ALLOWED_BEFORE_READY,
    DUPLICATE_WINDOW,
    Abandon,
    Activate,
    AnswerBusy,
    CloseDuplicate,
    Handshake,
    PeerClosed,
    PeerRefused,
    Standing,
)

DECIDER, OTHER, THIRD = "A" * 52, "B" * 52, "C" * 52


class Side:
    """One instance: its standing, shared by all its connections."""

    def __init__(self, own_id: str, nickname: str) -> None:
        self.nickname = nickname
        self.standing = Standing(own_id)
        self.activations: list[str] = []

    def activate(self, peer_id: str, session_id: str, now: float) -> None:
        s = self.standing
        s.live_peer, s.session_id, s.last_peer, s.live_since = peer_id, session_id, peer_id, now
        self.activations.append(session_id)

    def lose(self) -> None:
        self.standing.live_peer = None


class Pair:
    """One connection between two sides, both handshakes run in memory."""

    def __init__(self, a: Side, b: Side, *, tls: bool = True) -> None:
        self.sides = (a, b)
        self.hs = {
            a: Handshake(a.standing.own_id, address=f"{b.nickname}:1", proven_id=b.standing.own_id if tls else None),
            b: Handshake(b.standing.own_id, address=f"{a.nickname}:1", proven_id=a.standing.own_id if tls else None),
        }
        # Both send HELLO at once, carrying the session each knows at this moment.
        self.inbox = {a: [self.hs[b].hello_frame(b.nickname, b.standing)],
                      b: [self.hs[a].hello_frame(a.nickname, a.standing)]}

    def other(self, side: Side) -> Side:
        return self.sides[1] if side is self.sides[0] else self.sides[0]

    def step(self, side: Side, now: float = 0.0):
        """Deliver the next frame waiting for `side`; carry out what its handshake decides."""
        hs = self.hs[side]
        decision = hs.receive(self.inbox[side].pop(0), side.standing)
        if isinstance(decision, link.Approve):
            decision = hs.approved(side.standing, now)
        if isinstance(decision, link.SendReady):
            self.inbox[self.other(side)].append(decision.frame)
        elif isinstance(decision, (AnswerBusy, CloseDuplicate)):
            self.inbox[self.other(side)].append(decision.frame)
        elif isinstance(decision, Activate):
            side.activate(hs.peer_id, decision.session_id, now)
        return decision

    def run(self, now: float = 0.0) -> None:
        """Both HELLOs, then both READYs."""
        a, b = self.sides
        for side in (a, b, a, b):
            self.step(side, now)


@pytest.fixture
def alice():
    return Side(DECIDER, "alice")


@pytest.fixture
def bob():
    return Side(OTHER, "bob")


def test_ids_make_alice_the_decider():
    assert is_decider(DECIDER, OTHER)


def test_two_fresh_sides_agree_on_a_new_session(alice, bob):
    Pair(alice, bob).run()
    assert alice.activations == bob.activations
    (session,) = alice.activations
    assert len(session) == 32
    assert alice.standing.live_peer == OTHER and bob.standing.live_peer == DECIDER
    assert not alice.standing.claims and not bob.standing.claims


def test_simultaneous_dial_keeps_exactly_one_connection(alice, bob):
    first, second = Pair(alice, bob), Pair(bob, alice)
    for pair in (first, second):  # every HELLO arrives before any READY
        assert isinstance(pair.step(alice), link.SendReady | CloseDuplicate)
        assert isinstance(pair.step(bob), link.SendReady)
    assert isinstance(second.step(bob), PeerClosed)  # the decider's BYE duplicate
    assert second.inbox[alice] == [Ready(None)]
    assert isinstance(first.step(bob), Activate)
    assert isinstance(first.step(alice), Activate)
    assert alice.activations == bob.activations and len(alice.activations) == 1
    assert not alice.standing.claims


def test_second_connection_inside_the_window_is_a_duplicate(alice, bob):
    first, late = Pair(alice, bob), Pair(bob, alice)  # both HELLOs were sent at once
    first.run(now=10.0)
    assert isinstance(late.step(alice, now=10.0 + DUPLICATE_WINDOW / 2), CloseDuplicate)
    assert alice.activations == bob.activations


def test_resume_moves_the_live_session_to_a_new_connection(alice, bob):
    Pair(alice, bob).run(now=10.0)
    (session,) = alice.activations
    bob.lose()  # only bob noticed the old connection die; alice still holds it
    again = Pair(bob, alice)
    assert again.inbox[alice][0].session == session
    decision = again.step(alice, now=10.5)  # inside the window, yet not a duplicate
    assert decision == link.SendReady(Ready(session))
    again.step(bob)
    again.step(bob)
    again.step(alice)
    assert alice.activations == bob.activations == [session, session]


def test_resume_after_both_noticed_the_loss(alice, bob):
    Pair(alice, bob).run()
    alice.lose()
    bob.lose()
    Pair(bob, alice).run(now=100.0)
    assert alice.activations[0] == alice.activations[1] == bob.activations[1]


def test_a_session_id_from_someone_else_is_not_resumed(alice, bob):
    Pair(alice, bob).run()
    (session,) = alice.activations
    alice.lose()
    carol = Side(THIRD, "carol")
    carol.standing.session_id = session  # a stale or forged id
    Pair(alice, carol).run()
    assert carol.activations[0] != session


@pytest.mark.parametrize(("after", "duplicate"), [(DUPLICATE_WINDOW / 2, True), (DUPLICATE_WINDOW * 2, False)])
def test_restart_of_the_peer_inside_and_outside_the_window(alice, bob, after, duplicate):
    Pair(alice, bob).run(now=10.0)
    restarted = Side(OTHER, "bob")  # same identity, no session since it started
    pair = Pair(restarted, alice)
    decision = pair.step(alice, now=10.0 + after)
    if duplicate:
        assert isinstance(decision, CloseDuplicate)
        pair.step(restarted)  # alice's HELLO
        assert isinstance(pair.step(restarted), PeerClosed)
        return
    assert isinstance(decision, link.SendReady) and decision.frame.session != alice.activations[0]
    pair.step(restarted)
    pair.step(restarted)
    pair.step(alice, now=10.0 + after)
    assert restarted.activations == alice.activations[1:]


def test_a_replacement_already_being_set_up_makes_another_a_duplicate(alice, bob):
    Pair(alice, bob).run(now=0.0)
    bob.lose()
    first, second = Pair(bob, alice), Pair(bob, alice)
    assert isinstance(first.step(alice, now=50.0), link.SendReady)
    assert isinstance(second.step(alice, now=50.0), CloseDuplicate)


def test_a_third_peer_is_told_busy(alice, bob):
    Pair(alice, bob).run()
    carol = Side(THIRD, "carol")
    pair = Pair(carol, alice)
    decision = pair.step(alice)
    assert isinstance(decision, AnswerBusy)
    assert decision.notice == "carol (carol:1) tried to connect; refused: already in a chat"
    pair.step(carol)  # alice's HELLO
    with pytest.raises(PeerRefused) as refused:
        pair.step(carol)
    assert refused.value.final and str(refused.value) == "alice:1 is already in a chat"
    assert alice.standing.live_peer == OTHER


def test_a_third_peer_is_busy_while_another_handshake_holds_a_claim(alice, bob):
    Pair(alice, bob).step(alice)  # READY sent to bob, waiting for his
    assert alice.standing.claims == {OTHER}
    assert isinstance(Pair(Side(THIRD, "carol"), alice).step(alice), AnswerBusy)


def test_a_peer_that_came_up_while_another_was_asked_wins(alice, bob):
    carol = Side(THIRD, "carol")
    slow = Pair(carol, alice)
    assert isinstance(slow.hs[alice].receive(slow.inbox[alice].pop(0), alice.standing), link.Approve)
    Pair(alice, bob).run()  # bob got in while carol's identity was being asked about
    assert isinstance(slow.hs[alice].approved(alice.standing, 0.0), AnswerBusy)


def test_a_session_that_came_up_while_waiting_for_ready_abandons_this_one(alice, bob):
    carol = Side(THIRD, "carol")
    slow = Pair(carol, alice)
    slow.step(alice)
    slow.step(carol)
    alice.standing.claims.clear()  # as if carol's claim were not the first
    Pair(alice, bob).run()
    slow.step(carol)
    assert isinstance(slow.step(alice), Abandon)
    assert alice.standing.live_peer == OTHER


def test_version_mismatch_is_refused_for_good_with_an_error(alice):
    hs = Handshake(DECIDER, address="b:1")
    with pytest.raises(PeerRefused) as refused:
        hs.receive(Hello(PROTOCOL_VERSION + 1, "bob", OTHER, [], None), alice.standing)
    assert refused.value.final
    assert refused.value.reply.code == "incompatible_version"
    assert "peer speaks 2, we speak 1" in refused.value.reply.message


def test_hello_id_other_than_the_certificate_key_is_refused(alice):
    hs = Handshake(DECIDER, address="b:1", proven_id=OTHER)
    with pytest.raises(PeerRefused) as refused:
        hs.receive(Hello(PROTOCOL_VERSION, "bob", THIRD, [], None), alice.standing)
    assert refused.value.final and refused.value.reply.code == "identity_mismatch"
    assert str(refused.value).startswith("IDENTITY MISMATCH at b:1")


def test_a_grouped_hello_id_matches_its_certificate(alice):
    hs = Handshake(DECIDER, address="b:1", proven_id=OTHER)
    grouped = "-".join(OTHER[i : i + 4] for i in range(0, len(OTHER), 4)).lower()
    decision = hs.receive(Hello(PROTOCOL_VERSION, "bob", grouped, [], None), alice.standing)
    assert decision.peer_id == OTHER


def test_without_tls_the_hello_id_is_taken_as_it_is(alice, bob):
    Pair(alice, bob, tls=False).run()
    assert alice.standing.live_peer == OTHER


def test_a_connection_to_itself_is_refused_for_good(alice):
    pair = Pair(alice, Side(DECIDER, "alice"))
    with pytest.raises(PeerRefused) as refused:
        pair.step(alice)
    assert refused.value.final and refused.value.reply == Bye("connected to itself")


@pytest.mark.parametrize(
    ("frame", "final"),
    [
        (Busy("already in a chat"), True),
        (Bye("identity refused"), True),
        (Error("tls_required", "x"), True),
        (Error("tls_unexpected", "x"), True),
        (Error("incompatible_version", "x"), True),
        (Error("identity_mismatch", "x"), True),
        (Error("bad_frame", "x"), False),
    ],
)
@pytest.mark.parametrize("at_ready", [False, True])
def test_refusals_from_the_peer(alice, bob, frame, final, at_ready):
    pair = Pair(alice, bob)
    if at_ready:
        pair.step(alice)
    pair.inbox[alice] = [frame]
    with pytest.raises(PeerRefused) as refused:
        pair.step(alice)
    assert refused.value.final is final and refused.value.reply is None
    assert not alice.standing.claims


def test_any_other_bye_is_the_peer_closing(alice, bob):
    pair = Pair(alice, bob)
    pair.inbox[alice] = [Bye("quit")]
    assert pair.step(alice) == PeerClosed("quit")


@pytest.mark.parametrize(
    ("at_ready", "frame", "code"),
    [
        (False, Text("m", "hi", False), "unexpected_frame"),
        (False, Ready("x" * 32), "unexpected_frame"),
        (True, Hello(PROTOCOL_VERSION, "bob", OTHER, [], None), "unexpected_frame"),
    ],
)
def test_frames_out_of_turn_break_the_protocol(alice, bob, at_ready, frame, code):
    pair = Pair(alice, bob)
    if at_ready:
        pair.step(alice)
    pair.inbox[alice] = [frame]
    with pytest.raises(ProtocolError) as broken:
        pair.step(alice)
    assert broken.value.code == code


def test_ready_from_the_decider_must_name_a_session(alice, bob):
    pair = Pair(alice, bob)
    pair.step(bob)
    pair.inbox[bob] = [Ready(None)]
    with pytest.raises(ProtocolError) as broken:
        pair.step(bob)
    assert broken.value.code == "bad_frame"


def test_a_claim_is_released_when_the_handshake_ends(alice, bob):
    pair = Pair(alice, bob)
    pair.step(alice)
    assert alice.standing.claims == {OTHER}
    pair.hs[alice].release()
    assert not alice.standing.claims


def test_only_the_first_claim_releases_it(bob, alice):
    first, second = Pair(bob, alice), Pair(bob, alice)
    first.step(bob)
    second.step(bob)  # the non-decider answers READY on every connection
    second.hs[bob].release()
    assert bob.standing.claims == {DECIDER}
    first.hs[bob].release()
    assert not bob.standing.claims


def test_only_handshake_frames_are_allowed_before_ready():
    assert ALLOWED_BEFORE_READY == {Hello, Ready, Busy, Bye, Error}
    assert ALLOWED_BEFORE_READY <= set(FRAME_CLASSES)


def test_the_handshake_knows_no_asyncio_and_no_clock():
    tree = ast.parse(Path(link.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {"asyncio", "time", "socket", "ssl"} & imported


def test_codes_that_stop_a_dialer_are_codes_of_the_protocol():
    assert link.FINAL_ERROR_CODES <= ERROR_CODES
