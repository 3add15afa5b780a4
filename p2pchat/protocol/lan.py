"""What a p2pchat announces on the local network (DNS-SD over mDNS), without I/O.

Service type `_p2pchat._tcp.local.`; the instance is named after the start of the
fingerprint (nicknames may repeat, fingerprints do not). The TXT record holds:

    v=1          format version
    nick=NAME    the nickname, UTF-8 (the rules of a HELLO nickname)
    fp=FP        the full fingerprint, 52 base32 characters without dashes

Anything on the LAN can announce anything: a TXT record is a claim, checked by TLS when dialed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from p2pchat.protocol.rules import validate_nickname

SERVICE_TYPE = "_p2pchat._tcp.local."
TXT_VERSION = "1"
_FINGERPRINT = re.compile(r"^[A-Z2-7]{52}$")


@dataclass(frozen=True)
class Announcement:
    nickname: str
    fingerprint: str


def instance_name(fingerprint: str) -> str:
    return f"p2pchat-{fingerprint[:16].lower()}.{SERVICE_TYPE}"


def txt_properties(nickname: str, fingerprint: str) -> dict[str, str]:
    return {"v": TXT_VERSION, "nick": nickname, "fp": fingerprint}


def parse_txt(properties: Mapping[Any, Any]) -> Announcement:
    """The announcement in a TXT record (keys and values as bytes or text); ValueError if
    it is not one this version understands."""
    def text(key: str) -> str:
        raw = properties.get(key.encode(), properties.get(key))
        if raw is None:
            raise ValueError(f"the TXT record has no {key}")
        if isinstance(raw, bytes):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"the TXT record's {key} is not UTF-8") from None
        if not isinstance(raw, str):
            raise ValueError(f"the TXT record's {key} is not text")
        return raw

    if not isinstance(properties, dict):
        raise ValueError("no TXT record")
    if text("v") != TXT_VERSION:
        raise ValueError("the TXT record is of another format version")
    fingerprint = text("fp")
    if not _FINGERPRINT.match(fingerprint):
        raise ValueError("the TXT record's fp is not a fingerprint")
    return Announcement(validate_nickname(text("nick")), fingerprint)
