"""Plain mode's trust question: asked on one line, answered by the next y/n line; other lines
go on as chat. A changed key takes the whole word `accept`, as in the app."""

from __future__ import annotations

import io

import pytest

from p2pchat.plain import PlainFrontEnd
from p2pchat.session.events import IdentityPrompt, IdentityPromptExpired, PeerInfo
from p2pchat.settings import Settings

PEER = PeerInfo("bob", "127.0.0.1:5000", "NBSWY3DPEB3W64TMMQQQ2LKNNWG23TPONBSWY3DPEB3W64TMMQQQ", "NBSW-Y3DP",
                encrypted=True, verified=False, known=False)


class Answers:
    """The part of the session API these lines reach: what was answered, what was sent."""

    def __init__(self) -> None:
        self.on_event = None
        self.answers: list[bool] = []
        self.sent: list[str] = []
        self.peer = PEER  # connected: chat lines go out at once

    def answer_identity(self, accept: bool) -> None:
        self.answers.append(accept)

    def send_text(self, body: str, *, action: bool = False) -> str:
        self.sent.append(body)
        return "m1"


def front_end() -> tuple[PlainFrontEnd, Answers, io.StringIO]:
    out, session = io.StringIO(), Answers()
    return PlainFrontEnd(Settings(nickname="alice"), out=out, session=session, asks=True), session, out


async def test_a_new_peer_is_asked_about_and_chat_lines_are_not_answers():
    front, session, out = front_end()
    front.on_event(IdentityPrompt(PEER, "unknown"))
    assert out.getvalue() == ("* new peer bob at 127.0.0.1:5000, fingerprint NBSW-Y3DP-EB3W-64TM-MQQQ-2LKN-"
                              "NWG2-3TPO-NBSW-Y3DP-EB3W-64TM-MQQQ: trust it? Type y or n (other lines are sent as usual)\n")
    await front.handle_line("yes please, soon\n")
    await front.handle_line("Y\n")
    await front.handle_line("y\n")  # the question is closed: just a chat line now
    assert session.answers == [True] and session.sent == ["yes please, soon", "y"]


async def test_a_changed_key_takes_the_word_accept_and_n_refuses():
    front, session, out = front_end()
    front.on_event(IdentityPrompt(PEER, "changed", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UMFRGGZDFMZTWQ2LKNNWA"))
    assert "presents a DIFFERENT key" in out.getvalue() and "Type accept to trust the new key" in out.getvalue()
    await front.handle_line("y\n")  # too quick for a changed key: neither an answer nor chat
    assert out.getvalue().endswith("* a changed key takes the word accept, or n to refuse\n")
    await front.handle_line("accept\n")
    assert session.answers == [True] and session.sent == []
    front.on_event(IdentityPrompt(PEER, "changed", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UMFRGGZDFMZTWQ2LKNNWA"))
    await front.handle_line("n\n")
    assert session.answers == [True, False]


@pytest.mark.parametrize(("withdrawn", "why"), [(False, "not answered in time"), (True, "the connection ended first")])
async def test_an_expired_question_takes_no_answer_and_a_late_y_is_not_sent_unasked(withdrawn, why):
    front, session, out = front_end()
    front.on_event(IdentityPrompt(PEER, "unknown"))
    front.on_event(IdentityPromptExpired(PEER, withdrawn=withdrawn))
    assert out.getvalue().endswith(f"* the question about bob's key is closed: {why}\n")
    await front.handle_line("y\n")  # meant for the question: as chat it would reach the next peer
    assert session.answers == [] and session.sent == []
    assert out.getvalue().endswith("* no question is open (the one about bob's key was closed): 'y' was not sent; "
                                   "type it again to send it\n")
    await front.handle_line("y\n")
    assert session.sent == ["y"]
