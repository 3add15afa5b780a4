"""Someone on the relay's path who knows both public fingerprints, or an invite's relay token,
cannot keep two friends apart nor get in: a real transit relay on loopback, a squatter that
speaks TLS with its own key, and real sessions."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from helpers import free_port, start_session
from test_relay import relay_only
from transit_relay import TransitRelay, twist_command

from p2pchat.identity import Identity, KnownPeers
from p2pchat.net.relay import RelayError, open_relay, tls_over_relay
from p2pchat.net.tls import client_context, server_context
from p2pchat.protocol import Bye, Hello
from p2pchat.protocol.invite import parse_invite, relay_token
from p2pchat.protocol.transit import RelayAddress, derived_token, new_side, tls_client_over_relay
from p2pchat.session.events import Connected, Notice

pytestmark = [
    pytest.mark.skipif(twist_command() is None, reason="magic-wormhole-transit-relay not installed"),
    pytest.mark.timeout(90),
]


@pytest.fixture
def relay():
    server = TransitRelay("127.0.0.1", free_port()).start()
    yield server
    server.stop()


class Squatter:
    """Keeps a connection waiting on the relay under `token`, with TLS and a key of its own,
    for as long as it runs; counts the glues it gets."""

    SIDE = new_side()  # one side for all of them: the relay never glues a squatter to itself

    def __init__(self, relay: TransitRelay, token: str, identity: Identity, tls_client: bool) -> None:
        self.relay = RelayAddress(relay.host, relay.port)
        self.token, self.identity, self.tls_client = token, identity, tls_client
        self.glued = 0
        self._task: asyncio.Task | None = None

    async def _hold(self) -> None:
        while True:
            try:
                sock = await open_relay(self.relay, self.token, self.SIDE, timeout=5, wait=None)
            except RelayError:
                await asyncio.sleep(0.1)
                continue
            self.glued += 1
            context = client_context(self.identity) if self.tls_client else server_context(self.identity)
            with contextlib.suppress(RelayError):
                conn = await tls_over_relay(sock, context, self.relay, tls_client=self.tls_client,
                                            dialed=False, timeout=5)
                conn.abort()

    def start(self) -> Squatter:
        self._task = asyncio.ensure_future(self._hold())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def meet_once(tmp_path) -> tuple[str, str]:
    """Alice and Bob chat once directly: each keeps the other's key. Their fingerprints."""
    async with start_session(tmp_path, "alice") as a, start_session(tmp_path, "bob") as b:
        await b.session.connect(a.address)
        await a.events.wait_for(Connected)
        await b.events.wait_for(Connected)
        return a.session.own_fingerprint, b.session.own_fingerprint


def dead_address(fingerprint: str) -> str:
    return f"p2pchat://127.0.0.1:{free_port()}/{fingerprint}"


async def test_a_squatter_on_the_public_token_never_meets_a_pair_that_knows_its_keys(tmp_path, relay):
    alice_id, bob_id = await meet_once(tmp_path)
    for name, peer in (("alice", bob_id), ("bob", alice_id)):
        assert KnownPeers.load(tmp_path / name / "data" / "known_peers.toml").get(peer).key
    eve = Identity.load_or_create(tmp_path / "eve")
    squatters = [Squatter(relay, derived_token(alice_id, bob_id), eve, role).start() for role in (True, False)]
    try:
        async with start_session(tmp_path, "alice", relay=relay.setting) as a, \
                start_session(tmp_path, "bob", relay=relay.setting) as b:
            await b.session.connect(dead_address(alice_id))  # her old address is gone: the relay is the way
            await b.events.wait_for(Connected, timeout=45)
            await a.events.wait_for(Connected, timeout=10)
            assert b.session.peer.route.startswith("via relay")
            assert not b.events.find(Notice, lambda e: "IDENTITY MISMATCH" in e.text)
    finally:
        for squatter in squatters:
            await squatter.stop()
    assert [s.glued for s in squatters] == [0, 0]


async def test_before_the_keys_are_known_a_squatter_costs_a_few_warnings_and_the_pair_meets_after(tmp_path, relay):
    alice_id, bob_id = await meet_once(tmp_path)
    for name in ("alice", "bob"):  # as peers that met before keys were kept: only the public token
        path = tmp_path / name / "data" / "known_peers.toml"
        path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("key")))
    eve = Identity.load_or_create(tmp_path / "eve")
    token = derived_token(alice_id, bob_id)
    squatters = [Squatter(relay, token, eve, role).start() for role in (True, False)]
    async with start_session(tmp_path, "alice", relay=relay.setting) as a, \
            start_session(tmp_path, "bob", relay=relay.setting) as b:
        await b.session.connect(dead_address(alice_id))
        await asyncio.sleep(8)  # the squatter holds the channel for 8 s, then leaves
        for squatter in squatters:
            await squatter.stop()
        assert sum(s.glued for s in squatters) > 0  # it did get in the way
        await b.events.wait_for(Connected, timeout=37)
        await a.events.wait_for(Connected, timeout=10)
        warnings = [e.text for e in (*a.events.of(Notice), *b.events.of(Notice)) if "IDENTITY MISMATCH" in e.text]
        assert len(warnings) <= 10, warnings  # merged, not one per glue
    for name, peer in (("alice", bob_id), ("bob", alice_id)):  # and from now on the secret token
        assert KnownPeers.load(tmp_path / name / "data" / "known_peers.toml").get(peer).key


async def test_a_stranger_with_an_invites_relay_token_but_not_its_secret_is_refused(tmp_path, relay):
    async with start_session(tmp_path, "alice", relay=relay.setting, accept_unknown="always") as a:
        line, _ = a.session.create_invite()
        invite = parse_invite(line)
        eve = Identity.load_or_create(tmp_path / "eve")
        sock = await open_relay(RelayAddress(relay.host, relay.port), relay_token(invite.secret), new_side(),
                                timeout=5, wait=10)
        tls_client = tls_client_over_relay(eve.fingerprint, invite.fingerprint, invited=True)
        conn = await tls_over_relay(sock, client_context(eve), RelayAddress(relay.host, relay.port),
                                    tls_client=tls_client, dialed=True, timeout=5)
        conn.send_magic()
        conn.send(Hello(1, "eve", eve.fingerprint, [], None))  # the token, not the secret
        answers = []
        with contextlib.suppress(Exception):
            while True:
                answers.append(await asyncio.wait_for(conn.recv(), 5))
        conn.abort()
        assert any(isinstance(f, Bye) for f in answers)
        refusal = await a.events.wait_for(Notice, lambda e: "without the invite's secret" in e.text)
        assert "'eve'" in refusal.text
        assert not a.session.connected and a.events.find(Connected) is None
        assert a.session.invites.pending() == [invite.secret]  # still waiting for the invitee
        known = KnownPeers.load(tmp_path / "alice" / "data" / "known_peers.toml")
        assert known.get(eve.fingerprint) is None  # remembered nowhere
        async with start_session(tmp_path, "bob") as b:  # the real invitee still gets in
            await b.session.connect(relay_only(line))
            await a.events.wait_for(Connected, timeout=20)
            assert a.session.peer.fingerprint == b.session.own_fingerprint
