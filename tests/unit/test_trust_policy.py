"""The trust policy as a table: what the known-peers verdict, the `accept_unknown` setting and
the way a peer came decide, with no files, prompts or connections."""

from __future__ import annotations

import itertools

import pytest

from p2pchat.session.trust import Accept, Ask, Refuse, decide
from p2pchat.settings import AcceptUnknown

ASK, ALWAYS, NEVER = AcceptUnknown.ASK, AcceptUnknown.ALWAYS, AcceptUnknown.NEVER
CHANGED_FINAL = Refuse(changed=True, final=True)

# verdict, policy, interactive, dialed, named, invite, verdict_here -> decision
TABLE = [
    ("known", NEVER, False, False, False, False, None, Accept("known")),
    ("known", ASK, True, True, False, False, None, Accept("known")),
    # an invite of ours introduces a new key, never a changed one
    ("new", NEVER, False, False, False, True, None, Accept("invite")),
    ("known", NEVER, False, False, False, True, None, Accept("invite")),
    ("changed", ALWAYS, False, False, False, True, None, CHANGED_FINAL),
    ("changed", ASK, True, False, False, True, None, Ask(True, CHANGED_FINAL)),
    # the address the user dialed named this key
    ("new", NEVER, False, True, True, False, None, Accept("named")),
    ("changed", NEVER, False, True, True, False, None, Accept("named")),
    ("new", NEVER, False, False, True, False, None, Refuse(False, False)),  # named counts only when dialed
    # a changed key: asked if someone answers, refused for good otherwise, whatever the policy
    ("changed", ALWAYS, False, False, False, False, None, CHANGED_FINAL),
    ("changed", ALWAYS, True, False, False, False, None, Ask(True, CHANGED_FINAL)),
    ("changed", NEVER, True, True, False, False, None, Ask(True, CHANGED_FINAL)),
    # an unknown key: the policy
    ("new", ALWAYS, False, False, False, False, None, Accept("unknown")),
    ("new", ALWAYS, True, True, False, False, None, Accept("unknown")),
    ("new", ASK, False, True, False, False, None, Accept("unknown")),  # nobody to ask
    ("new", ASK, True, True, False, False, None, Ask(False, Refuse(False, True))),
    ("new", ASK, True, False, False, False, None, Ask(False, Refuse(False, False))),
    ("new", NEVER, True, True, False, False, None, Refuse(False, True)),  # dialed: stop dialing
    ("new", NEVER, True, False, False, False, None, Refuse(False, False)),
    # dialed directly: a known peer at this address with another key is a changed key
    ("new", ALWAYS, False, True, False, False, "changed", CHANGED_FINAL),
    ("new", NEVER, False, True, False, False, "known", Accept("known")),
    ("new", ALWAYS, False, True, False, False, "new", Accept("unknown")),
    ("new", ALWAYS, False, False, False, False, "changed", Accept("unknown")),  # only when we dialed
    ("new", NEVER, False, True, False, True, "changed", Accept("invite")),  # the invite goes by name
    ("known", ALWAYS, False, True, False, False, "changed", Accept("known")),
]


@pytest.mark.parametrize(
    ("verdict", "policy", "interactive", "dialed", "named", "invite", "here", "expected"), TABLE
)
def test_decide(verdict, policy, interactive, dialed, named, invite, here, expected):
    got = decide(verdict, policy, interactive=interactive, dialed=dialed, named=named, invite=invite,
                 verdict_here=here)
    assert got == expected


def test_every_decision_is_one_of_three_and_a_question_says_what_no_means():
    for verdict, policy, interactive, dialed, named, invite in itertools.product(
        ("known", "new", "changed"), AcceptUnknown, *[(False, True)] * 4
    ):
        got = decide(verdict, policy, interactive=interactive, dialed=dialed, named=named, invite=invite)
        assert isinstance(got, (Accept, Ask, Refuse))
        if isinstance(got, Ask):
            assert interactive  # nobody is asked who cannot answer
            assert got.refusal.changed == got.changed
        if verdict == "changed" and not (dialed and named):
            assert not isinstance(got, Accept)  # a changed key is never let in quietly
