"""`p2pchat peers` and `p2pchat peers forget`, run as a user runs them, on a real known-peers file."""

from __future__ import annotations

import datetime as dt

import pytest
from test_cli import assert_usage_error, p2pchat

from p2pchat.identity import KnownPeers, group_fingerprint
from p2pchat.paths import get_paths

ALICE = "AAAA" + "B" * 48
ALBERT = "AAAZ" + "C" * 48
BOB = "BOBB" + "D" * 48
WHEN = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def known() -> KnownPeers:
    peers = KnownPeers.load(get_paths().known_peers_file)
    peers.remember(ALICE, "alice", "192.168.1.20:8080", now=WHEN)
    peers.remember(ALBERT, "albert", "", now=WHEN + dt.timedelta(days=1))
    peers.remember(BOB, "bob\x1b[2Jevil", "10.0.0.7:9000", now=WHEN + dt.timedelta(days=2))
    peers.mark_verified(ALICE)
    return peers


def test_no_known_peers_says_so():
    result = p2pchat("peers")
    assert result.returncode == 0, result
    assert result.stdout.startswith("no known peers yet (")
    assert str(get_paths().known_peers_file) in result.stdout


def test_the_list_fits_80_columns_with_the_fingerprints_start(known):
    result = p2pchat("peers")
    assert result.returncode == 0, result
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NICKNAME", "FINGERPRINT", "ADDRESS", "LAST", "SEEN", "VERIFIED"]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    alice = rows[2].split()
    assert alice[:3] == ["alice", group_fingerprint(ALICE)[:9], "192.168.1.20:8080"]
    assert alice[-1] == "yes"


def test_list_shows_every_field(known):
    result = p2pchat("peers", "--full")
    assert result.returncode == 0, result
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NICKNAME", "FINGERPRINT", "ADDRESS", "FIRST", "SEEN", "LAST", "SEEN", "VERIFIED"]
    assert [row.split()[0] for row in rows] == ["bob\\x1b[2Jevil", "albert", "alice"]  # latest first
    alice = rows[2].split()
    assert alice[1] == group_fingerprint(ALICE)
    assert alice[2] == "192.168.1.20:8080"
    local = WHEN.astimezone().strftime("%Y-%m-%d %H:%M")
    assert " ".join(alice[3:5]) == " ".join(alice[5:7]) == local
    assert alice[7] == "yes"
    assert rows[1].split()[2] == "-" and rows[1].split()[-1] == "no"  # no address on record
    assert "\x1b" not in result.stdout  # a nickname cannot drive the terminal


@pytest.mark.parametrize("given", [group_fingerprint(BOB)[:9], "bobb", BOB, group_fingerprint(BOB)])
def test_forget_by_fingerprint_or_prefix(known, given):
    result = p2pchat("peers", "forget", given)
    assert result.returncode == 0, result
    assert result.stdout.startswith("forgot bob")
    assert group_fingerprint(BOB) in result.stdout
    left = KnownPeers.load(get_paths().known_peers_file)
    assert left.get(BOB) is None and left.get(ALICE) is not None and left.get(ALBERT) is not None
    assert left.get(ALICE).verified  # the others keep everything


def test_forget_an_ambiguous_prefix_changes_nothing(known):
    before = get_paths().known_peers_file.read_bytes()
    result = p2pchat("peers", "forget", "AAA")
    assert_usage_error(result, "'AAA' matches 2 known peers")
    assert group_fingerprint(ALICE) in result.stderr and group_fingerprint(ALBERT) in result.stderr
    assert get_paths().known_peers_file.read_bytes() == before


@pytest.mark.parametrize("given", ["ZZZZ", "-", "A" * 53])
def test_forget_without_a_match_changes_nothing(known, given):
    before = get_paths().known_peers_file.read_bytes()
    assert_usage_error(p2pchat("peers", "forget", given), "no known peer has a fingerprint starting with")
    assert get_paths().known_peers_file.read_bytes() == before


def test_forget_needs_an_argument():
    assert_usage_error(p2pchat("peers", "forget"), "FINGERPRINT_OR_PREFIX")


def test_broken_known_peers_file_is_one_line(tmp_path):
    path = get_paths().known_peers_file
    path.parent.mkdir(parents=True)
    path.write_text("[peers\n")
    assert_usage_error(p2pchat("peers"), "is not valid TOML")
