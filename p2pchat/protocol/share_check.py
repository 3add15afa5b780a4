"""The check written after the fingerprint in a share address (`p2pchat://HOST:PORT/FP-CHECK`).
No I/O.

CHECK is four base32 characters: the first 20 bits of SHA-256 over CHECK_LABEL and the
fingerprint's 52 characters. A typo in the fingerprint is then named as a typo before anything
is dialled, instead of looking like another key at that address. The host and port are left out
so a user may change them (a public address for a LAN one). Addresses written before the check
existed (52 characters) are still read, without it.
"""

from __future__ import annotations

import base64
import hashlib

CHECK_LABEL = b"p2pchat share address check v1\x00"
CHECK_LENGTH = 4
FINGERPRINT_LENGTH = 52  # base32 of 32 bytes, padding removed
BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def fingerprint_check(fingerprint: str) -> str:
    digest = hashlib.sha256(CHECK_LABEL + fingerprint.encode("ascii")).digest()
    return base64.b32encode(digest).decode("ascii")[:CHECK_LENGTH]


def with_check(fingerprint: str) -> str:
    return fingerprint + fingerprint_check(fingerprint)


def checked_fingerprint(text: str) -> str:
    """The fingerprint in an address's path (grouped or not, any case); ValueError, in one
    line, for a typo, a missing or extra character, or something else."""
    fingerprint = "".join(text.split()).replace("-", "").upper()
    if not set(fingerprint) <= BASE32:
        raise ValueError(f"{text!r} is not a p2pchat fingerprint (letters A-Z and digits 2-7, in groups of 4)")
    if len(fingerprint) == FINGERPRINT_LENGTH:  # written before the check existed
        return fingerprint
    if len(fingerprint) != FINGERPRINT_LENGTH + CHECK_LENGTH:
        raise ValueError(
            f"the fingerprint in the address has {len(fingerprint)} characters, not "
            f"{FINGERPRINT_LENGTH + CHECK_LENGTH}: a character is missing or extra; copy the address again"
        )
    fingerprint, check = fingerprint[:FINGERPRINT_LENGTH], fingerprint[FINGERPRINT_LENGTH:]
    if fingerprint_check(fingerprint) != check:
        raise ValueError(
            "the fingerprint in the address has a typo (its check does not match): copy the address again"
        )
    return fingerprint
