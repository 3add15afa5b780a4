"""Short codes on the session: making one for /invite, and meeting with one the user typed.

The code machinery (reach.codes, and the websockets client under it) is imported on first use:
a session that never makes or uses a code never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING

from p2pchat.session.events import CodeInvite

if TYPE_CHECKING:
    from p2pchat.protocol.invite import Invite
    from p2pchat.reach.invites import Invites
    from p2pchat.reach.target import DialTarget
    from p2pchat.settings import Settings

GUEST_INVITE_LIFETIME = 600  # seconds the invite a code's user sends back says it is good for


class Codes:
    """Codes for one session. `invite(lifetime)` makes an invite line and says what it allows
    (ValueError without TLS or a listener); the session gives only that and its other ports."""

    def __init__(
        self, settings: Settings, invites: Invites, own_id: str, *,
        invite: Callable[[int], tuple[str, str]], notice: Callable[[str, str], None],
        spawn: Callable[[Coroutine, str], object],
        introduced: Callable[[Invite], None] = lambda guest: None,
    ) -> None:
        self.settings, self.invites, self.own_id = settings, invites, own_id
        self._invite, self._notice, self._spawn = invite, notice, spawn
        self._introduced = introduced  # the invite a code's user sent back: who, and its relays

    async def offer(self) -> CodeInvite:
        """An invite line, and a code that delivers it, waiting in the background for its user."""
        from p2pchat.protocol.invite import INVITE_LIFETIME, parse_invite
        from p2pchat.reach.codes import introduce, open_code

        line, summary = self._invite(INVITE_LIFETIME)
        meeting, no_code = await open_code(self.settings.rendezvous, line)
        if meeting is None:
            return CodeInvite(None, line, summary, no_code)

        async def wait_for_guest() -> None:
            guest = await introduce(meeting, self.invites, parse_invite(line).secret, self.own_id, self._notice)
            if guest is not None:
                self._introduced(guest)

        self._spawn(wait_for_guest(), "code-invite")
        assert meeting.code is not None
        return CodeInvite(meeting.code, line, summary)

    async def meet(self, code: str) -> DialTarget:
        """Meet the code's maker; what to dial. ValueError (one line) if the code fails."""
        from p2pchat.protocol.invite import parse_invite
        from p2pchat.reach.codes import use_code
        from p2pchat.reach.target import invite_target

        url = self.settings.rendezvous
        if not url:
            raise ValueError("codes need a rendezvous server (rendezvous is empty): ask for the invite line")
        line, _ = self._invite(GUEST_INVITE_LIFETIME)
        self._notice(f"meeting the maker of the code {code} through {url}", "info")
        try:
            invite = await use_code(url, code, line)
        finally:
            # The maker of the code does not dial us (we dial it), so our invite is not kept
            # pending: no relay connection waits for it.
            self.invites.redeem(parse_invite(line).secret)
        if invite.fingerprint == self.own_id:
            raise ValueError("that is your own code: give it to your peer")
        return invite_target(invite)
