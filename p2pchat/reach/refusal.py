"""Refusing a peer: raised by the handshake and by dialing alike (a connection that shows the
wrong identity), so it lives below both."""

from __future__ import annotations


class PeerRefused(Exception):
    """We will not talk to this peer (or it will not talk to us). `final`: stop dialing.
    `reply`: the frame to send before closing, if the peer is to be told."""

    def __init__(self, message: str, *, final: bool = False, reply=None) -> None:
        super().__init__(message)
        self.final = final
        self.reply = reply


class MetItself(PeerRefused):
    """The peer presented our own identity: we dialed ourselves, or another instance shares
    our identity files. The session words the message: it knows what it dialed. Always final:
    dialing that address again cannot help."""

    def __init__(self, *, reply=None) -> None:
        super().__init__("that address is this very instance", final=True, reply=reply)
