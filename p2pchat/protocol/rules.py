"""Rules both peers apply the same way: nicknames, the decider, fresh ids."""

from __future__ import annotations

import secrets
import unicodedata

from p2pchat.protocol.frames import MAX_NICK

# Control, format (bidi overrides, zero-width), surrogate and private-use characters, and line or
# paragraph separators. Unassigned code points stay allowed: a newer Unicode on the other side
# must not make its nickname invalid here.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})

MAX_TRANSFER_ID = (1 << 64) - 1
MAX_TRANSFER_NUMBER = (1 << 31) - 1  # FILE_OFFER.number: what people read out and type


def validate_nickname(name: str) -> str:
    """Return `name` without surrounding whitespace, or raise ValueError saying what is wrong."""
    if not isinstance(name, str):
        raise ValueError("A nickname must be text.")
    name = name.strip()
    if not name:
        raise ValueError("A nickname cannot be empty.")
    if len(name) > MAX_NICK:
        raise ValueError(f"A nickname can have at most {MAX_NICK} characters, not {len(name)}.")
    if has_hidden_characters(name):
        raise ValueError("A nickname cannot contain control or invisible formatting characters.")
    return name


def has_hidden_characters(text: str) -> bool:
    """Control, format, surrogate, private-use or separator characters: nothing a peer
    may put in a nickname or an id that is shown."""
    return not text.isprintable() and any(
        unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in text
    )


def is_decider(my_id: str, peer_id: str) -> bool:
    """True if this side decides which connection carries the session: its id sorts lower."""
    mine, theirs = my_id.encode("utf-8"), peer_id.encode("utf-8")
    if mine == theirs:
        raise ValueError("both sides have the same id: this is a connection to ourselves")
    return mine < theirs


def first_transfer_number(my_id: str, peer_id: str | None) -> int:
    """Where this side's transfer numbers start, stepping by 2: the decider numbers its offers
    1, 3, 5..., the other side 2, 4, 6..., so offers made at the same moment never share one.
    With no peer known yet, odd."""
    if peer_id is None or not my_id or my_id == peer_id:
        return 1
    return 1 if is_decider(my_id, peer_id) else 2


def new_session_id() -> str:
    return secrets.token_hex(16)


def new_message_id() -> str:
    return secrets.token_hex(16)


def new_transfer_id() -> int:
    return 1 + secrets.randbelow(MAX_TRANSFER_ID)
