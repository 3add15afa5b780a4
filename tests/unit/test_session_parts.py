"""The session's parts on their own: chat, transfers and trust, each given the narrow context
it asks for (a reporter and a peer link), with a stand-in for the live connection."""

from __future__ import annotations

import asyncio

import pytest

from p2pchat.history import History
from p2pchat.net.connection import ConnectionClosed
from p2pchat.paths import Paths
from p2pchat.protocol import (
    Ack,
    Bye,
    FileAccept,
    FileCancel,
    FileDecline,
    FileOffer,
    Hello,
    Text,
)
from p2pchat.session.chat import Chat
from p2pchat.session.events import (
    HistoryLoaded,
    MessageDelivered,
    MessageReceived,
    MessageSent,
    Notice,
    PeerInfo,
    TransferOffered,
)
from p2pchat.session.handshake.machine import PeerRefused
from p2pchat.session.store import HistoryStore
from p2pchat.session.transfers import Transfers
from p2pchat.session.trust import Trust
from p2pchat.settings import Settings

BOB, CAROL = "B" * 52, "C" * 52


class Wire:
    """Stands in for the live connection: keeps the frames sent on it."""

    def __init__(self, *, dialed: bool = True, encrypted: bool = False) -> None:
        self.sent: list = []
        self.dialed = dialed
        self.encrypted = encrypted
        self.peer_address = "192.0.2.7:8080"
        self.peer_host = "192.0.2.7"
        self.relay: str | None = None  # HOST:PORT of a transit relay carrying it
        self.invite_secret: str | None = None  # glued on this pending invite's relay token
        self.ssl_object = None  # no TLS object: no key to keep
        self.closed = False

    def send(self, frame) -> None:
        if self.closed:
            raise ConnectionClosed("closed")
        self.sent.append(frame)

    def close(self) -> None:
        self.closed = True


class Here:
    """Reporter and peer link for a part: keeps events; the test says who is connected."""

    def __init__(self) -> None:
        self.events: list = []
        self.connection: Wire | None = None
        self.peer: PeerInfo | None = None
        self.peer_id: str | None = None
        self.last_peer_id: str | None = None
        self.nickname = "alice"
        self.own_fingerprint = "A" * 52

    def emit(self, event) -> None:
        self.events.append(event)

    def notice(self, text: str, level: str = "info") -> None:
        self.events.append(Notice(text, level))

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def connect(self, peer_id: str, nickname: str = "bob") -> Wire:
        self.connection = Wire()
        self.peer_id = self.last_peer_id = peer_id
        self.peer = PeerInfo(nickname, "192.0.2.7:8080", "", "", False)
        return self.connection

    def lose(self) -> None:
        self.connection, self.peer, self.peer_id = None, None, None


@pytest.fixture
def here():
    return Here()


@pytest.fixture
def chat(here):
    part = Chat(here, here, HistoryStore(History.memory()), clock=lambda: 1000.0)
    yield part
    part.close()


# -- chat ----------------------------------------------------------------------------------
def test_a_message_written_while_disconnected_goes_out_when_the_peer_is_back(chat, here):
    first = chat.send_text("one", False)
    second = chat.send_text("two", False)
    assert [e.message.state for e in here.of(MessageSent)] == ["pending", "pending"]
    wire = here.connect(BOB)
    chat.connected(wire, BOB, show_history=False)
    assert [f.id for f in wire.sent] == [first, second]


def test_a_message_queued_for_one_peer_never_reaches_another(chat, here):
    chat.connected(here.connect(BOB), BOB, show_history=False)
    here.lose()
    chat.send_text("for bob only", False)
    carol = here.connect(CAROL, "carol")
    chat.connected(carol, CAROL, show_history=False)
    assert carol.sent == []
    bob = here.connect(BOB)
    chat.connected(bob, BOB, show_history=False)
    assert [f.body for f in bob.sent] == ["for bob only"]


def test_an_ack_marks_the_message_delivered(chat, here):
    wire = here.connect(BOB)
    chat.connected(wire, BOB, show_history=False)
    message_id = chat.send_text("hi", False)
    chat.on_ack(Ack(message_id))
    chat.on_ack(Ack(message_id))  # a repeated ack changes nothing
    assert [e.id for e in here.of(MessageDelivered)] == [message_id]
    assert not chat.unacked


def test_a_resent_message_is_acknowledged_again_but_shown_once(chat, here):
    wire = here.connect(BOB)
    chat.connected(wire, BOB, show_history=False)
    frame = Text("m" * 32, 5.0, "hello", False)
    chat.on_text(wire, frame)
    chat.on_text(wire, frame)
    assert wire.sent == [Ack(frame.id), Ack(frame.id)]
    assert [e.message.body for e in here.of(MessageReceived)] == ["hello"]


