"""Private by default, end to end: real sessions, real TLS, an eavesdropper and an attacker.

Alice listens, Bob dials. Between them sits either a recording proxy (sees every byte on
the wire) or an intercepting proxy with an identity of its own (a man in the middle who
can decrypt and re-encrypt, because the CA's key is public).
"""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from proxies import InterceptingProxy, RecordingProxy

from p2pchat import cli
from p2pchat.identity import (
    Identity,
    KnownPeers,
    group_fingerprint,
    share_address,
    short_code,
    short_fingerprint,
)
from p2pchat.net.tls import ca_certificate_pem
from p2pchat.session import StartError
from p2pchat.session.events import (
    Connected,
    Dialing,
    IdentityPrompt,
    IdentityPromptExpired,
    MessageReceived,
    Notice,
)
from tests.support.session import Peer, make_session, start_session, two_sessions, wait_until

MARKER = "the eagle lands at midnight 7f3a"
SETTLE = 0.5  # seconds for a connection that should not happen to show up
RETRY_WATCH = 2.0  # past the first two retry delays (0.5 s, then 1 s)


def notices(peer: Peer, level: str | None = None) -> list[str]:
    return [e.text for e in peer.events.of(Notice) if level is None or e.level == level]


def fingerprint(peer: Peer) -> str:
    return peer.session.own_fingerprint


async def assert_never_connects(*peers: Peer, refused_dialer: Peer | None = None) -> None:
    """No one connects. A refused dialer must have given up for good: its dial loop is over
    (a failed attempt that will be retried says so at once, with a Dialing event that carries
    `retry_in`), and no second attempt comes within two backoff steps."""
    if refused_dialer is not None:
        await wait_until(lambda: refused_dialer.session.state == "listening")
        dialing = refused_dialer.events.of(Dialing)
        assert [e for e in dialing if e.retry_in is not None] == [], "a retry was scheduled"
    await asyncio.sleep(RETRY_WATCH if refused_dialer is not None else SETTLE)
    for peer in peers:
        assert not peer.session.connected
        assert not peer.events.of(Connected), peer.events.events
    if refused_dialer is not None:
        assert len(refused_dialer.events.of(Dialing)) == 1, "the refused dialer tried again"


# -- a passive eavesdropper ---------------------------------------------------------------


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "no-tls"])
async def test_eavesdropper_sees_no_message_bytes_with_tls(tmp_path, tls):
    async with (
        start_session(tmp_path, "alice", tls=tls) as alice,
        start_session(tmp_path, "bob", tls=tls) as bob,
        RecordingProxy(alice.session.listening_port) as wire,
    ):
        await bob.session.connect(wire.address)
        await alice.events.wait_for(Connected)
        bob.session.send_text(MARKER)
        alice.session.send_text(MARKER.upper())
        await alice.events.wait_for(MessageReceived, lambda e: e.message.body == MARKER)
        await bob.events.wait_for(MessageReceived, lambda e: e.message.body == MARKER.upper())
        assert await bob.session.wait_delivered(5) and await alice.session.wait_delivered(5)
        seen = wire.seen
    assert len(seen) > 500  # the proxy really carried the chat
    visible = [
        text for text in (MARKER, MARKER.upper(), "alice", fingerprint(bob))
        if text.encode() in seen
    ]  # fmt: skip
    if tls:
        assert visible == [], f"readable on the wire: {visible}"
        assert seen[:2] == b"\x16\x03"  # a TLS record from the first byte on
    else:
        assert MARKER.encode() in seen and MARKER.upper().encode() in seen


# -- an active attacker with its own key -----------------------------------------------------


async def test_attacker_is_refused_when_the_address_names_the_fingerprint(tmp_path):
    attacker = Identity.load_or_create(tmp_path / "attacker")
    async with (
        start_session(tmp_path, "alice") as alice,
        start_session(tmp_path, "bob") as bob,
        InterceptingProxy(alice.session.listening_port, attacker) as mitm,
    ):
        expected = fingerprint(alice)
        await bob.session.connect(share_address("127.0.0.1", mitm.port, expected))
        refusal = await bob.events.wait_for(Notice, lambda e: "MISMATCH" in e.text)
        await assert_never_connects(alice, bob, refused_dialer=bob)
        assert refusal.level == "error"
        assert group_fingerprint(expected) in refusal.text
        assert group_fingerprint(attacker.fingerprint) in refusal.text
        assert mitm.connections == 1, "the dialer tried again after a mismatch"
        assert len(bob.events.of(Dialing)) == 1
        assert bob.session.state == "listening"
        assert bytes(mitm.from_dialer) == b"", "bob spoke to the attacker before checking it"


