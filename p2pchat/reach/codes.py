"""A short code is an invite delivered by a mailbox server.

Each side puts its own invite line (fingerprint, addresses, relays, a one-time secret) in its
first wormhole message, sent as soon as the key is agreed, and reads the other side's. What
follows is the invite's path: the side that typed the code dials, TLS checks the fingerprint
the code introduced, and the secret is presented inside TLS.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from p2pchat.identity.fingerprints import group_fingerprint
from p2pchat.protocol.invite import Invite, InviteError, parse_invite
from p2pchat.reach.invites import Invites
from p2pchat.reach.rendezvous import CodeMeeting, CodeMismatch, RendezvousError

# Our AppID: the mailbox server keeps the nameplates of each AppID apart, so p2pchat's codes
# never meet magic-wormhole's file transfers. Written in PROTOCOL.md; never change it.
APPID = "p2pchat/introduce/v1"
VERSIONS = {"p2pchat": {"introduction": 1}}
WAIT_FOR_INVITER = 20.0  # seconds a code's user waits for the side that made the code


def introduction(invite_line: str) -> bytes:
    return json.dumps({"invite": invite_line}).encode("utf-8")


def read_introduction(data: bytes) -> Invite:
    """The other side's invite; RendezvousError if the message is not a p2pchat introduction."""
    try:
        line = json.loads(data.decode("utf-8"))["invite"]
        if not isinstance(line, str):
            raise TypeError(line)
        return parse_invite(line)
    except (ValueError, KeyError, TypeError) as error:
        detail = f" ({error})" if isinstance(error, InviteError) else ""
        raise RendezvousError(f"the other side of the code is not a p2pchat introduction{detail}") from None


async def offer_code(url: str, invite_line: str) -> CodeMeeting:
    """Connect and allocate a code; the meeting, whose `code` to show and `read_guest` to await."""
    meeting = CodeMeeting(url, APPID, introduction(invite_line), versions=VERSIONS)
    await meeting.open()
    return meeting


async def read_guest(meeting: CodeMeeting) -> Invite:
    return read_introduction(await meeting.exchange())


async def use_code(url: str, code: str, invite_line: str) -> Invite:
    """Meet the code's maker: its invite. RendezvousError (one line) if that fails."""
    meeting = CodeMeeting(
        url, APPID, introduction(invite_line), code=code, versions=VERSIONS, peer_timeout=WAIT_FOR_INVITER,
    )
    await meeting.open()
    return read_introduction(await meeting.exchange())


async def open_code(url: str, invite_line: str) -> tuple[CodeMeeting | None, str]:
    """A meeting with its code allocated, or None and why not (one line)."""
    if not url:
        return None, 'no code: no rendezvous server is set (rendezvous = "")'
    try:
        return await offer_code(url, invite_line), ""
    except RendezvousError as error:
        return None, f"no code: {error}"


async def introduce(
    meeting: CodeMeeting, invites: Invites, secret: str, own_id: str, say: Callable[[str, str], None],
) -> Invite | None:
    """Wait for the code's user; its identity is then the only one the invite admits. The
    invite it sent back (its fingerprint and relays) if someone was introduced, else None;
    `say(text, level)` tells the user what happened either way."""
    code = meeting.code
    try:
        guest = await read_guest(meeting)
    except CodeMismatch:
        say(f"someone tried the code {code} with the wrong words: the code is spent "
            "(/invite makes a new one; the invite line still works)", "warning")
        return None
    except RendezvousError as error:
        say(f"the code {code} can no longer be used: {error}", "warning")
        return None
    if guest.fingerprint == own_id:
        say(f"the code {code} was used by this same identity: nothing to do", "warning")
        return None
    invites.expect(secret, guest.fingerprint)
    say(f"the code {code} was used: identity {group_fingerprint(guest.fingerprint)} is introduced "
        "and may connect", "info")
    return guest
