"""The session-level slash commands, run the same way by both front ends.

A front end parses a line (`p2pchat.commands`), keeps the commands that are its own (help,
quit, clear, and what needs a dialog or its own wording: /verify, /invite, /ping) and hands
the rest to `run()`, with itself as the `FrontEnd` that shows what they say. Commands that
wait on the network come back as an awaitable: plain mode awaits it, the app runs it as a
worker, so the keyboard is never held up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from p2pchat.commands import Command
from p2pchat.display import describe_lan_peers, pick_lan_peer, pick_transfer, transfer_lines
from p2pchat.session.api import SessionAPI
from p2pchat.session.events import TransferInfo
from p2pchat.settings import Settings


class FrontEnd(Protocol):
    settings: Settings

    def show(self, text: str, level: str = "system") -> None: ...  # one line; level: system/error

    def offered(self, transfers: list[TransferInfo]) -> None: ...  # /send made these

    def answered(self, transfer_id: int, done: str) -> None: ...  # "accepted", "declined", "cancelled"

    def renamed(self) -> None: ...  # /nick took

    def more_info(self) -> list[str]: ...  # /info lines of the front end's own


Handler = Callable[[FrontEnd, SessionAPI, Command], Awaitable[None] | None]
ANSWERED = {"accept": "accepted", "decline": "declined", "cancel": "cancelled"}


def run(front: FrontEnd, session: SessionAPI, command: Command) -> Awaitable[None] | None:
    """Carry out a command named in `SESSION_COMMANDS`; an awaitable if it has more to do."""
    return HANDLERS[command.name](front, session, command)


def _text_of(command: Command) -> str:
    return command.rest.strip() if command.rest else " ".join(command.args)


def _send(front: FrontEnd, session: SessionAPI, command: Command) -> Awaitable[None]:
    return _offer(front, session, [Path(arg).expanduser() for arg in command.args])


async def _offer(front: FrontEnd, session: SessionAPI, paths: list[Path]) -> None:
    try:
        ids = await session.offer_files(paths)
    except Exception as error:  # no such file, unreadable folder...
        front.show(f"cannot send: {error}", "error")
        return
    front.offered([t for t in session.transfers if t.id in ids])


def _answer(front: FrontEnd, session: SessionAPI, command: Command) -> None:
    try:
        transfer_id = pick_transfer(session.transfers, command.name, command.args[0] if command.args else None)
    except ValueError as error:
        front.show(str(error), "error")
        return
    try:
        getattr(session, command.name)(transfer_id)
    except (KeyError, ValueError) as error:
        front.show(str(error), "error")  # the session's message names the transfer
        return
    front.answered(transfer_id, ANSWERED[command.name])


def _transfers(front: FrontEnd, session: SessionAPI, command: Command) -> None:
    for line in transfer_lines(session.transfers):
        front.show(line)


def _nick(front: FrontEnd, session: SessionAPI, command: Command) -> None:
    try:
        session.change_nick(_text_of(command))
    except ValueError as error:
        front.show(f"/nick: {error}", "error")
        return
    front.renamed()


def _me(front: FrontEnd, session: SessionAPI, command: Command) -> None:
    try:
        session.send_text(_text_of(command), action=True)
    except Exception as error:  # the session refuses (too long, stopped...)
        front.show(f"not sent: {error}", "error")


def _info(front: FrontEnd, session: SessionAPI, command: Command) -> None:
    for key, value in session.info().items():
        front.show(f"{key}: {value}")
    for line in front.more_info():
        front.show(line)


def _connect(front: FrontEnd, session: SessionAPI, command: Command) -> Awaitable[None]:
    return _dial(front, session, command.args[0] if command.args else command.rest)


async def _dial(front: FrontEnd, session: SessionAPI, address: str) -> None:
    try:
        await session.connect(address)
    except Exception as error:  # a bad address, our own invite...
        front.show(f"cannot connect to {address}: {error}", "error")


def _peers(front: FrontEnd, session: SessionAPI, command: Command) -> Awaitable[None] | None:
    peers = session.lan_peers
    if command.args:
        try:
            return _dial(front, session, pick_lan_peer(peers, command.args[0]).address)
        except ValueError as error:
            front.show(f"/peers: {error}", "error")
            return None
    for line in describe_lan_peers(peers, front.settings.discoverable):
        front.show(line)
    return None


HANDLERS: dict[str, Handler] = {
    "send": _send,
    "accept": _answer,
    "decline": _answer,
    "cancel": _answer,
    "transfers": _transfers,
    "nick": _nick,
    "me": _me,
    "info": _info,
    "connect": _connect,
    "peers": _peers,
}
SESSION_COMMANDS = frozenset(HANDLERS)