async def connect_once_directly(tmp_path) -> str:
    """Alice and Bob meet (so each knows the other's key); Bob leaves. Alice's fingerprint."""
    async with two_sessions(tmp_path) as (alice, bob):
        return fingerprint(alice)


async def test_relaying_attacker_against_a_known_peer_is_refused(tmp_path):
    """Relaying HELLO unchanged: the announced id differs from the key TLS proved."""
    alice_fp = await connect_once_directly(tmp_path)
    attacker = Identity.load_or_create(tmp_path / "attacker")
    async with (
        start_session(tmp_path, "alice") as alice,
        start_session(tmp_path, "bob") as bob,
        InterceptingProxy(alice.session.listening_port, attacker) as mitm,
    ):
        assert fingerprint(alice) == alice_fp
        await bob.session.connect(mitm.address)
        refusal = await bob.events.wait_for(Notice, lambda e: "MISMATCH" in e.text)
        await assert_never_connects(alice, bob, refused_dialer=bob)
        assert refusal.level == "error"
        assert group_fingerprint(attacker.fingerprint) in refusal.text
        assert mitm.connections == 1, "the dialer tried again after a mismatch"
        # Alice sees the same lie from her side: Bob's HELLO over the attacker's key.
        flagged = await alice.events.wait_for(Notice, lambda e: "MISMATCH" in e.text)
        assert flagged.level == "error"


@pytest.mark.parametrize("interactive", [False, True], ids=["non-interactive", "interactive"])
async def test_attacker_posing_as_a_known_peer_is_refused(tmp_path, interactive):
    """Rewriting HELLO to its own key: only the fingerprint on record can tell."""
    alice_fp = await connect_once_directly(tmp_path)
    bob_fp = KnownPeers.load(tmp_path / "alice/data/known_peers.toml").all()[0].fingerprint
    attacker = Identity.load_or_create(tmp_path / "attacker")
    async with (
        start_session(tmp_path, "alice") as alice,
        start_session(tmp_path, "bob") as bob,
        InterceptingProxy(
            alice.session.listening_port, attacker, rewrite_ids=(alice_fp, bob_fp)
        ) as mitm,
    ):
        bob.session.interactive = interactive
        await bob.session.connect(mitm.address)
        if interactive:
            prompt = await bob.events.wait_for(IdentityPrompt)
            assert prompt.kind == "changed"
            assert prompt.expected_fingerprint == alice_fp
            assert prompt.peer.fingerprint == attacker.fingerprint
            assert prompt.peer.nickname == "alice"
            bob.session.answer_identity(False)
        warning = await bob.events.wait_for(Notice, lambda e: "HAS CHANGED" in e.text)
        await assert_never_connects(alice, bob, refused_dialer=bob)
        assert warning.level == "error"
        assert group_fingerprint(alice_fp) in warning.text
        assert group_fingerprint(attacker.fingerprint) in warning.text
        assert f"p2pchat peers forget {short_fingerprint(alice_fp)}" in warning.text
        assert mitm.connections == 1, "the dialer tried again after refusing a changed key"
        # The record of the real Alice is untouched: she is still who Bob trusts.
        known = KnownPeers.load(tmp_path / "bob/data/known_peers.toml")
        assert known.get(alice_fp) is not None and known.get(attacker.fingerprint) is None


async def test_new_key_is_accepted_only_after_peers_forget(tmp_path, monkeypatch, capsys):
    """The honest case of a changed key: Alice made a new identity. Bob's running session
    refuses her until he deliberately forgets the old key from another terminal."""
    old_fp = await connect_once_directly(tmp_path)
    shutil.rmtree(tmp_path / "alice/data/identity")
    async with start_session(tmp_path, "alice") as alice, start_session(tmp_path, "bob") as bob:
        assert fingerprint(alice) != old_fp
        await bob.session.connect(alice.address)
        warning = await bob.events.wait_for(Notice, lambda e: "HAS CHANGED" in e.text)
        await assert_never_connects(bob, refused_dialer=bob)
        hint = warning.text.split("`")[1]
        assert hint == f"p2pchat peers forget {short_fingerprint(old_fp)}"
        monkeypatch.setenv("P2PCHAT_HOME", str(tmp_path / "bob"))  # the layout Bob's session uses
        assert cli.main(hint.split()[1:]) == 0
        assert "forgot alice" in capsys.readouterr().out
        await bob.session.connect(alice.address)
        connected = await bob.events.wait_for(Connected)
        assert connected.peer.fingerprint == fingerprint(alice)
    known = KnownPeers.load(tmp_path / "bob/data/known_peers.toml")
    assert known.get(old_fp) is None and known.get(fingerprint(alice)) is not None


