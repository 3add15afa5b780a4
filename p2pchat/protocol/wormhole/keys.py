"""The client-to-client cryptography of magic-wormhole, with its exact parameters. No I/O.

SPAKE2 (Ed25519 group, symmetric mode) over the code with the AppID as `idSymmetric` turns the
code into a 32-byte shared key; a per-message key is HKDF-SHA256 of it with the purpose
`wormhole:phase:` + SHA-256(sender's side) + SHA-256(phase); bodies are NaCl SecretBox
(XSalsa20-Poly1305) with a random 24-byte nonce in front.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from spake2 import SPAKE2_Symmetric

KEY_SIZE = SecretBox.KEY_SIZE


class BadMessage(ValueError):
    """A body that does not decrypt with the key (the other side used another code)."""


def _utf8_nfc(text: str) -> bytes:
    return unicodedata.normalize("NFC", text).encode("utf-8")


class Pake:
    """One side's SPAKE2 exchange over a code."""

    def __init__(self, code: str, appid: str) -> None:
        self._spake = SPAKE2_Symmetric(_utf8_nfc(code), idSymmetric=_utf8_nfc(appid))
        self.message = json.dumps({"pake_v1": self._spake.start().hex()}).encode("utf-8")

    def finish(self, body: bytes) -> bytes:
        """The shared key from the other side's `pake` body; BadMessage if it is not one."""
        try:
            theirs = bytes.fromhex(json.loads(body.decode("utf-8"))["pake_v1"])
            key: bytes = self._spake.finish(theirs)
            return key
        except Exception as error:  # noqa: BLE001 - any malformed body is the same mistake
            raise BadMessage("the other side's key exchange message is malformed") from error


def derive_key(key: bytes, purpose: bytes, length: int = KEY_SIZE) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(key)


def phase_key(key: bytes, side: str, phase: str) -> bytes:
    purpose = (
        b"wormhole:phase:"
        + hashlib.sha256(side.encode("ascii")).digest()
        + hashlib.sha256(phase.encode("ascii")).digest()
    )
    return derive_key(key, purpose)


def verifier(key: bytes) -> bytes:
    """What `wormhole --verify` shows: equal on both sides exactly when the keys are."""
    return derive_key(key, b"wormhole:verifier")


def encrypt(key: bytes, plaintext: bytes) -> bytes:
    return bytes(SecretBox(key).encrypt(plaintext))


def decrypt(key: bytes, body: bytes) -> bytes:
    try:
        return SecretBox(key).decrypt(body)
    except (CryptoError, ValueError, TypeError) as error:
        raise BadMessage("a message did not decrypt") from error
