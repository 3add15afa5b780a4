"""Short codes in the NAT lab: a real mailbox server and transit relay on the lab's internet,
two homes behind masquerading routers that refuse unknown peers."""

from __future__ import annotations

import time

import pytest
from lab import RELAY_ADDRESS
from test_nat import VIA_RELAY, fingerprint_of

from tests.support.mailbox import MailboxServer

pytestmark = pytest.mark.nat

MAILBOX_PORT = 4000
CODE_LINE = r"^\* code: (\d+-[a-z]+-[a-z]+)  \(your peer types it into"
NOBODY = "203.0.113.99"  # on the lab's internet, but no machine answers there


@pytest.fixture(scope="module")
def mailbox(lab):
    server = MailboxServer(RELAY_ADDRESS, MAILBOX_PORT, netns=lab.inet).start()
    yield server
    server.stop()


def strict(lab, mailbox, *args: str) -> tuple:
    """Options of a peer that refuses unknown identities and knows the lab's servers."""
    return ("--port", "7000", "--relay", lab.relay_setting, "--rendezvous", mailbox.url, *args)


def code_of(peer) -> str:
    peer.type("/invite")
    return peer.wait_line(CODE_LINE, 20).group(1)


NEVER = {"P2PCHAT_ACCEPT_UNKNOWN": "never"}


def test_two_homes_meet_with_a_code_and_chat(lab, mailbox, spawn):
    alice = spawn("alice", *strict(lab, mailbox), env=NEVER, netns=lab.homes[1])
    alice.port()
    code = code_of(alice)
    bob = spawn("bob", *strict(lab, mailbox, "--connect", code), env=NEVER, netns=lab.homes[2])
    seen_by_bob = bob.wait_line(rf"^\* connected to alice {VIA_RELAY}", 30).group(1)
    alice.wait_line(rf"^\* the code {code} was used: identity")
    alice.wait_line(r"^\* bob came with your invite")  # no question, though both refuse strangers
    alice.wait_line(rf"^\* connected to bob {VIA_RELAY}", 30)
    assert seen_by_bob.replace("-", "") in fingerprint_of(alice).replace("-", "")
    alice.type("hello from home 1")
    bob.type("hello from home 2")
    assert bob.wait_received("alice", 1, 20) == ["hello from home 1"]
    assert alice.wait_received("bob", 1, 20) == ["hello from home 2"]

    # The code was good for that one meeting: a third party with the very same code meets nobody.
    carol = spawn("carol", *strict(lab, mailbox), env=NEVER, netns=lab.public)
    carol.port()
    carol.type(f"/connect {code}")
    carol.wait_line(rf"^\* cannot connect to {code}: nobody is waiting on that code", 40)
    assert carol.count(r"connected to") == 0


def test_a_wrong_code_is_refused_and_both_are_told(lab, mailbox, spawn):
    alice = spawn("alice", *strict(lab, mailbox), env=NEVER, netns=lab.homes[1])
    alice.port()
    code = code_of(alice)
    nameplate = code.split("-")[0]
    mallory = spawn("mallory", *strict(lab, mailbox), env=NEVER, netns=lab.homes[2])
    mallory.port()
    mallory.type(f"/connect {nameplate}-aardvark-adroitness")
    mallory.wait_line(rf"^\* cannot connect to {nameplate}-aardvark-adroitness: the code did not match", 30)
    alice.wait_line(rf"^\* someone tried the code {code} with the wrong words: the code is spent", 30)
    time.sleep(1)
    assert alice.count(r"connected to") == 0 and mallory.count(r"connected to") == 0
    known = mallory.home / "data" / "known_peers.toml"
    assert not known.exists() or "alice" not in known.read_text()  # nothing pinned


def test_without_the_mailbox_server_the_invite_line_comes_within_five_seconds(lab, spawn):
    alice = spawn("alice", "--port", "7000", "--relay", lab.relay_setting,
                  "--rendezvous", f"ws://{NOBODY}:{MAILBOX_PORT}/v1", netns=lab.homes[1])
    alice.port()
    start = time.monotonic()
    alice.type("/invite")
    alice.wait_line(rf"^\* no code: the rendezvous server ws://{NOBODY}:{MAILBOX_PORT}/v1 cannot be reached", 10)
    alice.wait_line(r"^p2pchat1[a-z2-7]+$", 5)
    assert time.monotonic() - start < 6.5  # 5 s, and the time a plain process takes to print
    alice.type("/info")
    alice.wait_line(r"^\* you: ")  # the session still answers


def test_with_the_mailbox_server_stopped_the_invite_line_still_comes(lab, mailbox, spawn):
    mailbox.stop()
    try:
        alice = spawn("alice", *strict(lab, mailbox), netns=lab.homes[1])
        alice.port()
        alice.type("/invite")
        alice.wait_line(rf"^\* no code: the rendezvous server {mailbox.url} cannot be reached", 10)
        alice.wait_line(r"^p2pchat1[a-z2-7]+$", 5)
        bob = spawn("bob", *strict(lab, mailbox), netns=lab.homes[2])
        bob.port()
        bob.type("/connect 7-crossover-clockwork")
        bob.wait_line(rf"^\* cannot connect to 7-crossover-clockwork: the rendezvous server {mailbox.url} "
                      "cannot be reached", 10)
    finally:
        mailbox.start()
