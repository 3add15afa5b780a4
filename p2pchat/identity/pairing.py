"""The secret two peers share without sending it: X25519 between their identity keys.

Each Ed25519 identity key has a Montgomery form (the conversion libsodium's
`crypto_sign_ed25519_{sk,pk}_to_curve25519` make), so `pair_secret(my key, your public key)`
equals `pair_secret(your key, my public key)`, and no one holding neither private key can
compute it. Two known peers derive their relay rendezvous token from it: fingerprints are
public (announced on the LAN, printed in share addresses), this secret is not.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

_P = 2**255 - 19
PUBLIC_KEY_BYTES = 32


class PairingError(ValueError):
    """A peer's public key that no secret can be made with."""


def raw_public_key(public_key: ed25519.Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _montgomery_public(ed_public: bytes) -> x25519.X25519PublicKey:
    if len(ed_public) != PUBLIC_KEY_BYTES:
        raise PairingError("an Ed25519 public key is 32 bytes")
    y = int.from_bytes(ed_public, "little") & ((1 << 255) - 1)
    if y >= _P or y == 1:
        raise PairingError("not a usable Ed25519 public key")
    u = (1 + y) * pow(1 - y, _P - 2, _P) % _P
    return x25519.X25519PublicKey.from_public_bytes(u.to_bytes(32, "little"))


def _montgomery_private(key: ed25519.Ed25519PrivateKey) -> x25519.X25519PrivateKey:
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())  # fmt: skip
    return x25519.X25519PrivateKey.from_private_bytes(hashlib.sha512(seed).digest()[:32])  # clamped there


def pair_secret(own: ed25519.Ed25519PrivateKey, peer_public: bytes) -> bytes:
    """32 bytes both peers compute alike; PairingError for a key that gives no secret."""
    try:
        return _montgomery_private(own).exchange(_montgomery_public(peer_public))
    except ValueError as exc:  # cryptography refuses a low-order point (all-zero result)
        raise PairingError(f"no secret with that key: {exc}") from None
