"""Codes such as `7-crossover-clockwork`: a nameplate number, then words. No I/O.

The nameplate is the mailbox server's short name for the meeting; the whole code (number and
words) is the password both sides feed to SPAKE2, so only someone who has the words can agree a key.
"""

from __future__ import annotations

import re
import secrets

from p2pchat.protocol.wormhole.words import EVEN_WORDS, ODD_WORDS

WORDS_IN_A_CODE = 2  # as `wormhole send`: 16 bits, and one guess per code
_CODE = re.compile(r"^([0-9]+)((?:-[a-z0-9]+)+)$")
_ALL_WORDS = frozenset(EVEN_WORDS) | frozenset(ODD_WORDS)


class CodeError(ValueError):
    """The text is not a code; the message is one line for the user."""


def looks_like_code(text: str) -> bool:
    """Meant as a code: words or a bare number, without the `:` `.` `/` `[` of an address or link
    (an invite is told apart first)."""
    stripped = text.strip()
    if not stripped or any(c in stripped for c in ":./[@"):
        return False
    return "-" in stripped or " " in stripped or stripped.isdigit()


def normalize_code(text: str) -> str:
    """The code as both sides must type it: lowercase, spaces between words read as hyphens."""
    return "-".join(text.lower().split())


def parse_code(text: str) -> str:
    """The normalized code; CodeError if it has no number or no words."""
    code = normalize_code(text)
    if _CODE.match(code) is None:
        raise CodeError(f"{text.strip()!r} is not a code: a code is a number and words, such as 7-crossover-clockwork")
    return code


def nameplate_of(code: str) -> str:
    return code.split("-", 1)[0]


def choose_words(count: int = WORDS_IN_A_CODE) -> str:
    """Random words alternating odd and even lists, odd first (magic-wormhole's order)."""
    return "-".join(secrets.choice(ODD_WORDS if i % 2 == 0 else EVEN_WORDS) for i in range(count))


def make_code(nameplate: str, count: int = WORDS_IN_A_CODE) -> str:
    return f"{nameplate}-{choose_words(count)}"


def complete_code(prefix: str, count: int = WORDS_IN_A_CODE) -> list[str]:
    """Completions of a partly typed code's last word, sorted; a hyphen follows if words remain.

    `7-cr` -> ['7-crossover-', ...]; nothing before the nameplate's hyphen is completed."""
    if not re.match(r"^[0-9]+-", prefix):
        return []
    typed = prefix.count("-") - 1  # whole words before the one being typed
    if typed >= count:
        return []
    words = ODD_WORDS if typed % 2 == 0 else EVEN_WORDS
    head, _, partial = prefix.rpartition("-")
    suffix = "-" if typed + 1 < count else ""
    options = sorted(f"{head}-{word}{suffix}" for word in words if word.startswith(partial.lower()))
    return [] if options == [prefix] else options  # a whole last word: nothing to add


def unknown_words(code: str) -> list[str]:
    """Words of the code that are in neither list (a typo, or a code someone made up)."""
    return [word for word in code.split("-")[1:] if word not in _ALL_WORDS]
