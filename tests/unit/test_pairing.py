"""The pair secret and the relay token of two known peers: the same from both sides, nobody
else's to compute, and a known answer from PROTOCOL.md's definition."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from p2pchat.identity import Identity, KnownPeers
from p2pchat.identity.fingerprints import IdentityError, fingerprint_of_public_key
from p2pchat.identity.pairing import PairingError, pair_secret, raw_public_key
from p2pchat.protocol.transit import derived_token, pair_token

SEED_A, SEED_B = bytes(range(32)), bytes(range(32, 64))


def keys(seed: bytes) -> tuple[ed25519.Ed25519PrivateKey, bytes, str]:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    return key, raw_public_key(key.public_key()), fingerprint_of_public_key(key.public_key())


def test_both_sides_compute_the_same_secret_and_a_third_key_another():
    a, a_pub, _ = keys(SEED_A)
    b, b_pub, _ = keys(SEED_B)
    eve, _, _ = keys(bytes(32))
    assert pair_secret(a, b_pub) == pair_secret(b, a_pub)
    assert pair_secret(eve, b_pub) != pair_secret(a, b_pub)
    assert pair_secret(eve, a_pub) != pair_secret(a, b_pub)


def test_the_conversion_is_libsodiums():
    nacl = pytest.importorskip("nacl.bindings")
    a, a_pub, _ = keys(SEED_A)
    _, b_pub, _ = keys(SEED_B)
    ours = pair_secret(a, b_pub)
    theirs = nacl.crypto_scalarmult(
        nacl.crypto_sign_ed25519_sk_to_curve25519(SEED_A + a_pub), nacl.crypto_sign_ed25519_pk_to_curve25519(b_pub))
    assert ours == theirs


@pytest.mark.parametrize("bad", [b"", bytes(31), (1).to_bytes(32, "little"), bytes(32)])
def test_keys_that_give_no_secret_are_refused(bad):
    a, _, _ = keys(SEED_A)
    with pytest.raises(PairingError):
        pair_secret(a, bad)


def test_pair_token_known_answer():
    _, _, fa = keys(SEED_A)
    _, _, fb = keys(SEED_B)
    secret = bytes(range(100, 132))
    low, high = sorted((fa, fb))
    expected = hashlib.sha256(
        b"p2pchat pair relay token v1\n" + secret + b"\n" + low.encode() + b"\n" + high.encode() + b"\n").hexdigest()
    assert pair_token(secret, fa, fb) == pair_token(secret, fb, fa) == expected
    assert pair_token(secret, fa, fb) != derived_token(fa, fb)



def test_identity_pair_secret_uses_its_key(tmp_path):
    alice, bob = Identity.load_or_create(tmp_path / "a"), Identity.load_or_create(tmp_path / "b")
    a_pub = raw_public_key(_load(alice).public_key())
    b_pub = raw_public_key(_load(bob).public_key())
    assert alice.pair_secret(b_pub) == bob.pair_secret(a_pub)


def _load(identity: Identity) -> ed25519.Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(identity.key_path.read_bytes(), password=None)


def test_a_known_peer_keeps_its_key_and_refuses_anothers(tmp_path):
    _, a_pub, fa = keys(SEED_A)
    _, b_pub, _ = keys(SEED_B)
    known = KnownPeers.load(tmp_path / "known.toml")
    known.remember(fa, "alice", "192.0.2.1:8080")
    assert known.get(fa).key == b""
    known.remember(fa, "alice", "192.0.2.1:8080", key=a_pub)
    assert KnownPeers.load(tmp_path / "known.toml").get(fa).key == a_pub
    with pytest.raises(IdentityError):
        known.remember(fa, "alice", "192.0.2.1:8080", key=b_pub)
    text = (tmp_path / "known.toml").read_text()
    (tmp_path / "known.toml").write_text(text.replace(base64.b64encode(a_pub).decode(), base64.b64encode(b_pub).decode()))
    with pytest.raises(IdentityError, match="not this fingerprint's"):
        KnownPeers.load(tmp_path / "known.toml")
