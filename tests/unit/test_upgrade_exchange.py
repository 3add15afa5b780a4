"""The relay-to-direct upgrade exchange, both roles run against each other in plain calls."""

from __future__ import annotations

import pytest

from p2pchat.protocol import Candidate, Candidates, Sync
from p2pchat.protocol.upgrade import (
    ANSWER_TIMEOUT,
    ATTEMPTS,
    RETRY_AFTER,
    Dial,
    GiveUp,
    Send,
    Upgrade,
    redial_targets,
)

PRESERVING = "port-preserving NAT"


def home(public: str | None, nat: str = PRESERVING, *extra: Candidate) -> Candidates:
    addresses = [Candidate(public, 7000, "public")] if public else []
    return Candidates(0, nat, [*addresses, Candidate("198.51.100.2", 7000, "local"), *extra])


def sent(decisions, kind):
    return [d.frame for d in decisions if isinstance(d, Send) and isinstance(d.frame, kind)]


def dials(decisions):
    return [d for d in decisions if isinstance(d, Dial)]


def gave_up(decisions):
    return [d.reason for d in decisions if isinstance(d, GiveUp)]


def pair(alice_home=None, bob_home=None):
    alice = Upgrade(alice_home or home("203.0.113.11"), initiator=True)
    bob = Upgrade(bob_home or home("203.0.113.12"), initiator=False)
    return alice, bob


def exchange(alice, bob, now, relay_rtt=0.2):
    """One attempt's frames, each crossing the relay in half a round trip: the two dials."""
    [offer] = sent(alice.start(now) if alice.attempt == 0 else alice.timer(now), Candidates)
    answer_decisions = bob.receive(offer, now + relay_rtt / 2)
    [answer] = sent(answer_decisions, Candidates)
    decisions = alice.receive(answer, now + relay_rtt)
    [sync] = sent(decisions, Sync)
    [alice_dial] = dials(decisions)
    [bob_dial] = dials(bob.receive(sync, now + relay_rtt * 1.5))
    return alice_dial, bob_dial


def test_both_dial_the_others_public_address_at_the_same_moment():
    alice, bob = pair()
    alice_dial, bob_dial = exchange(alice, bob, 100.0, relay_rtt=0.2)
    assert alice.rtt == pytest.approx(0.2)
    assert alice_dial.at == pytest.approx(bob_dial.at) == pytest.approx(100.3)
    assert alice_dial.targets == (("203.0.113.12", 7000),) and bob_dial.targets == (("203.0.113.11", 7000),)
    assert alice_dial.simultaneous and bob_dial.simultaneous
    alice.connected(), bob.connected()
    assert alice.state == bob.state == "direct"


def test_a_failed_punch_is_tried_again_up_to_three_times_then_both_say_why():
    alice, bob = pair()
    now = 0.0
    for attempt in range(1, ATTEMPTS + 1):
        exchange(alice, bob, now)
        now += 5.0  # the dials time out
        alice_out, bob_out = alice.dial_failed(now), bob.dial_failed(now)
        if attempt < ATTEMPTS:
            assert alice.state == bob.state == "between" and not alice_out and not bob_out
            now += RETRY_AFTER
    assert gave_up(alice_out) == gave_up(bob_out) == [f"{ATTEMPTS} attempts to connect directly failed"]
    assert alice.attempt == bob.attempt == ATTEMPTS


def test_a_lost_candidates_frame_costs_one_attempt_not_the_upgrade():
    alice, bob = pair()
    alice.start(0.0)  # lost on the way
    assert alice.timer(ANSWER_TIMEOUT - 0.1) == []
    assert alice.timer(ANSWER_TIMEOUT) == [] and alice.state == "between"
    alice_dial, bob_dial = exchange(alice, bob, ANSWER_TIMEOUT + RETRY_AFTER)
    assert alice.attempt == bob.attempt == 2 and alice_dial.at == pytest.approx(bob_dial.at)


def test_a_lost_sync_makes_both_sides_try_again():
    alice, bob = pair()
    [offer] = sent(alice.start(0.0), Candidates)
    [answer] = sent(bob.receive(offer, 0.1), Candidates)
    [alice_dial] = dials(alice.receive(answer, 0.2))  # its SYNC is lost
    assert bob.timer(0.1 + ANSWER_TIMEOUT) == [] and bob.state == "between"
    assert alice.dial_failed(5.0) == [] and alice.state == "between"
    assert bob.receive(Sync(1), 5.5) == []  # a late SYNC of the old attempt dials nothing
    alice_dial, bob_dial = exchange(alice, bob, 5.0 + RETRY_AFTER)
    assert alice.attempt == 2 and alice_dial.at == pytest.approx(bob_dial.at)


def test_a_peer_that_never_answers_ends_the_attempts():
    alice, _ = pair()
    alice.start(0.0)
    now = 0.0
    for _ in range(ATTEMPTS - 1):
        now += ANSWER_TIMEOUT
        alice.timer(now)
        now += RETRY_AFTER
        assert sent(alice.timer(now), Candidates)
    assert gave_up(alice.timer(now + ANSWER_TIMEOUT)) == ["the other side did not answer"]
    assert alice.finished and alice.timer(now + 100) == []


