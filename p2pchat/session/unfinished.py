"""What one run leaves for the next: the peer it was calling and the files it was sending.

A p2pchat stopped mid-chat without a goodbye (crash, kill -9, power loss) calls again, when
started with no peer named, the peer it had dialed. Files it was sending are offered again
the next time that peer is connected (after any stop, like undelivered messages), and resume
where the receiver stopped. A goodbye (our /quit, or the peer's) ends the call, not the sends.

`Unfinished` decides without I/O; `load_unfinished`/`save_unfinished` keep it in a small JSON
file, rewritten on each change (at most once per percent of a send).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from p2pchat.net.address import parse_address
from p2pchat.reach.target import DialTarget
from p2pchat.session.events import TransferInfo
from p2pchat.transfer.progress import percent


@dataclass(frozen=True)
class LeftSend:
    """A send a previous run did not finish."""

    path: str  # the source, as /send named it
    name: str
    peer: str
    size: int
    done: int

    @property
    def percent(self) -> int:
        return percent(self.done, self.size)


@dataclass
class Unfinished:
    peer: str | None = None  # whom we dialed and were chatting with, pinned on the redial
    addresses: list[str] = field(default_factory=list)  # where we dialed it ("host:port")
    sends: dict[str, LeftSend] = field(default_factory=dict)  # by source path

    # -- the call ---------------------------------------------------------------------
    def called(self, peer: str | None, addresses: list[str]) -> bool:
        """A session we dialed is up. True when the record changed."""
        if (peer, addresses) == (self.peer, self.addresses):
            return False
        self.peer, self.addresses = peer, list(addresses)
        return True

    def call_ended(self) -> bool:
        """A goodbye, or a final refusal: nothing to call after a restart."""
        if not self.addresses:
            return False
        self.peer, self.addresses = None, []
        return True

    def redial_target(self) -> DialTarget | None:
        """What a start with no peer named calls: the peer of the interrupted call, pinned."""
        if not self.addresses:
            return None
        try:
            direct = tuple(parse_address(a) for a in self.addresses)
        except ValueError:
            return None
        return DialTarget(direct, self.peer)

    # -- the sends --------------------------------------------------------------------
    def send_changed(self, info: TransferInfo, peer: str | None) -> bool:
        """A send's state or progress. True when the record changed (a new percent, a new or
        ended send), so writes stay few."""
        if info.direction != "send" or info.path is None or peer is None:
            return False
        path = str(info.path)
        if info.state.final:
            return self.sends.pop(path, None) is not None
        new = LeftSend(path, info.name, peer, info.size, info.done)
        old = self.sends.get(path)
        if old is not None and (old.peer, old.percent) == (new.peer, new.percent):
            return False
        self.sends[path] = new
        return True

    def forget_send(self, path: str) -> bool:
        return self.sends.pop(path, None) is not None

    def sends_for(self, peer: str, left: dict[str, LeftSend]) -> list[LeftSend]:
        """The sends of an earlier run to `peer`, taken out of `left` (each is offered once)."""
        mine = [s for s in left.values() if s.peer == peer]
        for send in mine:
            del left[send.path]
        return mine


def describe_left_send(send: LeftSend, peer: str, exists: bool, *, connected: bool = True) -> str:
    """The line about a send an earlier run left: at the start (`connected` False) or when
    its peer is back."""
    what = f"{send.name} to {peer} was interrupted at {send.percent}% when p2pchat stopped"
    if not exists:
        return f"{what}, and {send.path} is no longer there: not offered again"
    if not connected:
        return f"{what}: it is offered again when {peer} is connected"
    return f"{what}: offering it again (it resumes where it stopped)"


# -- the file ---------------------------------------------------------------------------
def load_unfinished(path: Path) -> Unfinished:
    """The record a previous run left; an empty one when there is none or it is unreadable."""
    try:
        data = json.loads(path.read_text("utf-8"))
        sends = {s["path"]: LeftSend(str(s["path"]), str(s["name"]), str(s["peer"]), int(s["size"]), int(s["done"]))
                 for s in data.get("sends", [])}
        peer = data.get("peer")
        return Unfinished(str(peer) if peer else None, [str(a) for a in data.get("addresses", [])], sends)
    except FileNotFoundError:
        return Unfinished()
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        logger.warning("ignoring {}: {}", path, exc)
        return Unfinished()


def save_unfinished(path: Path, record: Unfinished) -> None:
    data = {
        "peer": record.peer,
        "addresses": record.addresses,
        "sends": [vars(s) for s in record.sends.values()],
    }
    try:
        if not record.addresses and not record.sends:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data), "utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning("cannot write {}: {}", path, exc)
