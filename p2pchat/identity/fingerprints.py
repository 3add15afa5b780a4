"""Fingerprints: how an identity is named, grouped, shortened, spoken and shared.

A fingerprint is the SHA-256 of the public key in base32 (52 characters). People
compare it grouped in fours, or as the short code: four words both sides compute
from both fingerprints.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from p2pchat.protocol.share_check import BASE32, FINGERPRINT_LENGTH, with_check

_SHORT_CODE_CONTEXT = b"p2pchat short code v1\x00"

# 256 distinct, easy-to-say words: one per byte of the short code hash (order matters).
SHORT_CODE_WORDS: tuple[str, ...] = tuple(
    """
    acid acorn actor adult agent alarm album alley amber angel ankle apple april apron arena
    army arrow atlas aunt autumn baby bacon badge bagel baker bamboo banjo barn basin beach
    bean bear bell belt bench berry bike bird blade boat bone book boot bottle bowl box
    brain bread brick bridge broom brush bucket bull cabin cable cactus cake camel camera
    candle candy canoe cargo carrot castle cat cave cello chair chalk cheese cherry chess
    chief chin circle city clock cloud clown coast cobra coin comet coral corn cow crab
    crane crayon cream crown cube cup daisy desert diary dice dog doll donkey door dragon
    drum duck eagle earth echo eel egg elbow elk falcon farm feather fence fern field finger
    fish flag flute foam forest fork fox frog garden ghost giant glass globe glove goat gold
    grape grass guitar hammer harbor hawk heart hill honey horse hotel index iron island
    ivory jelly jewel judge juice jungle kayak kitten kiwi knee knife koala ladder lake lamp
    lemon lens lily lion lizard lunch mango maple marble mask melon metal monkey moon moose
    mouse mud needle nest nurse oak ocean olive onion orange otter owl panda paper peach
    pencil piano pilot pizza planet plum pocket pony quilt rabbit radio rain raven ribbon
    river robot rocket roof rope ruby saddle salad sand scarf shark sheep shell ship shoe
    silver skate snail snake sock sofa spoon squid star stone sugar sun swan table tiger
    toast tooth towel tower train tree truck tulip turtle vase violin wagon whale wheel wolf
    yacht zebra
    """.split()
)
SHORT_CODE_LENGTH = 4


class IdentityError(Exception):
    """A key, certificate or known-peers file cannot be used; the message says how to fix it."""


def fingerprint_of_public_key(public_key: CertificatePublicKeyTypes) -> str:
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b32encode(hashlib.sha256(spki).digest()).decode("ascii").rstrip("=")


def fingerprint_of_cert_der(der: bytes) -> str:
    """Fingerprint of the key in a DER certificate (what TLS hands over)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise IdentityError(f"the peer's certificate cannot be read: {exc}") from None
    return fingerprint_of_public_key(cert.public_key())


def normalise_fingerprint(text: str) -> str:
    """Accept what a user pasted: grouped or not, any case, stray spaces."""
    return "".join(c for c in text if c not in "- \t\r\n").upper()


def is_fingerprint(text: str) -> bool:
    """True for a full, normalised fingerprint (52 base32 characters)."""
    return len(text) == FINGERPRINT_LENGTH and set(text) <= BASE32


def group_fingerprint(fp: str) -> str:
    fp = normalise_fingerprint(fp)
    return "-".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def short_fingerprint(fp: str) -> str:
    return group_fingerprint(normalise_fingerprint(fp)[:8])


def short_code(fp_a: str, fp_b: str) -> str:
    """Words both peers can read to each other; the same whichever side computes them."""
    low, high = sorted((normalise_fingerprint(fp_a), normalise_fingerprint(fp_b)))
    digest = hashlib.sha256(
        _SHORT_CODE_CONTEXT + low.encode("ascii") + b"\x00" + high.encode("ascii")
    ).digest()
    return " ".join(SHORT_CODE_WORDS[b] for b in digest[:SHORT_CODE_LENGTH])


def share_address(host: str, port: int, fp: str) -> str:
    """The one string a peer needs to reach us and check our key; the fingerprint is followed
    by its check, so a typo in it is named as one."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"p2pchat://{host}:{port}/{group_fingerprint(with_check(normalise_fingerprint(fp)))}"
