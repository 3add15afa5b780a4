"""The session-level commands both front ends share (p2pchat.dispatch): what each says, and
what it asks of the session, with a recording front end and a stand-in session."""

from __future__ import annotations

import asyncio

from p2pchat import commands, dispatch
from p2pchat.session.events import TransferInfo
from p2pchat.settings import Settings


class Front:
    def __init__(self) -> None:
        self.settings = Settings(nickname="alice", discoverable=True)
        self.lines: list[tuple[str, str]] = []
        self.answers: list[tuple[int, str]] = []
        self.renames = 0

    def show(self, text: str, level: str = "system") -> None:
        self.lines.append((text, level))

    def offered(self, transfers) -> None:
        self.lines.append(("offered " + ", ".join(t.name for t in transfers), "system"))

    def answered(self, transfer_id: int, done: str) -> None:
        self.answers.append((transfer_id, done))

    def renamed(self) -> None:
        self.renames += 1

    def more_info(self) -> list[str]:
        return ["your address: somewhere"]


class StandIn:
    """Only what the commands touch."""

    def __init__(self) -> None:
        self.transfers = [
            TransferInfo(1, "a.txt", 10, "receive", "offered"),
            TransferInfo(2, "b.txt", 10, "receive", "offered"),
        ]
        self.lan_peers = []
        self.calls: list[tuple] = []

    def accept(self, transfer_id: int) -> None:
        if transfer_id == 9:
            raise ValueError("no transfer #9 (see /transfers)")
        self.calls.append(("accept", transfer_id))

    def change_nick(self, name: str) -> None:
        if "\n" in name or name.startswith("!"):
            raise ValueError("A nickname cannot contain that.")
        self.calls.append(("nick", name))

    def info(self) -> dict[str, str]:
        return {"state": "listening"}

    async def connect(self, address: str) -> None:
        raise ValueError("that is your own address or invite: give it to your peer")


def run(line: str, front: Front, session: StandIn):
    pending = dispatch.run(front, session, commands.parse(line))
    if pending is not None:
        asyncio.run(pending)


def test_accept_asks_which_one_names_a_bad_id_and_reports_what_it_did():
    front, session = Front(), StandIn()
    run("/accept", front, session)
    assert front.lines[-1][1] == "error" and front.lines[-1][0].startswith("/accept: which one? #1 a.txt, #2 b.txt")
    run("/accept 9", front, session)
    assert front.lines[-1] == ("no transfer #9 (see /transfers)", "error")
    run("/accept 2", front, session)
    assert session.calls == [("accept", 2)] and front.answers == [(2, "accepted")]


def test_nick_info_connect_and_peers_say_the_same_in_every_front_end():
    front, session = Front(), StandIn()
    run("/nick !bad", front, session)
    assert front.lines[-1] == ("/nick: A nickname cannot contain that.", "error") and front.renames == 0
    run("/nick bob", front, session)
    assert session.calls == [("nick", "bob")] and front.renames == 1
    run("/info", front, session)
    assert front.lines[-2:] == [("state: listening", "system"), ("your address: somewhere", "system")]
    run("/connect 127.0.0.1:9", front, session)
    assert front.lines[-1] == (
        "cannot connect to 127.0.0.1:9: that is your own address or invite: give it to your peer", "error"
    )
    run("/peers 3", front, session)
    assert front.lines[-1] == ("/peers: nobody announces p2pchat on the local network right now", "error")
    run("/peers", front, session)
    assert front.lines[-1] == ("no other p2pchat announces itself on the local network", "system")


def test_every_session_command_is_a_known_command():
    assert dispatch.SESSION_COMMANDS <= set(commands.COMMANDS)
