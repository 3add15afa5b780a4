"""What is missing when no path can reach a peer, decided without I/O.

After a failed attempt, from the dial target and how each path failed: when every address was
met with silence and no relay could be used, no retry will help, and the user is told once what
would (a relay named in the invite, or set on both sides). Anything that answered (a refusal,
a relay that waited for the peer) means the way exists and the peer is only not there yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from p2pchat.protocol.scope import home_only
from p2pchat.reach.plan import Target

SET_RELAY = "p2pchat config set relay tcp:HOST:PORT"
SHOWN = 3  # addresses named in the line; the rest are counted


@dataclass(frozen=True)
class PathFailure:
    where: str  # "HOST:PORT", or "relay HOST:PORT"
    host: str
    relayed: bool
    reached: bool  # something answered there: a refusal, TLS, a relay that waited or glued


def missing_route(target: Target, failed: Sequence[PathFailure]) -> str | None:
    """One line saying what this network lacks to reach `target`, or None when a path answered
    (or none was tried)."""
    if not failed or any(path.reached for path in failed):
        return None
    direct = [path for path in failed if not path.relayed]
    relays = [path.where for path in failed if path.relayed]
    kind = "invite" if target.invite is not None else "peer" if target.fingerprint else "address"
    owner = "the inviter" if kind == "invite" else "the peer"
    parts = []
    if direct:
        shown = ", ".join(path.where for path in direct[:SHOWN])
        if len(direct) > SHOWN:
            shown += f" and {len(direct) - SHOWN} more"
        several = len(direct) > 1
        if all(_home_only(path.host) for path in direct):
            parts.append(f"{shown} {'work' if several else 'works'} only on {owner}'s own network")
        else:
            parts.append(f"{shown} {'do' if several else 'does'} not answer from here "
                         "(a router or firewall between drops the connection)")
    if relays:
        parts.append(f"{', '.join(relays)} cannot be reached from here")
    else:
        parts.append({"invite": "the invite names no relay", "peer": "no relay is set",
                      "address": "a bare HOST:PORT asks no relay"}[kind])
    if relays:  # named but out of reach: turned off, or blocked on the way
        advice = {
            "invite": "Ask whether that relay runs, or for a new invite or code made with a relay this "
                      f"network can reach ({SET_RELAY} on their side)",
            "peer": f"Check that the relay runs, or set another one on both sides ({SET_RELAY})",
        }[kind]
    else:
        advice = {
            "invite": f"Ask for a new invite or code made with a relay set on their side ({SET_RELAY}) "
                      "or with their router mapping the port",
            "peer": f"Set the same relay on both sides ({SET_RELAY}), or ask for an invite made with one",
            "address": f"Ask for an invite or code made with a relay set on their side ({SET_RELAY})",
        }[kind]
    return f"{target} cannot be reached from this network: {', and '.join(parts)}. {advice}; still trying"


def _home_only(host: str) -> bool:
    try:
        return home_only(host)
    except ValueError:  # a name, not an address: it may be anyone's
        return False
