"""Session conforms to SessionAPI, the one API both front ends are written against."""

from __future__ import annotations

import inspect

from p2pchat.session import Session, SessionAPI
from p2pchat.settings import Settings


def api_members() -> dict[str, object]:
    names = set(SessionAPI.__annotations__) | {
        name for name, value in vars(SessionAPI).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }
    return {name: inspect.getattr_static(SessionAPI, name, None) for name in names}


def test_session_has_every_member_of_the_api_in_the_same_form():
    for name, member in api_members().items():
        assert hasattr(Session, name) or name == "on_event", f"Session lacks {name}"
        actual = inspect.getattr_static(Session, name, None)
        if isinstance(member, property):
            assert isinstance(actual, property), f"{name} should be a property"
        elif callable(member):
            assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(member), name
            wanted = list(inspect.signature(member).parameters)
            assert list(inspect.signature(actual).parameters) == wanted, name


def test_a_session_has_on_event(tmp_path):
    assert Session(Settings()).on_event is None
