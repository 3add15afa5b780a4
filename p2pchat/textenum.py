"""Enums whose members are their text: they compare, hash, print and serialise as it,
so a typed state can go wherever its string went before."""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    def __str__(self) -> str:
        return self.value
