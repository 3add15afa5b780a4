"""The address handed to a peer is one where p2pchat listens."""

from __future__ import annotations

import pytest

from p2pchat.display import own_address
from p2pchat.net.address import guess_lan_host
from p2pchat.reach.invites import Invites, make_invite


@pytest.mark.parametrize("bind", ["127.0.0.1", "::1", "198.51.100.7"])
def test_bound_to_one_address_that_address_is_handed_out(bind):
    assert guess_lan_host(bind) == bind


@pytest.mark.parametrize("bind", ["::", "0.0.0.0", ""])
def test_bound_to_every_interface_the_lan_address_is_guessed(bind):
    assert guess_lan_host(bind) == guess_lan_host()


def test_own_address_and_invites_follow_the_bind_address(tmp_path):
    assert own_address(7357, "", tls=False, bind="127.0.0.1") == "127.0.0.1:7357"
    assert own_address(7357, "", tls=False, bind="::1") == "[::1]:7357"
    _line, summary = make_invite(Invites(tmp_path / "invites"), "A" * 52, 7357, [], bind="127.0.0.1")
    assert "127.0.0.1:7357;" in summary
