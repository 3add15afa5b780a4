"""What a long session keeps in memory stays bounded: each store holds what it is for, and
the history on disk answers for everything older."""

from __future__ import annotations

import asyncio
import io
import platform
import tracemalloc

import pytest
from test_session_parts import BOB, Here

from p2pchat.heap import return_free_memory, tune
from p2pchat.history import History, StoredMessage
from p2pchat.plain import PlainFrontEnd
from p2pchat.protocol import Ack, Text, new_message_id
from p2pchat.session.chat import Chat
from p2pchat.session.events import ChatMessage, MessageReceived, TransferInfo, TransferUpdated
from p2pchat.session.store import HistoryStore
from p2pchat.session.transfers import FINISHED_KEPT, Transfers
from p2pchat.settings import Settings


@pytest.fixture
def chat(here, tmp_path):
    part = Chat(here, here, HistoryStore(History.open(tmp_path / "history.sqlite3")), clock=lambda: 1000.0)
    yield part
    part.close()


@pytest.fixture
def here():
    return Here()


def receive(chat: Chat, here: Here, frames: list[Text]) -> list[str]:
    """Bodies shown for these frames; the stand-ins forget what they recorded."""
    wire = here.connection
    for frame in frames:
        chat.on_text(wire, frame)
    shown = [e.message.body for e in here.of(MessageReceived)]
    assert wire.sent == [Ack(f.id) for f in frames]  # every one acknowledged, shown or not
    here.events.clear()
    wire.sent.clear()
    return shown


def lines(first: int, count: int) -> list[Text]:
    return [Text(new_message_id(), 5.0, f"line {n}", False) for n in range(first, first + count)]


def test_received_messages_leave_nothing_behind_in_memory(chat, here):
    chat.connected(here.connect(BOB), BOB, show_history=False)
    receive(chat, here, lines(0, 500))  # caches and statements warmed up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for start in range(500, 5500, 500):
            receive(chat, here, lines(start, 500))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # A remembered id costs about 100 bytes: 5,000 of them would be ~500 KB.
    assert grown < 64 * 1024


def test_an_old_message_sent_again_is_still_shown_once(chat, here, tmp_path):
    chat.connected(here.connect(BOB), BOB, show_history=False)
    first = lines(0, 1)
    assert receive(chat, here, first) == ["line 0"]
    assert len(receive(chat, here, lines(1, 3000))) == 3000
    assert receive(chat, here, first) == []  # the history knows it
    again = Chat(here, here, HistoryStore(History.open(tmp_path / "history.sqlite3")), clock=lambda: 0.0)
    try:  # and so does the next run
        again.connected(here.connect(BOB), BOB, show_history=False)
        assert receive(again, here, first) == []
        assert receive(again, here, lines(3001, 1)) == ["line 3001"]
    finally:
        again.close()


def message(n: int, *, outgoing: bool = False, state: str = "delivered") -> StoredMessage:
    return StoredMessage(f"{n:032x}", "bob", f"line {n}", float(n), outgoing, state=state)


def test_with_the_history_off_the_store_keeps_the_latest_and_the_undelivered():
    with History.memory(keeps=1000) as history:
        history.add(BOB, message(0, outgoing=True, state="pending"))
        for n in range(1, 5000):
            history.add(BOB, message(n))
        count = history._db.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert count <= 1000 + 1000 + 1  # the kept ones, one pruning's worth, the pending one
        assert [m.id for m in history.pending(BOB)] == [message(0).id]
        assert [m.body for m in history.recent(BOB, 3)] == ["line 4997", "line 4998", "line 4999"]
        assert not history.add(BOB, message(4500))  # a recent id is still known


async def test_finished_transfers_are_a_bounded_list(here, tmp_path):
    transfers = Transfers(here, here, Settings(), tmp_path / "downloads")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "folder").mkdir()
    for name in ("a", "b"):
        (tmp_path / "folder" / name).write_text(name)
    batch = (await transfers.offer([tmp_path / "folder"]))[0]  # the oldest: a batch of two
    transfers.cancel(batch)
    for _ in range(FINISHED_KEPT + 49):
        (local_id,) = await transfers.offer([tmp_path / "notes.txt"])
        transfers.cancel(local_id)
    live = (await transfers.offer([tmp_path / "notes.txt"]))[0]  # still waiting for the peer
    await asyncio.sleep(0.1)  # the batch's summary
    (newest,) = await transfers.offer([tmp_path / "notes.txt"])
    transfers.cancel(newest)
    shown = [info.id for info in transfers.infos()]
    assert shown == [*range(live - 2 * (FINISHED_KEPT - 1), live, 2), live, newest]  # ours are every other
    assert len(transfers.engine._outgoing) == FINISHED_KEPT + 1  # what is forgotten holds nothing


class Terminal(io.TextIOBase):
    """Counts the lines written to it and keeps none."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def test_plain_mode_keeps_no_scrollback():
    out, err = Terminal(), Terminal()
    front = PlainFrontEnd(Settings(nickname="alice"), out=out, err=err, clock=lambda: 0.0)

    def events(first: int, count: int):
        for n in range(first, first + count):
            yield MessageReceived(ChatMessage(new_message_id(), "bob", f"line {n}", 5.0, False, False, "delivered"))
            if n % 50 == 0:  # and now and then a file, from its first progress line to its result
                yield TransferUpdated(TransferInfo(n, "a.bin", 10, "receive", "active", done=5))
                yield TransferUpdated(TransferInfo(n, "a.bin", 10, "receive", "done", done=10))

    for event in events(0, 500):
        front.on_event(event)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for event in events(500, 5000):
            front.on_event(event)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert out.lines == 5500 + 110
    assert grown < 16 * 1024  # a line kept per message would be ~500 KB


def resident_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap")
def test_freed_transfer_buffers_go_back_to_the_system():
    tune()  # as the command line does: chunk-sized buffers come from the heap
    buffers = [bytearray(1 << 20) for _ in range(64)]  # touched, so resident
    pinned = buffers[-1]  # one still in use above the rest keeps the heap from shrinking
    del buffers
    before = resident_mib()
    return_free_memory()
    assert before - resident_mib() > 32
    assert len(pinned) == 1 << 20
