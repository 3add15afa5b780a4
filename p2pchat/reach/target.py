"""What the user asked to connect to: an address, a p2pchat:// link, or an invite."""

from __future__ import annotations

from dataclasses import dataclass

from p2pchat.net.address import PeerAddress, parse_address
from p2pchat.protocol.invite import Invite, looks_like_invite, parse_invite
from p2pchat.protocol.transit import RelayAddress


@dataclass(frozen=True)
class DialTarget:
    direct: tuple[PeerAddress, ...]  # tried at once, in this order
    fingerprint: str | None = None  # the identity we expect there, if the user named one
    relays: tuple[RelayAddress, ...] = ()  # the invite's relays; the settings' are added on use
    invite: Invite | None = None

    def __str__(self) -> str:
        if self.direct and self.invite is None:
            return str(self.direct[0])
        return f"the inviter {self.fingerprint[:8]}" if self.fingerprint else "the peer"


def parse_target(text: str) -> DialTarget:
    """Parse what the user pasted; raise ValueError with a one-line explanation."""
    if looks_like_invite(text):
        invite = parse_invite(text)
        direct = tuple(PeerAddress(host, port, invite.fingerprint) for host, port in invite.addresses)
        return DialTarget(direct, invite.fingerprint, invite.relays, invite)
    address = parse_address(text)
    return DialTarget((address,), address.fingerprint)
