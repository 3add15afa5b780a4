"""What the user asked to connect to: an address, a p2pchat:// link, an invite, or a code."""

from __future__ import annotations

from dataclasses import dataclass, replace

from p2pchat.net.address import PeerAddress, parse_address
from p2pchat.protocol.invite import Invite, looks_like_invite, parse_invite
from p2pchat.protocol.transit import RelayAddress
from p2pchat.protocol.wormhole.code import looks_like_code, parse_code


@dataclass(frozen=True)
class DialTarget:
    direct: tuple[PeerAddress, ...]  # tried at once, in this order
    fingerprint: str | None = None  # the identity we expect there, if the user named one
    relays: tuple[RelayAddress, ...] = ()  # the invite's relays; the settings' are added on use
    invite: Invite | None = None
    code: str | None = None  # a short code: the mailbox server introduces us before any dial
    named: bool = False  # the user typed the fingerprint with the address (a p2pchat:// link)

    def pinned_to(self, peer: str) -> DialTarget:
        """This target, expecting `peer` there from now on (the peer it reached)."""
        return self if self.fingerprint else replace(self, fingerprint=peer)

    def relays_of(self, peer: str) -> tuple[RelayAddress, ...]:
        """The relays an invite (or a code) said `peer` waits on, to keep with it once met."""
        return self.invite.relays if self.invite is not None and self.invite.fingerprint == peer else ()

    def __str__(self) -> str:
        if self.code is not None:
            return f"the code {self.code}"
        if self.direct and self.invite is None:
            return str(self.direct[0])
        return f"the inviter {self.fingerprint[:8]}" if self.fingerprint else "the peer"


def parse_target(text: str) -> DialTarget:
    """Parse what the user pasted; raise ValueError with a one-line explanation."""
    if looks_like_invite(text):
        return invite_target(parse_invite(text))
    if looks_like_code(text):
        return DialTarget((), code=parse_code(text))
    address = parse_address(text)
    return DialTarget((address,), address.fingerprint, named=address.fingerprint is not None)


def invite_target(invite: Invite) -> DialTarget:
    direct = tuple(PeerAddress(host, port, invite.fingerprint) for host, port in invite.addresses)
    return DialTarget(direct, invite.fingerprint, invite.relays, invite)
