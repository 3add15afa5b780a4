"""Whether to talk to a peer whose key the TLS handshake proved: a pure decision.

From what the known-peers file says about the key (`verdict`), the `accept_unknown`
setting, whether someone answers questions, and how the peer came (dialed by us, at an
address naming its fingerprint, with an invite of ours) to one of: accept, ask the user,
refuse. Nothing here reads a file or waits for anyone; `prompts.Trust` does that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from p2pchat.settings import AcceptUnknown

Status = Literal["known", "new", "changed"]


@dataclass(frozen=True)
class Refuse:
    changed: bool  # a familiar name or address shows another key (else: an unknown key)
    final: bool  # stop dialing: trying again cannot help


@dataclass(frozen=True)
class Accept:
    # "known", "invite" (our invite introduced it), "named" (the address named this key),
    # "unknown" (a new key let in by the policy: the user should compare the short code)
    why: Literal["known", "invite", "named", "unknown"]


@dataclass(frozen=True)
class Ask:
    changed: bool  # the question is about a changed key (else: an unknown one)
    refusal: Refuse  # what a no (or no answer) means


Decision = Accept | Ask | Refuse


def decide(
    verdict: Status,
    policy: AcceptUnknown,
    *,
    interactive: bool,
    dialed: bool,
    named: bool,
    invite: bool,
    verdict_here: Status | None = None,
) -> Decision:
    """`verdict`: the key against the nickname; `verdict_here`: against the address we
    dialed directly (None otherwise: inbound ports are ephemeral and a relay is not the peer).
    `named`: the address the user dialed names this very fingerprint. `invite`: the peer
    presented an invite of ours still pending (which is then used up)."""
    if invite and verdict != "changed":
        return Accept("invite")
    if verdict == "new" and dialed and verdict_here is not None:
        verdict = verdict_here  # a known peer at this exact address with another key
    if verdict == "known":
        return Accept("known")
    if dialed and named:
        return Accept("named")
    if verdict == "changed":
        refusal = Refuse(changed=True, final=True)
        return Ask(changed=True, refusal=refusal) if interactive else refusal
    policy = AcceptUnknown(policy)
    if policy is AcceptUnknown.ALWAYS or (policy is AcceptUnknown.ASK and not interactive):
        return Accept("unknown")
    refusal = Refuse(changed=False, final=dialed)
    return Ask(changed=False, refusal=refusal) if policy is AcceptUnknown.ASK else refusal
