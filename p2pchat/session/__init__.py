"""The service a front end talks to: `Session`, its events, and its API."""

from p2pchat.session.api import SessionAPI
from p2pchat.session.core import Session, StartError

__all__ = ["Session", "SessionAPI", "StartError"]