# -- strangers: accept_unknown ---------------------------------------------------------------


async def test_unknown_peer_refused_with_never(tmp_path):
    async with (
        start_session(tmp_path, "alice", accept_unknown="never") as alice,
        start_session(tmp_path, "bob") as bob,
    ):
        await bob.session.connect(alice.address)
        refusal = await alice.events.wait_for(Notice, lambda e: "unknown identity" in e.text)
        assert "accept_unknown = never" in refusal.text
        assert group_fingerprint(fingerprint(bob)) in refusal.text
        told = await bob.events.wait_for(Notice, lambda e: "refused to talk" in e.text)
        assert told.level == "error"
        await assert_never_connects(alice, bob, refused_dialer=bob)  # refused on purpose
        assert KnownPeers.load(tmp_path / "alice/data/known_peers.toml").get(fingerprint(bob)) is None


async def test_unknown_peer_accepted_with_always(tmp_path):
    async with (
        start_session(tmp_path, "alice", accept_unknown="always") as alice,
        start_session(tmp_path, "bob") as bob,
    ):
        await bob.session.connect(alice.address)
        connected = await alice.events.wait_for(Connected)
        assert connected.peer.fingerprint == fingerprint(bob)
        assert connected.peer.encrypted and not connected.peer.known
        assert any("new identity" in text for text in notices(alice))


@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "refused"])
async def test_unknown_peer_with_ask_prompts_the_user(tmp_path, accept):
    async with (
        start_session(tmp_path, "alice", accept_unknown="ask") as alice,
        start_session(tmp_path, "bob") as bob,
    ):
        alice.session.interactive = True
        await bob.session.connect(alice.address)
        prompt = await alice.events.wait_for(IdentityPrompt)
        assert prompt.kind == "unknown"
        assert prompt.peer.fingerprint == fingerprint(bob)
        assert prompt.peer.nickname == "bob" and prompt.peer.encrypted
        assert not alice.session.connected  # nothing happens before the answer
        alice.session.answer_identity(accept)
        if accept:
            await alice.events.wait_for(Connected)
            await bob.events.wait_for(Connected)
        else:
            refused = await alice.events.wait_for(Notice, lambda e: "unknown identity" in e.text)
            assert refused.text.endswith("(you denied it)") and "accept_unknown" not in refused.text
            await assert_never_connects(alice, bob)


async def test_a_refusal_closes_the_question_the_dialer_was_asked(tmp_path):
    async with (
        start_session(tmp_path, "alice", accept_unknown="ask") as alice,
        start_session(tmp_path, "bob", accept_unknown="ask") as bob,
    ):
        alice.session.interactive = bob.session.interactive = True
        await bob.session.connect(alice.address)
        await alice.events.wait_for(IdentityPrompt)
        await bob.events.wait_for(IdentityPrompt)
        alice.session.answer_identity(False)  # bob has not answered his own question
        closed = await bob.events.wait_for(IdentityPromptExpired)
        assert closed.withdrawn and closed.peer.nickname == "alice"
        await wait_until(lambda: bob.session.state == "listening")
        assert [t for t in notices(bob) if "refused" in t] == [f"{alice.address} refused to talk to this identity"]
        assert len([t for t in notices(alice) if "refused" in t]) == 1
        await assert_never_connects(alice, bob)


# -- the identity on disk ----------------------------------------------------------------------


async def test_identity_survives_a_restart(tmp_path):
    async with start_session(tmp_path, "alice") as first:
        before = fingerprint(first)
    async with start_session(tmp_path, "alice") as second:
        assert fingerprint(second) == before
    identity_dir = second.session.paths.identity_dir
    assert Identity.load_or_create(identity_dir).fingerprint == before
    assert (identity_dir / "key.pem").stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
async def test_key_readable_by_others_stops_the_start(tmp_path):
    async with start_session(tmp_path, "alice") as first:
        key = first.session.paths.identity_dir / "key.pem"
    key.chmod(0o644)
    second = make_session(tmp_path, "alice")
    with pytest.raises(StartError, match="chmod 600") as caught:
        await second.session.start()
    assert str(key) in str(caught.value)


# -- TLS on one side only ------------------------------------------------------------------------


