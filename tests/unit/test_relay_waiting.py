"""Which tokens the relay waiter holds a connection for: used invites only between chats, and
only the most recent few."""

from __future__ import annotations

from types import SimpleNamespace

from p2pchat.protocol.invite import relay_token
from p2pchat.protocol.transit import RelayAddress
from p2pchat.reach.invites import Invites
from p2pchat.reach.relay_wait import USED_WATCHED, RelayWaiter

RELAY = RelayAddress("127.0.0.1", 4001)


def waiter(invites: Invites, chatting: list[bool]) -> RelayWaiter:
    credentials = SimpleNamespace(tls=True, own_id="A" * 52, known=None, invites=invites)
    return RelayWaiter(credentials, [RELAY], "side", peer=lambda: None, chatting=lambda: chatting[0],
                       handshake=None, spawn=None, notice=None, timeout=5)


def test_used_invites_are_waited_for_between_chats_and_only_the_most_recent(tmp_path):
    invites = Invites(tmp_path / "invites.json")
    secrets = [invites.create("A" * 52, [("192.0.2.1", 8080)], [RELAY]).secret for _ in range(USED_WATCHED + 2)]
    for secret in secrets[:-1]:
        assert invites.redeem(secret, by="B" * 52)
    chatting = [False]
    tokens = {token for _, token in waiter(invites, chatting).wanted()}
    expected = [secrets[-1], *secrets[-1 - USED_WATCHED:-1]]  # the pending one, the newest used
    assert tokens == {relay_token(secret) for secret in expected}

    chatting[0] = True  # a chat is up: nothing held for used invites, the pending one stays
    assert {token for _, token in waiter(invites, chatting).wanted()} == {relay_token(secrets[-1])}
