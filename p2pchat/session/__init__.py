"""The service a front end talks to: `Session`, its events, and its API.

`Session` and `StartError` are imported on first use, so a front end can import the events
and the API (all it needs to draw its first frame) without the network, TLS and history stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from p2pchat.session.api import SessionAPI

if TYPE_CHECKING:
    from p2pchat.session.service import Session, StartError

__all__ = ["Session", "SessionAPI", "StartError"]


def __getattr__(name: str):
    if name in ("Session", "StartError"):
        from p2pchat.session import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
