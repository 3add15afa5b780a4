"""Who we are and whom we have met.

An identity is an Ed25519 key; its fingerprint (SHA-256 of the public key, base32) is
what peers compare. `keys` makes and loads the key and its certificate,
`fingerprints` names, groups and shortens fingerprints, and `known` remembers peers:
trust on first use, and a loud verdict when a familiar name shows a different key.
"""

from p2pchat.identity.fingerprints import (
    FINGERPRINT_LENGTH,
    SHORT_CODE_LENGTH,
    SHORT_CODE_WORDS,
    IdentityError,
    fingerprint_of_cert_der,
    fingerprint_of_public_key,
    group_fingerprint,
    is_fingerprint,
    normalise_fingerprint,
    share_address,
    short_code,
    short_fingerprint,
)
from p2pchat.identity.keys import CERT_FILE, KEY_FILE, Identity
from p2pchat.identity.known import KnownPeer, KnownPeers, TrustStatus, TrustVerdict

__all__ = [
    "CERT_FILE",
    "FINGERPRINT_LENGTH",
    "KEY_FILE",
    "SHORT_CODE_LENGTH",
    "SHORT_CODE_WORDS",
    "Identity",
    "IdentityError",
    "KnownPeer",
    "KnownPeers",
    "TrustStatus",
    "TrustVerdict",
    "fingerprint_of_cert_der",
    "fingerprint_of_public_key",
    "group_fingerprint",
    "is_fingerprint",
    "normalise_fingerprint",
    "share_address",
    "short_code",
    "short_fingerprint",
]
