"""Identities on disk, fingerprints, short codes and the known-peers (TOFU) file."""

from __future__ import annotations

import datetime as dt
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from p2pchat.identity import (
    FINGERPRINT_LENGTH,
    SHORT_CODE_WORDS,
    Identity,
    IdentityError,
    KnownPeers,
    fingerprint_of_cert_der,
    group_fingerprint,
    is_fingerprint,
    normalise_fingerprint,
    share_address,
    short_code,
    short_fingerprint,
)
from p2pchat.net.address import parse_address
from p2pchat.paths import get_paths

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
FP_A = "A" * 52
FP_B = "B" * 52
FP_C = "C" * 52


def test_identity_persists_across_loads(tmp_path):
    first = Identity.load_or_create(tmp_path / "id")
    second = Identity.load_or_create(tmp_path / "id")
    assert second.fingerprint == first.fingerprint
    assert is_fingerprint(first.fingerprint) and len(first.fingerprint) == FINGERPRINT_LENGTH
    assert first.key_path == tmp_path / "id" / "key.pem"
    assert first.cert_path == tmp_path / "id" / "cert.pem"
    other = Identity.load_or_create(tmp_path / "other")
    assert other.fingerprint != first.fingerprint


def test_identities_created_at_once_agree(tmp_path):
    with ThreadPoolExecutor(4) as pool:
        identities = list(pool.map(Identity.load_or_create, [tmp_path / "id"] * 8))
    assert len({identity.fingerprint for identity in identities}) == 1
    assert Identity.load_or_create(tmp_path / "id") == identities[0]


def test_default_identity_dir_is_under_test_home(p2pchat_home):
    identity = Identity.load_or_create(get_paths().identity_dir)
    assert str(identity.key_path).startswith(str(p2pchat_home))


