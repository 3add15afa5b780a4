"""Typed states: each kind of state is one enum, and what follows from a state is derived."""

from __future__ import annotations

import pytest

from p2pchat.config import load_settings
from p2pchat.session.events import (
    IdentityPrompt,
    Notice,
    NoticeLevel,
    PeerInfo,
    PromptKind,
    SessionState,
    TransferInfo,
    TransferState,
)
from p2pchat.settings import AcceptUnknown, Settings


def test_every_transfer_state_is_either_final_or_live():
    final = {state for state in TransferState if state.final}
    assert final == {"done", "failed", "declined", "cancelled"}
    live = {state for state in TransferState if state.live}
    assert live == {"offered", "waiting", "preparing", "active", "verifying", "interrupted"}
    assert live.isdisjoint(final)


def test_what_each_transfer_state_means():
    def having(predicate):
        return {state for state in TransferState if getattr(state, predicate)}

    assert having("moving") == {"preparing", "active", "verifying"}
    assert having("open") == {"offered", "preparing", "active", "verifying"}
    assert having("running") == {"waiting", "preparing", "active", "verifying"}
    assert not (having("final") & (having("moving") | having("open") | having("running")))


def test_a_state_reads_and_prints_as_its_text():
    assert TransferState.DONE == "done"
    assert f"{TransferState.DONE} / {TransferState.DONE!s}" == "done / done"
    assert {"done": 1}[TransferState.DONE] == 1


def test_events_carry_typed_states_whatever_they_were_given():
    info = TransferInfo(1, "a.txt", 5, "send", "verifying")
    assert info.state is TransferState.VERIFYING and not info.state.final
    assert Notice("careful", "warning").level is NoticeLevel.WARNING
    assert Notice("hello").level is NoticeLevel.INFO and not Notice("hello").level.problem
    peer = PeerInfo("bob", "192.0.2.7:1", "", "", False)
    assert IdentityPrompt(peer, "changed", "X").kind is PromptKind.CHANGED


def test_a_state_that_does_not_exist_is_an_error():
    with pytest.raises(ValueError):
        TransferInfo(1, "a.txt", 5, "send", "finished")


def test_session_states():
    assert [state for state in SessionState if state.live] == [SessionState.CONNECTED]
    assert [state for state in SessionState if state.final] == [SessionState.STOPPED]


def test_accept_unknown_is_typed_from_every_source(tmp_path):
    assert Settings().accept_unknown is AcceptUnknown.ASK
    assert Settings(accept_unknown="never").accept_unknown is AcceptUnknown.NEVER
    path = tmp_path / "settings.toml"
    path.write_text('accept_unknown = "Always"\n')
    settings, _ = load_settings({}, path, environ={})
    assert settings.accept_unknown is AcceptUnknown.ALWAYS