async def test_plain_dialer_to_tls_listener(tmp_path):
    async with (
        start_session(tmp_path, "alice", tls=True) as alice,
        start_session(tmp_path, "bob", tls=False) as bob,
    ):
        await bob.session.connect(alice.address)
        told = await bob.events.wait_for(Notice, lambda e: "uses TLS" in e.text)
        assert told.level == "error" and "remove --no-tls" in told.text
        warned = await alice.events.wait_for(Notice, lambda e: "without TLS" in e.text)
        assert warned.level == "warning" and "--no-tls" in warned.text
        await assert_never_connects(alice, bob, refused_dialer=bob)  # a setting to change


async def test_plain_dialer_to_a_dual_stack_tls_listener_is_told_once_on_each_side(tmp_path):
    async with (
        start_session(tmp_path, "alice", tls=True, bind="::") as alice,
        start_session(tmp_path, "bob", tls=False) as bob,
    ):
        await bob.session.connect(alice.address)
        await bob.events.wait_for(Notice, lambda e: "uses TLS" in e.text)
        await assert_never_connects(alice, bob, refused_dialer=bob)
        assert [e.reason for e in bob.events.of(Dialing) if e.reason] == []  # no "connection lost"
        warned = [e.text for e in alice.events.of(Notice) if "without TLS" in e.text]
        assert len(warned) == 1 and warned[0].startswith("127.0.0.1:"), warned  # not ::ffff:127.0.0.1


async def test_tls_dialer_to_plain_listener(tmp_path):
    async with (
        start_session(tmp_path, "alice", tls=False) as alice,
        start_session(tmp_path, "bob", tls=True) as bob,
    ):
        await bob.session.connect(alice.address)
        told = await bob.events.wait_for(Notice, lambda e: "without TLS" in e.text)
        assert told.level == "error" and "--no-tls" in told.text and "stopped dialing" in told.text
        warned = await alice.events.wait_for(Notice, lambda e: "with TLS" in e.text)
        assert warned.level == "warning" and "--no-tls" in warned.text
        await assert_never_connects(alice, bob, refused_dialer=bob)  # a setting does not heal itself
        assert [e.text for e in bob.events.of(Notice) if "without TLS" in e.text] == [told.text]  # once
        assert len([e for e in alice.events.of(Notice) if "with TLS" in e.text]) == 1


# -- /info and /verify -----------------------------------------------------------------------


async def test_info_shows_tls13_both_fingerprints_and_the_same_short_code(tmp_path):
    async with two_sessions(tmp_path) as (alice, bob):
        a_info, b_info = alice.session.info(), bob.session.info()
        for info in (a_info, b_info):
            assert info["encryption"].startswith("TLSv1.3, TLS_"), info
        assert a_info["your fingerprint"] == b_info["peer fingerprint"] == group_fingerprint(fingerprint(alice))
        assert b_info["your fingerprint"] == a_info["peer fingerprint"] == group_fingerprint(fingerprint(bob))
        assert a_info["short code"] == b_info["short code"] == alice.session.short_code
        assert a_info["short code"] == short_code(fingerprint(alice), fingerprint(bob))
        assert len(a_info["short code"].split()) == 4
        assert a_info["verified"].startswith("no")


async def test_verify_marks_the_peer_verified(tmp_path):
    async with two_sessions(tmp_path) as (alice, bob):
        assert not alice.session.peer.verified
        alice.session.verify_peer()
        assert alice.session.peer.verified
        assert alice.session.info()["verified"] == "yes"
        record = KnownPeers.load(alice.session.paths.known_peers_file).get(fingerprint(bob))
        assert record is not None and record.verified
        assert not bob.session.peer.verified  # only the side that compared
    # A later session with the same peer starts out verified.
    async with two_sessions(tmp_path) as (alice, bob):
        assert alice.session.peer.verified and alice.session.peer.known


async def test_verify_without_tls_changes_nothing(tmp_path):
    async with two_sessions(tmp_path, tls=False) as (alice, bob):
        alice.session.verify_peer()
        assert not alice.session.peer.verified
        assert alice.session.info()["encryption"].startswith("UNENCRYPTED")
        assert any("nothing to verify" in text for text in notices(alice, "warning"))


# -- an outside TLS client ---------------------------------------------------------------------


async def test_openssl_client_negotiates_tls13_with_a_running_session(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    client = Identity.load_or_create(tmp_path / "openssl-client")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(ca_certificate_pem())
    async with start_session(tmp_path, "alice") as alice:
        process = await asyncio.create_subprocess_exec(
            "openssl", "s_client", "-connect", alice.address, "-CAfile", str(ca_file),
            "-cert", str(client.cert_path), "-key", str(client.key_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 20)
    text = output.decode(errors="replace")
    assert "TLSv1.3" in text and "Cipher is TLS_" in text, text
    assert "Verify return code: 0 (ok)" in text, text