def test_a_responder_whose_initiator_stopped_gives_up_too():
    alice, bob = pair()
    exchange(alice, bob, 0.0)
    bob.dial_failed(5.0)
    assert bob.deadline is not None
    assert gave_up(bob.timer(bob.deadline)) == ["the other side stopped trying"]


@pytest.mark.parametrize(
    ("alice_nat", "bob_nat", "alice_says", "bob_says"),
    [
        (PRESERVING, "symmetric NAT", "the other side's router changes ports (symmetric NAT)",
         "your router changes ports (symmetric NAT)"),
        ("symmetric NAT", PRESERVING, "your router changes ports (symmetric NAT)",
         "the other side's router changes ports (symmetric NAT)"),
    ],
)
def test_a_symmetric_nat_on_either_side_stops_it_at_once_on_both(alice_nat, bob_nat, alice_says, bob_says):
    alice, bob = pair(home("203.0.113.11", alice_nat), home("203.0.113.12", bob_nat))
    [offer] = sent(alice.start(0.0), Candidates)
    bob_out = bob.receive(offer, 0.1)
    [answer] = sent(bob_out, Candidates)  # it still answers, so the initiator learns why
    assert gave_up(bob_out) == [bob_says]
    assert gave_up(alice.receive(answer, 0.2)) == [alice_says]
    assert alice.reason == alice_says and not dials(bob_out)


def test_without_stun_there_is_no_public_address_to_punch_to():
    alice, bob = pair(home(None, "unknown"), home("203.0.113.12"))
    [offer] = sent(alice.start(0.0), Candidates)
    assert gave_up(bob.receive(offer, 0.1)) == [
        "the other side's public address is unknown (its STUN is off or did not answer)"]


def test_a_forwarded_port_is_simply_dialed_by_the_other_side():
    mapped = Candidate("203.0.113.13", 41000, "mapped")
    alice, bob = pair(home("203.0.113.11"), home("203.0.113.13", PRESERVING, mapped))
    [offer] = sent(alice.start(0.0), Candidates)
    bob_out = bob.receive(offer, 0.1)
    assert not dials(bob_out) and bob.state == "awaiting"
    [answer] = sent(bob_out, Candidates)
    alice_out = alice.receive(answer, 0.2)
    assert dials(alice_out) == [Dial((("203.0.113.13", 41000),), 0.2, False)]
    assert not sent(alice_out, Sync)
    assert bob.timer(0.1 + ANSWER_TIMEOUT) == [] and bob.state == "between"  # the dial never came


def test_the_peer_cannot_make_us_dial_our_own_machine_or_broadcast():
    for host in ("127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.251", "169.254.1.1", "::1"):
        alice, bob = pair(home("203.0.113.11"), Candidates(0, PRESERVING, [Candidate(host, 7000, "public")]))
        [offer] = sent(alice.start(0.0), Candidates)
        [answer] = sent(bob.receive(offer, 0.1), Candidates)
        assert gave_up(alice.receive(answer, 0.2)) == ["the other side named no address to dial"], host


def test_local_addresses_are_dialed_only_behind_the_same_router():
    far = home("203.0.113.12", PRESERVING, Candidate("10.9.9.9", 22, "local"))
    alice, bob = pair(home("203.0.113.11"), far)
    alice_dial, _ = exchange(alice, bob, 0.0)
    assert ("10.9.9.9", 22) not in alice_dial.targets
    alice, bob = pair(home("203.0.113.11"), home("203.0.113.11"))
    [offer] = sent(alice.start(0.0), Candidates)
    [answer] = sent(bob.receive(offer, 0.1), Candidates)
    assert dials(alice.receive(answer, 0.2)) == [Dial((("198.51.100.2", 7000),), 0.2, False)]


def test_a_flood_of_candidates_is_cut_to_a_few_targets():
    many = Candidates(0, PRESERVING, [Candidate(f"203.0.113.{n}", 7000, "public") for n in range(1, 9)])
    alice, bob = pair(home("203.0.113.11"), many)
    alice_dial, _ = exchange(alice, bob, 0.0)
    assert len(alice_dial.targets) == 2


def test_a_reconnect_tries_only_the_peers_public_and_forwarded_addresses():
    peer = home("203.0.113.12", PRESERVING, Candidate("203.0.113.12", 41000, "mapped"), Candidate("127.0.0.1", 7000, "public"))
    assert redial_targets(peer) == (("203.0.113.12", 7000), ("203.0.113.12", 41000))
    assert redial_targets(home(None, "unknown")) == ()  # its LAN addresses are not for us


def test_an_answer_held_back_does_not_count_in_the_round_trip():
    """The responder was still asking STUN when the offer came: it says how long it held it,
    and the initiator times its dial from the relay's real round trip."""
    alice, bob = pair()
    [offer] = sent(alice.start(0.0), Candidates)
    [answer] = sent(bob.receive(offer, 2.1, arrived=0.1), Candidates)  # held 2 s
    assert answer.held == pytest.approx(2.0)
    decisions = alice.receive(answer, 2.2)
    assert alice.rtt == pytest.approx(0.2)
    [sync] = sent(decisions, Sync)
    [alice_dial] = dials(decisions)
    [bob_dial] = dials(bob.receive(sync, 2.3))
    assert alice_dial.at == pytest.approx(bob_dial.at) == pytest.approx(2.3)
