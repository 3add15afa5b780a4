"""Short codes on the session: making one for /invite, and meeting with one the user typed.

Everything but `CodeInvite` is imported on first use: the front ends import this module before
their first frame, and a session that never makes or uses a code never loads the websockets
client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from p2pchat.reach.rendezvous import CodeMeeting
    from p2pchat.session.core import Session
    from p2pchat.session.invites import Invites
    from p2pchat.session.target import DialTarget

GUEST_INVITE_LIFETIME = 600  # seconds the invite a code's user sends back says it is good for


@dataclass(frozen=True)
class CodeInvite:
    """What /invite shows: the code first (None if none could be made, and why), then the line."""

    code: str | None
    line: str
    summary: str
    no_code: str = ""  # why there is no code: one line


class Codes:
    def __init__(self, session: Session) -> None:
        self.session = session

    async def offer(self) -> CodeInvite:
        """An invite line, and a code that delivers it, waiting in the background for its user."""
        from p2pchat.protocol.invite import parse_invite

        session = self.session
        line, summary = session.create_invite()
        meeting, no_code = await open_code(session.settings.rendezvous, line)
        if meeting is None:
            return CodeInvite(None, line, summary, no_code)
        introduced = introduce(meeting, session.invites, parse_invite(line).secret, session.own_fingerprint,
                               session.notice)
        session._spawn(introduced, "code-invite")
        assert meeting.code is not None
        return CodeInvite(meeting.code, line, summary)

    async def meet(self, code: str) -> DialTarget:
        """Meet the code's maker; what to dial. ValueError (one line) if the code fails."""
        from p2pchat.protocol.invite import parse_invite
        from p2pchat.reach.codes import use_code
        from p2pchat.session.target import invite_target

        session = self.session
        url = session.settings.rendezvous
        if not url:
            raise ValueError("codes need a rendezvous server (rendezvous is empty): ask for the invite line")
        port = session.listening_port
        if port is None:
            raise ValueError("codes need TLS and a running listener")
        line, _ = session.routes.invite(port, lifetime=GUEST_INVITE_LIFETIME)
        session.notice(f"meeting the maker of the code {code} through {url}")
        try:
            invite = await use_code(url, code, line)
        finally:
            # The maker of the code does not dial us (we dial it), so our invite is not kept
            # pending: no relay connection waits for it.
            session.invites.redeem(parse_invite(line).secret)
        if invite.fingerprint == session.own_fingerprint:
            raise ValueError("that is your own code: give it to your peer")
        return invite_target(invite)


async def open_code(url: str, invite_line: str) -> tuple[CodeMeeting | None, str]:
    """A meeting with its code allocated, or None and why not (one line)."""
    if not url:
        return None, 'no code: no rendezvous server is set (rendezvous = "")'
    from p2pchat.reach.codes import offer_code
    from p2pchat.reach.rendezvous import RendezvousError

    try:
        return await offer_code(url, invite_line), ""
    except RendezvousError as error:
        return None, f"no code: {error}"


async def introduce(
    meeting: CodeMeeting, invites: Invites, secret: str, own_fingerprint: str, say: Callable[[str, str], None],
) -> bool:
    """Wait for the code's user; its identity is the only one the invite then admits. True if
    someone was introduced; `say(text, level)` tells the user what happened either way."""
    from p2pchat.identity.fingerprints import group_fingerprint
    from p2pchat.reach.codes import read_guest
    from p2pchat.reach.rendezvous import CodeMismatch, RendezvousError

    code = meeting.code
    try:
        guest = await read_guest(meeting)
    except CodeMismatch:
        say(f"someone tried the code {code} with the wrong words: the code is spent "
            "(/invite makes a new one; the invite line still works)", "warning")
        return False
    except RendezvousError as error:
        say(f"the code {code} can no longer be used: {error}", "warning")
        return False
    if guest.fingerprint == own_fingerprint:
        say(f"the code {code} was used by this same identity: nothing to do", "warning")
        return False
    invites.expect(secret, guest.fingerprint)
    say(f"the code {code} was used: identity {group_fingerprint(guest.fingerprint)} is introduced "
        "and may connect", "info")
    return True