def test_certificate_carries_the_key_and_the_ca_signature(tmp_path):
    identity = Identity.load_or_create(tmp_path)
    cert = x509.load_pem_x509_certificate(identity.cert_path.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert fingerprint_of_cert_der(der) == identity.fingerprint
    ca_pem = resources.files("p2pchat").joinpath("net", "ca", "ca.pem").read_bytes()
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert.verify_directly_issued_by(ca)
    assert cert.not_valid_after_utc.year == 2099


def test_lost_or_foreign_certificate_is_reissued_for_the_same_key(tmp_path):
    identity = Identity.load_or_create(tmp_path)
    identity.cert_path.unlink()
    assert Identity.load_or_create(tmp_path).fingerprint == identity.fingerprint
    assert identity.cert_path.exists()
    # A certificate for some other key must not be kept next to ours.
    foreign = Identity.load_or_create(tmp_path / "foreign")
    identity.cert_path.write_bytes(foreign.cert_path.read_bytes())
    Identity.load_or_create(tmp_path)
    der = x509.load_pem_x509_certificate(identity.cert_path.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    assert fingerprint_of_cert_der(der) == identity.fingerprint


@posix_only
def test_key_is_written_0600(tmp_path):
    identity = Identity.load_or_create(tmp_path / "id")
    assert stat.S_IMODE(identity.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "id").stat().st_mode) == 0o700
    assert not [p for p in (tmp_path / "id").iterdir() if p.name.endswith(".tmp")]


@posix_only
def test_key_readable_by_others_is_refused_with_the_fix(tmp_path):
    identity = Identity.load_or_create(tmp_path)
    identity.key_path.chmod(0o644)
    with pytest.raises(IdentityError) as caught:
        Identity.load_or_create(tmp_path)
    assert f"chmod 600 {identity.key_path}" in str(caught.value)
    identity.key_path.chmod(0o600)
    assert Identity.load_or_create(tmp_path).fingerprint == identity.fingerprint


def test_garbage_key_gives_a_clear_error(tmp_path):
    identity = Identity.load_or_create(tmp_path)
    identity.key_path.write_bytes(b"not a key")
    with pytest.raises(IdentityError, match="not a usable private key"):
        Identity.load_or_create(tmp_path)


def test_fingerprint_formatting():
    fp = "K7Q2M3XD" + "A" * 44
    grouped = group_fingerprint(fp)
    assert grouped.startswith("K7Q2-M3XD-AAAA")
    assert len(grouped) == 52 + 12
    assert normalise_fingerprint(grouped.lower().replace("-", " - ")) == fp
    assert short_fingerprint(fp) == "K7Q2-M3XD"
    assert is_fingerprint(fp)
    assert not is_fingerprint(fp[:-1])
    assert not is_fingerprint(fp[:-1] + "1")  # 1 is not in the base32 alphabet


def test_short_code_is_symmetric_and_differs_between_pairs():
    assert len(SHORT_CODE_WORDS) == 256 == len(set(SHORT_CODE_WORDS))
    code = short_code(FP_A, FP_B)
    assert code == short_code(FP_B, FP_A)
    assert code == short_code(group_fingerprint(FP_B).lower(), FP_A)
    assert len(code.split()) == 4
    assert all(word in SHORT_CODE_WORDS for word in code.split())
    assert short_code(FP_A, FP_C) != code
    assert short_code(FP_B, FP_C) != code


@pytest.mark.parametrize("host", ["192.168.1.20", "example.org", "::1", "fe80::1"])
def test_share_address_is_parsed_back(host):
    fp = "K7Q2M3XD" + "B" * 44
    text = share_address(host, 8080, fp)
    assert text.startswith("p2pchat://")
    parsed = parse_address(text)
    assert (parsed.host, parsed.port, parsed.fingerprint) == (host, 8080, fp)


# --- known peers --------------------------------------------------------------------------


def test_known_peers_round_trip(tmp_path):
    path = tmp_path / "data" / "known_peers.toml"
    peers = KnownPeers.load(path)
    assert len(peers) == 0 and not path.exists()
    t0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    peers.remember(group_fingerprint(FP_A).lower(), "alice", "10.0.0.5:8080", now=t0)
    t1 = t0 + dt.timedelta(hours=1)
    peers.remember(FP_A, "alice2", "10.0.0.6:9000", now=t1)
    peers.mark_verified(FP_A)

    again = KnownPeers.load(path)
    record = again.get(FP_A)
    assert record is not None
    assert (record.nickname, record.address, record.verified) == ("alice2", "10.0.0.6:9000", True)
    assert (record.first_seen, record.last_seen) == (t0, t1)
    assert again.get(FP_B) is None
    assert [p.fingerprint for p in again.find_by_nickname("ALICE2")] == [FP_A]
    assert [p.fingerprint for p in again.find_by_address("10.0.0.6:9000")] == [FP_A]
    assert again.find_by_address("10.0.0.5:8080") == []
    assert "trust on first use" in path.read_text()

    assert again.forget(FP_A) is True
    assert again.forget(FP_A) is False
    assert KnownPeers.load(path).get(FP_A) is None


def test_comments_and_other_writers_survive(tmp_path):
    path = tmp_path / "known_peers.toml"
    first = KnownPeers.load(path)
    second = KnownPeers.load(path)  # another process with the file open
    first.remember(FP_A, "alice", "10.0.0.5:8080")
    path.write_text("# my note\n" + path.read_text())
    second.remember(FP_B, "bob", "10.0.0.7:8080")
    final = KnownPeers.load(path)
    assert final.get(FP_A) and final.get(FP_B)
    assert "# my note" in path.read_text()


def test_check_verdicts(tmp_path):
    peers = KnownPeers.load(tmp_path / "known_peers.toml")
    assert peers.check(FP_A, "alice", "10.0.0.5:8080").status == "new"
    peers.remember(FP_A, "alice", "10.0.0.5:8080")

    known = peers.check(FP_A, "someone else", "10.9.9.9:1")
    assert known.status == "known" and known.old_fingerprint == "" and not known.verified

    by_name = peers.check(FP_B, "Alice", "10.0.0.99:8080")
    assert by_name.status == "changed"
    assert by_name.old_fingerprint == FP_A and by_name.matched_by == "nickname"

    by_address = peers.check(FP_B, "mallory", "10.0.0.5:8080")
    assert by_address.status == "changed"
    assert by_address.old_fingerprint == FP_A and by_address.matched_by == "address"

    assert peers.check(FP_B, "bob", "10.0.0.7:8080").status == "new"
    assert peers.check(FP_B, "bob", "10.0.0.5:4444").status == "new"  # another port, another peer
    peers.mark_verified(FP_A)
    assert peers.check(FP_A, "alice", "").verified


def test_invalid_fingerprints_are_refused(tmp_path):
    peers = KnownPeers.load(tmp_path / "known_peers.toml")
    with pytest.raises(IdentityError, match="not a full fingerprint"):
        peers.remember("K7Q2-M3XD", "alice", "10.0.0.5:8080")
    with pytest.raises(IdentityError, match="not a known peer"):
        peers.mark_verified(FP_C)


@pytest.mark.parametrize(
    "content, message",
    [
        ("[peers\nbroken", "not valid TOML"),
        ("peers = 3\n", "'peers' must be a table"),
        ("[peers.NOTAFINGERPRINT]\n", "is not a fingerprint"),
        (f"[peers.{FP_A}]\nnickname = 'a'\n", "needs address"),
        (
            f"[peers.{FP_A}]\nnickname = 'a'\naddress = 'h:1'\nfirst_seen = 1\n"
            "last_seen = 2\nverified = false\n",
            "needs first_seen",
        ),
    ],
)
def test_corrupt_known_peers_file_gives_a_clear_error(tmp_path, content, message):
    path = tmp_path / "known_peers.toml"
    path.write_text(content)
    with pytest.raises(IdentityError, match=message) as caught:
        KnownPeers.load(path)
    assert str(path) in str(caught.value)
    assert path.read_text() == content  # nothing was rewritten


def test_protocol_document_matches_the_code():
    """Section 7 gives implementers the CA, the word list and test vectors: keep them true."""
    text = (Path(__file__).parents[2] / "PROTOCOL.md").read_text(encoding="utf-8")
    ca_dir = resources.files("p2pchat").joinpath("net", "ca")
    for name in ("ca.pem", "ca-key.pem"):
        assert ca_dir.joinpath(name).read_text().strip() in text
    ca = x509.load_pem_x509_certificate(ca_dir.joinpath("ca.pem").read_bytes())
    ca_fp = fingerprint_of_cert_der(ca.public_bytes(serialization.Encoding.DER))
    assert f"key fingerprint\n  `{ca_fp}`" in text
    assert f"the code is `{short_code(FP_A, FP_B)}`" in text
    table = text.split("`WORDS` (index in hex, 16 per line):")[1].split("```")[1]
    rows = [line.split(":", 1) for line in table.strip().splitlines()]
    assert [int(index, 16) for index, _ in rows] == list(range(0, 256, 16))
    assert tuple(" ".join(words for _, words in rows).split()) == SHORT_CODE_WORDS