def test_the_history_with_a_peer_is_shown_once_it_connects(chat, here):
    wire = here.connect(BOB)
    chat.connected(wire, BOB, show_history=False)
    chat.on_text(wire, Text("m" * 32, 5.0, "earlier", False))
    here.lose()
    chat.connected(here.connect(BOB), BOB, show_history=True)  # already loaded this run
    assert not here.of(HistoryLoaded)
    again = Chat(here, here, chat.history, clock=lambda: 0.0)  # the next run
    again.connected(here.connect(BOB), BOB, show_history=True)
    (loaded,) = here.of(HistoryLoaded)
    assert [m.body for m in loaded.messages] == ["earlier"]


def test_message_limits(chat):
    with pytest.raises(ValueError, match="empty"):
        chat.send_text("   ", False)
    with pytest.raises(ValueError, match="too long"):
        chat.send_text("x" * 70_000, False)


# -- transfers -----------------------------------------------------------------------------
@pytest.fixture
def transfers(here, tmp_path):
    return Transfers(here, here, Settings(max_file_size=1000), tmp_path / "downloads")


async def test_a_file_offered_while_disconnected_is_offered_when_the_peer_is_back(transfers, here, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (local_id,) = await transfers.offer([tmp_path / "notes.txt"])
    assert transfers.infos()[0].state == "waiting"
    wire = here.connect(BOB)
    transfers.on_connected(wire, BOB)
    (offer,) = wire.sent
    assert isinstance(offer, FileOffer) and offer.name == "notes.txt" and offer.size == 5
    assert transfers.infos()[0].state == "offered" and transfers.sending()
    await transfers.shutdown(keep_parts=False)


def test_an_offer_too_big_is_declined_with_a_notice(transfers, here):
    wire = here.connect(BOB)
    transfers.on_frame(wire, FileOffer(7, "big.iso", 10_000, "k" * 64))
    (decline,) = wire.sent
    assert isinstance(decline, FileDecline) and decline.tid == 7
    assert "declined an offer of 'big.iso'" in here.of(Notice)[0].text
    assert transfers.infos() == []


async def test_an_offer_is_shown_then_declined(transfers, here):
    wire = here.connect(BOB)
    transfers.on_frame(wire, FileOffer(7, "a.txt", 10, "k" * 64))
    while not here.of(TransferOffered):  # shown once the download folder was looked at for a part file
        await asyncio.sleep(0.01)
    (offered,) = here.of(TransferOffered)
    with pytest.raises(ValueError, match="no transfer #9"):
        transfers.decline(9)
    transfers.decline(offered.transfer.id, "no thanks")
    assert wire.sent == [FileDecline(7, "no thanks")]
    assert transfers.infos()[0].state == "declined"
    with pytest.raises(ValueError, match="already declined"):
        transfers.cancel(offered.transfer.id)


def test_an_accept_for_an_unknown_transfer_is_cancelled(transfers, here):
    wire = here.connect(BOB)
    transfers.on_frame(wire, FileAccept(42, 0))
    assert wire.sent == [FileCancel(42, "unknown transfer")]


# -- trust ---------------------------------------------------------------------------------
def make_trust(here, tmp_path, policy: str, *, tls: bool = True, interactive: bool = False) -> Trust:
    paths = Paths(tmp_path / "config", tmp_path / "data", tmp_path / "logs", tmp_path / "downloads")
    trust = Trust(here, here, tls=tls, accept_unknown=policy, paths=paths, interactive=interactive)
    trust.load()
    return trust


async def test_without_tls_every_peer_is_talked_to_and_said_to_be_unencrypted(here, tmp_path):
    trust = make_trust(here, tmp_path, "never", tls=False)
    await trust.approve(Wire(), Hello(1, "bob", BOB, [], None), BOB, dialed=True)
    assert len(trust.own_id) == 32
    assert trust.describe_own().startswith("UNENCRYPTED")
    assert trust.short_code(BOB) == ""


async def test_an_unknown_identity_is_refused_when_the_policy_says_never(here, tmp_path):
    trust = make_trust(here, tmp_path, "never")
    wire = Wire(encrypted=True)
    with pytest.raises(PeerRefused) as refused:
        await trust.approve(wire, Hello(1, "bob", BOB, [], None), BOB, dialed=True)
    assert refused.value.final and "unknown identity" in str(refused.value)
    assert wire.sent == [Bye("identity refused")] and wire.closed


async def test_the_fingerprint_the_user_dialed_needs_no_question(here, tmp_path):
    trust = make_trust(here, tmp_path, "never")
    await trust.approve(Wire(encrypted=True), Hello(1, "bob", BOB, [], None), BOB, dialed=True, named=BOB)


async def test_an_unknown_identity_is_taken_with_a_notice_when_nobody_can_be_asked(here, tmp_path):
    trust = make_trust(here, tmp_path, "ask", interactive=False)
    await trust.approve(Wire(encrypted=True), Hello(1, "bob", BOB, [], None), BOB, dialed=False)
    assert "new identity" in here.of(Notice)[0].text


def test_a_remembered_peer_is_known_next_time(here, tmp_path):
    trust = make_trust(here, tmp_path, "never")
    here.connect(BOB)
    trust.remember(PeerInfo("bob", "192.0.2.7:8080", BOB, "", True), BOB)
    assert make_trust(here, tmp_path, "never").known.check(BOB, "bob").status == "known"
