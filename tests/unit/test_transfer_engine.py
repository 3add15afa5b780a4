"""The transfer engine on its own: two engines wired together in memory, or one engine fed
frames by hand the way a hostile peer would send them. No sockets, no threads, no clock: a
`Side` carries out the engine's effects at once (the disk is a dict of bytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from p2pchat.display import describe, files_line, listing_text, offer_line
from p2pchat.protocol import (
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    OfferBatch,
)
from p2pchat.session.events import TransferOffered, TransferUpdated
from p2pchat.session.transfers import MAX_OPEN_OFFERS, TOO_MANY_OFFERS
from p2pchat.session.transfers.batches import LISTED
from p2pchat.session.transfers.effects import (
    Emit,
    Halt,
    Log,
    Notify,
    Prepare,
    Probe,
    Send,
    Stream,
    Verify,
    Write,
)
from p2pchat.session.transfers.engine import ASK_WAIT, TransferEngine
from p2pchat.session.transfers.jobs import Outbound
from p2pchat.settings import Settings
from p2pchat.transfer import IncomingFile
from p2pchat.transfer.hashing import new_hasher

CHUNK = 1000


def _hex(hash_name: str, data: bytes) -> str:
    hasher = new_hasher(hash_name)
    hasher.update(data)
    return hasher.hexdigest()
PEER = "P" * 52


class Side:
    """One engine and an in-memory disk. Frames it sends go to `outbox`; a `Pair` delivers them."""

    def __init__(self, tmp_path: Path, name: str, **settings) -> None:
        self.name = name
        self.downloads = tmp_path / name
        self.settings = Settings(**settings)
        self.own_id = name[0].upper() * 52  # alice is "AAA...", bob "BBB..."
        self.engine = TransferEngine(self.settings, SimpleNamespace(nickname=name, own_fingerprint=self.own_id), self._incoming)
        self.now = 0.0
        self.outbox: list = []
        self.events: list = []
        self.notices: list[str] = []
        self.halts: list[Halt] = []
        self.streams: list[Stream] = []
        self.disk: dict[int, bytearray] = {}  # received bytes by tid
        self.sources: dict[str, bytes] = {}  # what we offer, by name
        self.stream_at_once = True  # False: leave Stream effects for the test to look at
        self.asked_to_save: list[tuple[str, Path | None]] = []  # downloads made: (name, save as)
        self.held_on_disk = 0  # what part files of an offer hold when it is put to the user

    def _incoming(self, name, size, key, peer_id, save_as):
        self.asked_to_save.append((name, save_as))
        return IncomingFile(save_as.parent if save_as else self.downloads, name, size, key, peer_id,
                            self.settings.max_file_size, save_as=save_as)

    # -- driving it ------------------------------------------------------------------------
    def connect(self, peer_id: str = PEER) -> None:
        self.engine.connected(peer_id, self.now)
        self.carry_out()

    def offer(self, **files: bytes) -> int:
        """Offer files given as name=content (one: a single file; several: a batch)."""
        made = []
        for name, data in files.items():
            name = name.replace("__", "/")
            self.sources[name] = data
            key = hashlib.sha256(name.encode()).hexdigest()
            made.append(Outbound(name, len(data), key, Path("/src") / name))
        local_id = self.engine.offer(made, self.engine.peer_id or PEER, self.now)
        self.carry_out()
        return local_id

    def receive(self, *frames) -> None:
        for frame in frames:
            if isinstance(frame, FileChunk):
                self.engine.chunk(frame, self.now)
            else:
                assert self.engine.receive(frame, self.now)
            self.carry_out()

    def later(self, seconds: float = 1.0) -> None:
        self.now += seconds
        self.engine.tick(self.now)
        self.carry_out()

    def take_sent(self, kind=object) -> list:
        sent = [f for f in self.outbox if isinstance(f, kind)]
        self.outbox = [f for f in self.outbox if not isinstance(f, kind)]
        return sent

    def states(self) -> list[str]:
        return [str(info.state) for info in self.engine.infos()]

    # -- the effects -----------------------------------------------------------------------
    def carry_out(self) -> None:
        while effects := self.engine.take_effects():
            for effect in effects:
                self._do(effect)

    def _do(self, effect) -> None:
        engine, now = self.engine, self.now
        if isinstance(effect, Send):
            self.outbox.append(effect.frame)
        elif isinstance(effect, Emit):
            self.events.append(effect.event)
        elif isinstance(effect, Notify):
            self.notices.append(effect.text)
        elif isinstance(effect, Log):
            pass
        elif isinstance(effect, Probe):
            engine.probed(effect.subject, self.held_on_disk, now)
        elif isinstance(effect, Prepare):
            held = self.disk.setdefault(effect.job.tid, bytearray())
            engine.prepared(effect.job, len(held), None, now)
        elif isinstance(effect, Write):
            held = self.disk[effect.job.tid]
            assert len(held) == effect.offset
            held += effect.data
            engine.written(effect.job, len(held), now)
        elif isinstance(effect, Verify):
            held = bytes(self.disk[effect.job.tid])
            if _hex(effect.hash_name, held) == effect.digest.lower():
                engine.verified(effect.job, self.downloads / effect.job.info.name, now)
            else:
                engine.verify_failed(effect.job, "the file's hash does not match", now)
        elif isinstance(effect, Halt):
            self.halts.append(effect)
        elif isinstance(effect, Stream):
            self.streams.append(effect)
            if self.stream_at_once:
                self.stream(effect)
        else:
            raise AssertionError(f"unexpected effect {effect!r}")

    def stream(self, effect: Stream) -> None:
        job = effect.job
        data = self.sources[job.info.name]
        self.engine.stream_opened(job, effect.offset, self.now)
        for position in range(effect.offset, len(data), CHUNK):
            self.outbox.append(FileChunk(job.tid, position, data[position:position + CHUNK]))
            self.engine.sent(job, min(position + CHUNK, len(data)), self.now)
        self.engine.streamed(job, hashlib.sha256(data).hexdigest(), self.now)
        self.carry_out()


class Pair:
    def __init__(self, a: Side, b: Side) -> None:
        self.a, self.b = a, b

    def connect(self) -> None:
        self.a.connect("B" * 52)
        self.b.connect("A" * 52)
        self.run()

    def run(self, limit: int = 100_000) -> None:
        """Deliver frames both ways until nobody has anything more to say."""
        for _ in range(limit):
            for side, peer in ((self.a, self.b), (self.b, self.a)):
                if side.outbox:
                    peer.receive(side.outbox.pop(0))
                    break
            else:
                return
        raise AssertionError("the engines kept talking")

    def drop(self) -> None:
        """The connection is lost: what was on the wire is gone."""
        for side in (self.a, self.b):
            side.outbox.clear()
            side.engine.disconnected(side.now)
            side.carry_out()


@pytest.fixture
def pair(tmp_path):
    pair = Pair(Side(tmp_path, "alice"), Side(tmp_path, "bob"))
    pair.connect()
    return pair


@pytest.fixture
def bob(tmp_path):
    """A receiver fed by hand, as a hostile peer would."""
    side = Side(tmp_path, "bob")
    side.connect()
    return side


def offered_and_accepted(bob: Side, tid: int, name: str, size: int) -> None:
    bob.receive(FileOffer(tid, name, size, f"key{tid}"))
    bob.engine.accept(bob.engine.infos()[-1].id, now=bob.now)
    bob.carry_out()
    assert bob.take_sent() == [FileAccept(tid, 0)]


def last_state(side: Side) -> str:
    return side.states()[-1]


# -- a file across, in memory ------------------------------------------------------------------
def test_a_file_crosses_byte_for_byte_and_both_sides_say_done(pair):
    data = bytes(range(256)) * 41  # not a whole number of chunks
    pair.a.offer(**{"song.ogg": data})
    pair.run()
    offered = [e for e in pair.b.events if isinstance(e, TransferOffered)]
    assert [e.transfer.name for e in offered] == ["song.ogg"]
    pair.b.engine.accept(offered[0].transfer.id, now=0.0)
    pair.b.carry_out()
    pair.run()
    assert pair.a.states() == ["done"] and pair.b.states() == ["done"]
    assert list(pair.b.disk.values()) == [bytearray(data)]


def test_a_folder_is_one_question_and_its_files_cross_a_few_at_a_time(pair):
    files = {f"pics__{n}.jpg": bytes([n]) * (n * 300 + 1) for n in range(9)}
    pair.a.offer(**files)
    pair.run()
    pair.b.later(1)  # the batch is summed up a moment after its offers
    offered = [e for e in pair.b.events if isinstance(e, TransferOffered)]
    assert [(e.transfer.name, e.transfer.file_count) for e in offered] == [("pics/", 9)]
    pair.b.engine.accept(offered[0].transfer.id, now=pair.b.now)
    for _ in range(20):
        pair.b.later(1)
        pair.run()
        pair.a.later(1)
    assert pair.a.states() == ["done"] and pair.b.states() == ["done"]
    assert sorted(bytes(d) for d in pair.b.disk.values()) == sorted(files.values())


def test_an_interrupted_download_is_offered_again_and_resumes_where_it_stopped(pair):
    data = bytes(range(200)) * 50
    pair.a.offer(**{"big.bin": data})
    pair.run()
    pair.a.stream_at_once = False
    pair.b.engine.accept(pair.b.engine.infos()[0].id, now=0.0)
    pair.b.carry_out()
    pair.run()
    (stream,) = pair.a.streams
    pair.a.engine.stream_opened(stream.job, 0, 0.0)
    pair.a.outbox.append(FileChunk(stream.job.tid, 0, data[:3000]))
    pair.run()
    pair.drop()
    assert pair.a.states() == ["interrupted"] and pair.b.states() == ["interrupted"]
    assert [h.keep_part for h in pair.b.halts] == [True]  # the part file stays for the resume
    pair.a.stream_at_once = True
    pair.connect()
    assert pair.a.streams[-1].offset == 3000
    assert pair.a.states() == ["done"] and pair.b.states() == ["done"]
    assert list(pair.b.disk.values()) == [bytearray(data)]


def test_a_file_offered_while_disconnected_waits_and_goes_out_when_the_peer_is_back(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.offer(**{"note.txt": b"hello"})
    assert alice.states() == ["waiting"] and not alice.outbox
    alice.connect()
    assert [type(f) for f in alice.take_sent()] == [FileOffer]
    assert alice.states() == ["offered"]


def test_a_file_still_being_sent_to_the_peer_is_not_offered_twice(tmp_path):
    alice = Side(tmp_path, "alice")
    first = alice.offer(**{"note.txt": b"hello"})
    with pytest.raises(ValueError, match=f"note.txt is already being sent as #{first}"):
        alice.offer(**{"note.txt": b"hello"})
    assert alice.states() == ["waiting"]
    alice.connect()
    assert [type(f) for f in alice.take_sent()] == [FileOffer]  # one offer, not two


def test_an_offer_for_a_file_already_received_is_answered_again_not_downloaded_twice(bob):
    offered_and_accepted(bob, 7, "once.txt", 3)
    bob.receive(FileChunk(7, 0, b"abc"), FileDone(7, hashlib.sha256(b"abc").hexdigest()))
    assert bob.take_sent() == [FileResult(7, True, "")]
    bob.receive(FileOffer(7, "once.txt", 3, "key7"))  # our FILE_RESULT was lost with the connection
    assert bob.take_sent() == [FileResult(7, True, "")]
    assert bob.states() == ["done"]


# -- hostile senders ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("chunks", "words"),
    [
        ([FileChunk(1, 0, b"x" * 10), FileChunk(1, 10, b"y")], "more data than the announced 10 bytes"),
        ([FileChunk(1, 4, b"x")], "chunk out of order (offset 4, expected 0)"),
        ([FileChunk(1, 0, b"x" * 11)], "more data than the announced 10 bytes"),
        ([FileChunk(1, 0, b"x" * 5), FileChunk(1, 0, b"x" * 5)], "chunk out of order (offset 0, expected 5)"),
    ],
)
def test_chunks_out_of_order_or_past_the_end_fail_the_download_and_discard_it(bob, chunks, words):
    offered_and_accepted(bob, 1, "ten.bin", 10)
    bob.receive(*chunks)
    assert bob.take_sent() == [FileCancel(1, words)]
    assert bob.states() == ["failed"] and bob.engine.infos()[0].reason == words
    assert bob.halts[-1].keep_part is False and bob.halts[-1].final
    bob.receive(FileChunk(1, 10, b"z"))  # more after the failure: dropped quietly
    assert bob.take_sent() == []


def test_chunks_and_done_for_an_unknown_or_unaccepted_transfer_are_refused(bob):
    bob.receive(FileChunk(99, 0, b"never offered"), FileDone(98, "0" * 64))
    assert bob.take_sent() == [
        FileCancel(99, "unknown transfer or not accepted"), FileCancel(98, "unknown transfer")
    ]
    bob.receive(FileOffer(5, "early.bin", 3, "k"))
    bob.receive(FileChunk(5, 0, b"abc"))  # before the user said yes
    assert bob.take_sent() == [
        FileCancel(5, "unknown transfer or not accepted"), FileCancel(5, "chunk before the transfer was accepted")
    ]
    assert bob.states() == ["failed"]


def test_a_late_chunk_is_dropped_quietly(bob):
    offered_and_accepted(bob, 3, "late.bin", 1000)
    bob.receive(FileCancel(3, "changed my mind"))
    assert bob.states() == ["cancelled"]
    bob.receive(FileChunk(3, 0, b"in flight"))
    assert bob.take_sent() == []


def test_a_wrong_hash_fails_the_download(bob):
    offered_and_accepted(bob, 4, "h.bin", 3)
    bob.receive(FileChunk(4, 0, b"abc"), FileDone(4, hashlib.sha256(b"abd").hexdigest()))
    assert bob.take_sent() == [FileResult(4, False, "the file's hash does not match")]
    assert bob.states() == ["failed"]


def test_a_repeated_accept_streams_the_file_once(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    alice.offer(**{"once.bin": b"x" * 5000})
    (offer,) = alice.take_sent(FileOffer)
    alice.receive(FileAccept(offer.tid, 0), FileAccept(offer.tid, 0))
    assert len(alice.streams) == 1
    assert [f.offset for f in alice.take_sent(FileChunk)] == [0, 1000, 2000, 3000, 4000]
    assert len(alice.take_sent(FileDone)) == 1 and alice.outbox == []


def test_an_accept_past_the_end_or_for_an_unknown_offer_is_cancelled(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    alice.offer(**{"short.bin": b"0123456789"})
    (offer,) = alice.take_sent(FileOffer)
    alice.receive(FileAccept(offer.tid, 11))
    assert alice.take_sent() == [FileCancel(offer.tid, "resume offset past the end of the file")]
    assert alice.states() == ["failed"] and not alice.streams
    alice.receive(FileAccept(4242, 0))
    assert alice.take_sent() == [FileCancel(4242, "unknown transfer")]


def test_an_accept_at_the_very_end_is_a_stream_of_nothing(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    alice.offer(**{"short.bin": b"0123456789"})
    (offer,) = alice.take_sent(FileOffer)
    alice.receive(FileAccept(offer.tid, 10))
    assert [s.offset for s in alice.streams] == [10]
    assert alice.take_sent(FileChunk) == [] and len(alice.take_sent(FileDone)) == 1


# -- the open-offer cap ----------------------------------------------------------------------------
def test_our_sender_holds_back_offers_past_the_cap_and_lets_one_go_as_one_ends(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    for n in range(MAX_OPEN_OFFERS + 2):  # as many /sends, each of one file
        alice.offer(**{f"{n:04}.txt": b"x"})
    offers = alice.take_sent(FileOffer)
    assert len(offers) == MAX_OPEN_OFFERS
    assert alice.states().count("waiting") == 2
    alice.receive(FileDecline(offers[0].tid, "not this one"))
    assert [f.name for f in alice.take_sent(FileOffer)] == [f"{MAX_OPEN_OFFERS:04}.txt"]
    held = [info.name for info in alice.engine.infos() if info.state == "waiting"]
    assert held == [f"{MAX_OPEN_OFFERS + 1:04}.txt"]


def test_held_back_offers_wait_for_the_reconnect_and_the_cap_applies_anew(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    for n in range(MAX_OPEN_OFFERS + 1):
        alice.offer(**{f"{n:04}.txt": b"x"})
    alice.outbox.clear()
    alice.engine.disconnected(1.0)
    alice.carry_out()
    alice.connect()
    assert len(alice.take_sent(FileOffer)) == MAX_OPEN_OFFERS
    assert alice.states().count("waiting") == 1


def test_a_folder_of_more_files_than_the_cap_is_offered_whole(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    alice.offer(**{f"many__{n:04}.txt": b"x" for n in range(MAX_OPEN_OFFERS + 2)})
    offers = alice.take_sent(FileOffer)
    assert len(offers) == MAX_OPEN_OFFERS + 2  # a batch counts as one
    assert len({offer.batch.id for offer in offers}) == 1
    assert alice.states() == ["offered"]


def single_offers(count: int, first_tid: int = 1) -> list[FileOffer]:
    return [FileOffer(tid, f"{tid:04}.txt", 1, f"key{tid}") for tid in range(first_tid, first_tid + count)]


def test_the_receiver_keeps_exactly_the_cap_open_and_declines_the_next(bob):
    bob.receive(*single_offers(MAX_OPEN_OFFERS))
    assert bob.take_sent() == []
    bob.receive(*single_offers(1, first_tid=MAX_OPEN_OFFERS + 1))
    assert bob.take_sent() == [FileDecline(MAX_OPEN_OFFERS + 1, TOO_MANY_OFFERS)]
    assert bob.notices == [f"declining the peer's offers: {TOO_MANY_OFFERS}"]  # told once
    bob.engine.decline(1, now=1.0)  # one ends: room for one more
    bob.carry_out()
    bob.take_sent()
    bob.receive(*single_offers(2, first_tid=MAX_OPEN_OFFERS + 2))
    assert bob.take_sent() == [FileDecline(MAX_OPEN_OFFERS + 3, TOO_MANY_OFFERS)]


def test_offers_that_each_open_a_new_batch_count_against_the_cap(bob):
    offers = [FileOffer(n, f"set{n}/a.txt", 1, f"key{n}", OfferBatch(1000 + n, 1, 1, f"set{n}/"))
              for n in range(1, 301)]
    bob.receive(*offers)
    declined = bob.take_sent(FileDecline)
    assert [f.tid for f in declined] == list(range(MAX_OPEN_OFFERS + 1, 301))
    assert {f.reason for f in declined} == {TOO_MANY_OFFERS}
    assert len(bob.engine.infos()) == MAX_OPEN_OFFERS


def test_files_of_an_open_batch_are_not_declined_for_the_cap(bob):
    count = MAX_OPEN_OFFERS + 10
    batch = OfferBatch(91, count, count, "lots/")
    bob.receive(*(FileOffer(n, f"lots/{n:04}", 1, f"key{n}", batch) for n in range(1, count + 1)))
    bob.receive(FileOffer(count + 1, "single.txt", 1, "key-single"))  # the batch counted once: room left
    assert bob.take_sent(FileDecline) == []
    assert len(bob.engine.infos()) == 2


# -- batches answered as one -----------------------------------------------------------------------
def test_a_batch_declined_before_all_its_offers_arrived_declines_the_later_ones(bob):
    batch = OfferBatch(5, 3, 3, "three/")
    bob.receive(FileOffer(1, "three/a", 1, "k1", batch))
    bob.later()
    bob.engine.decline(bob.engine.infos()[0].id, now=bob.now)
    bob.carry_out()
    bob.receive(FileOffer(2, "three/b", 1, "k2", batch), FileOffer(3, "three/c", 1, "k3", batch))
    assert bob.take_sent() == [FileDecline(1, "declined"), FileDecline(2, "declined"), FileDecline(3, "declined")]
    bob.later()
    assert bob.states() == ["declined"]
    assert not [e for e in bob.events if isinstance(e, TransferUpdated) and e.transfer.state == "active"]


def test_a_batch_cancelled_before_all_its_offers_arrived_cancels_the_later_ones(bob):
    batch = OfferBatch(6, 2, 2, "two/")
    bob.receive(FileOffer(1, "two/a", 1, "k1", batch))
    bob.engine.cancel(bob.engine.infos()[0].id, now=bob.now)
    bob.carry_out()
    bob.receive(FileOffer(2, "two/b", 1, "k2", batch))
    assert bob.take_sent() == [FileCancel(1, "cancelled by bob"), FileCancel(2, "cancelled by bob")]


def test_files_beyond_what_a_batch_announced_are_declined_not_left_waiting(bob):
    batch = OfferBatch(77, 1, 1, "two/")
    bob.receive(FileOffer(1, "two/a", 1, "k1", batch))
    bob.later()
    bob.engine.accept(bob.engine.infos()[0].id, now=bob.now)
    bob.later()
    assert bob.take_sent() == [FileAccept(1, 0)]
    bob.receive(FileChunk(1, 0, b"x"), FileDone(1, hashlib.sha256(b"x").hexdigest()))
    assert bob.take_sent() == [FileResult(1, True, "")]
    bob.later()
    assert bob.states() == ["done"]
    bob.receive(FileOffer(2, "two/b", 1, "k2", batch))  # one more than it announced
    assert bob.take_sent() == [FileDecline(2, "this batch is already finished")]


def test_an_offer_too_big_is_declined_with_the_reason(tmp_path):
    bob = Side(tmp_path, "bob", max_file_size=100)
    bob.connect()
    bob.receive(FileOffer(1, "huge.iso", 101, "k"))
    (decline,) = bob.take_sent()
    assert isinstance(decline, FileDecline) and "file too large" in decline.reason
    assert bob.engine.infos() == []


# -- answers and their mistakes --------------------------------------------------------------------
def updates(side: Side) -> list:
    return [e.transfer for e in side.events if isinstance(e, TransferUpdated)]


def test_the_user_cancels_a_download_under_way_and_the_part_file_goes(bob):
    offered_and_accepted(bob, 1, "big.bin", 10)
    bob.receive(FileChunk(1, 0, b"abc"))
    local_id = bob.engine.infos()[0].id
    bob.engine.cancel(local_id, now=1.0)
    bob.carry_out()
    assert bob.take_sent() == [FileCancel(1, "cancelled by bob")]
    info = bob.engine.infos()[0]
    assert (info.state, info.reason) == ("cancelled", "cancelled by you")
    assert bob.halts[-1] == Halt(bob.halts[-1].job, keep_part=False, final=True)
    with pytest.raises(ValueError, match=f"transfer #{local_id} is already cancelled"):
        bob.engine.cancel(local_id, now=2.0)
    with pytest.raises(ValueError, match="no transfer #99"):
        bob.engine.cancel(99, now=2.0)
    assert bob.take_sent() == []


def test_the_user_cancels_a_batch_and_every_unfinished_file_is_cancelled_once(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    local_id = alice.offer(**{"two__a": b"a", "two__b": b"b"})
    a, b = alice.take_sent(FileOffer)
    alice.receive(FileDecline(a.tid, "not that one"))
    alice.engine.cancel(local_id, now=1.0)
    alice.carry_out()
    assert alice.take_sent() == [FileCancel(b.tid, "cancelled by alice")]
    alice.later()
    assert alice.states() == ["cancelled"]
    with pytest.raises(ValueError, match="already cancelled"):
        alice.engine.cancel(local_id, now=3.0)


@pytest.mark.parametrize(
    ("said", "shown"),
    [("cancelled by mallory", "cancelled by mallory"), ("disk on fire", "cancelled by the peer: disk on fire")],
)
def test_a_cancel_from_the_peer_ends_the_download_and_says_who(bob, said, shown):
    offered_and_accepted(bob, 2, "x.bin", 10)
    bob.receive(FileCancel(2, said))
    info = bob.engine.infos()[0]
    assert (info.state, info.reason) == ("cancelled", shown)
    assert bob.halts[-1].keep_part is False and bob.take_sent() == []


def test_a_disk_that_fails_a_write_fails_the_download_as_our_fault(bob):
    offered_and_accepted(bob, 3, "x.bin", 10)
    job = bob.engine.chunk(FileChunk(3, 0, b"ab"), 0.0)
    assert job is not None
    bob.engine.write_failed(job, "no space left on the disk", 1.0)
    bob.carry_out()
    assert bob.take_sent() == [FileResult(3, False, "no space left on the disk")]
    assert bob.states() == ["failed"] and bob.halts[-1].keep_part is False


def test_only_an_offer_waiting_for_an_answer_can_be_accepted_or_declined(tmp_path, bob):
    bob.receive(FileOffer(4, "a.txt", 1, "k"))
    local_id = bob.engine.infos()[0].id
    bob.engine.decline(local_id, "no thanks", now=0.0)
    bob.carry_out()
    assert bob.take_sent() == [FileDecline(4, "no thanks")]
    for answer in (bob.engine.accept, bob.engine.decline):
        with pytest.raises(ValueError, match=f"transfer #{local_id} is not waiting for an answer"):
            answer(local_id, now=1.0)
    alice = Side(tmp_path, "alice")
    alice.connect()
    ours = alice.offer(**{"mine.txt": b"x"})
    with pytest.raises(ValueError, match="not waiting for an answer"):
        alice.engine.accept(ours, now=0.0)


def test_accept_as_saves_under_the_name_chosen(tmp_path, bob):
    bob.receive(FileOffer(5, "a.txt", 1, "k"))
    chosen = tmp_path / "elsewhere" / "b.txt"
    bob.engine.accept(bob.engine.infos()[0].id, chosen, now=0.0)
    bob.carry_out()
    assert bob.asked_to_save == [("a.txt", None), ("a.txt", chosen)]
    assert bob.take_sent() == [FileAccept(5, 0)]


def test_a_resumed_upload_says_where_it_resumed_and_counts_from_there(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    alice.stream_at_once = False
    alice.offer(**{"film.mkv": b"x" * 1000})
    (offer,) = alice.take_sent(FileOffer)
    alice.receive(FileAccept(offer.tid, 300))
    (stream,) = alice.streams
    alice.engine.stream_opened(stream.job, 300, 10.0)
    alice.carry_out()
    assert alice.notices == [f"#{updates(alice)[-1].id} film.mkv: resumed at 30%"]
    info = updates(alice)[-1]
    assert (info.state, info.done, info.resumed_from, info.reason) == ("active", 300, 300, "")
    alice.engine.sent(stream.job, 650, 11.0)
    alice.carry_out()
    assert updates(alice)[-1].done == 650 and updates(alice)[-1].speed == 350
    alice.engine.streamed(stream.job, "ab" * 32, 12.0)
    alice.carry_out()
    assert alice.take_sent() == [FileDone(offer.tid, "ab" * 32)]
    info = updates(alice)[-1]
    assert (info.state, info.done, info.eta) == ("verifying", 1000, 0.0)
    assert alice.engine.sending()
    alice.receive(FileResult(offer.tid, True, ""))
    info = updates(alice)[-1]
    assert (info.state, info.done, info.speed) == ("done", 1000, 350)  # 700 bytes in 2 s
    assert not alice.engine.sending()


def test_a_download_reports_progress_and_where_it_landed(bob):
    offered_and_accepted(bob, 6, "x.bin", 4)
    bob.now = 1.0
    bob.receive(FileChunk(6, 0, b"ab"))
    assert updates(bob)[-1].done == 2
    bob.now = 2.0
    bob.receive(FileChunk(6, 2, b"cd"), FileDone(6, hashlib.sha256(b"abcd").hexdigest()))
    info = updates(bob)[-1]
    assert (info.state, info.done, info.path) == ("done", 4, bob.downloads / "x.bin")
    assert [h.final for h in bob.halts] == [True] and bob.halts[0].keep_part is None


def test_a_batch_is_summed_up_and_started_a_moment_after_its_files_change(bob):
    batch = OfferBatch(8, 2, 2, "pair/")
    bob.receive(FileOffer(1, "pair/a", 1, "k1", batch), FileOffer(2, "pair/b", 1, "k2", batch))
    bob.engine.accept(bob.engine.infos()[0].id, now=bob.now)
    bob.carry_out()
    bob.later(0.049)
    assert bob.take_sent() == [] and updates(bob) == []
    bob.later(0.001)
    assert bob.take_sent() == [FileAccept(1, 0), FileAccept(2, 0)]
    bob.later(1)
    assert [(i.name, i.state, i.file_count) for i in updates(bob)] == [("pair/", "active", 2)]
    bob.later(1)
    assert len(updates(bob)) == 1  # nothing changed: nothing said


def test_a_batch_cut_off_half_way_offers_only_its_unfinished_files_again(pair):
    files = {f"set__{n}.bin": bytes([n]) * 10 for n in range(3)}
    pair.a.offer(**files)
    pair.run()
    pair.b.later()
    pair.b.engine.accept(pair.b.engine.infos()[0].id, now=pair.b.now)
    pair.a.stream_at_once = False
    pair.b.later()
    pair.run()
    first = pair.a.streams[0]
    pair.a.stream(first)  # one file crosses, the others are cut off
    pair.run()
    pair.drop()
    pair.a.stream_at_once = True
    pair.a.connect("B" * 52)
    again = pair.a.take_sent(FileOffer)
    assert sorted(o.name for o in again) == ["set/1.bin", "set/2.bin"]
    assert {(o.batch.files, o.batch.size) for o in again} == {(2, 20)}
    pair.b.connect("A" * 52)
    pair.a.outbox.extend(again)
    pair.run()
    pair.a.later()
    pair.b.later()
    assert pair.a.states() == ["done"] and pair.b.states() == ["done"]


# -- the connection comes and goes ---------------------------------------------------------------
def test_a_lost_connection_interrupts_what_moves_and_withdraws_unanswered_offers(bob):
    offered_and_accepted(bob, 1, "moving.bin", 10)
    bob.receive(FileOffer(2, "unanswered.txt", 1, "k2"))
    batch = OfferBatch(9, 2, 2, "later/")
    bob.receive(FileOffer(3, "later/a", 1, "k3", batch), FileOffer(4, "later/b", 1, "k4", batch))
    bob.engine.accept(bob.engine.infos()[-1].id, now=0.0)  # accepted, not started yet
    bob.engine.disconnected(0.01)
    bob.carry_out()
    by_name = {info.name: info for info in bob.engine.infos()}
    assert (by_name["moving.bin"].state, by_name["moving.bin"].reason) == ("interrupted", "waiting for the peer")
    assert (by_name["unanswered.txt"].state, by_name["unanswered.txt"].reason) == ("cancelled", "the peer disconnected")
    members = [j.info.state for j in bob.engine.every_file() if j.batched]
    assert members == ["offered", "offered"]  # accepted with the batch: they wait to be offered again
    assert [(h.job.info.name, h.keep_part, h.final) for h in bob.halts] == [
        ("moving.bin", True, False), ("unanswered.txt", None, True)
    ]
    assert bob.take_sent() == []  # nothing goes out while disconnected


def test_our_uploads_wait_for_the_peer_when_the_connection_is_lost(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()
    alice.stream_at_once = False
    alice.offer(**{"a.bin": b"x" * 10})
    alice.offer(**{"b.bin": b"y"})
    first, _ = alice.take_sent(FileOffer)
    alice.receive(FileAccept(first.tid, 0))
    alice.engine.disconnected(1.0)
    alice.carry_out()
    assert [(i.state, i.reason) for i in alice.engine.infos()] == [("interrupted", "waiting for the peer")] * 2
    assert alice.halts[-2].job.info.name == "a.bin" and not alice.halts[-2].final
    alice.connect()  # each is offered again under its own id; the receiver says where to resume
    assert sorted(o.tid for o in alice.take_sent(FileOffer)) == sorted(j.tid for j in alice.engine.every_file())
    assert alice.states() == ["offered", "offered"]


def test_a_download_ready_after_the_connection_dropped_waits_with_its_part_file(bob):
    bob.receive(FileOffer(1, "a.bin", 10, "k"))
    bob.engine.accept(bob.engine.infos()[0].id, now=0.0)
    (job,) = list(bob.engine.every_file())
    bob.engine.peer_id = None  # prepared only once the connection is gone
    bob.engine.take_effects()
    bob.engine.prepared(job, 4, None, 1.0)
    bob.carry_out()
    assert bob.take_sent() == [] and bob.states() == ["interrupted"]
    assert bob.halts[-1].keep_part is True and not bob.halts[-1].final


def test_a_restarted_sender_offering_a_file_again_replaces_its_interrupted_row(bob):
    offered_and_accepted(bob, 1, "film.mkv", 10)
    bob.engine.disconnected(1.0)
    bob.connect()
    bob.receive(FileOffer(77, "film.mkv", 10, "key1"))  # same file, a new id after a restart
    old, new = bob.engine.infos()
    assert (old.state, old.reason) == ("cancelled", f"offered again: it goes on as #{new.id}")
    assert new.state == "offered"
    bob.receive(FileOffer(78, "other.mkv", 10, "key2"))
    assert bob.engine.infos()[1].state == "offered"  # another file replaces nothing


def test_an_interrupted_download_offered_again_resumes_without_asking(bob):
    offered_and_accepted(bob, 1, "a.bin", 10)
    bob.receive(FileChunk(1, 0, b"abcd"))
    bob.engine.disconnected(1.0)
    bob.connect()
    bob.receive(FileOffer(1, "a.bin", 10, "key1"))
    assert bob.take_sent() == [FileAccept(1, 4)]
    assert bob.notices == [f"#{updates(bob)[-1].id} a.bin: resumed at 40%"]


def test_quitting_keeps_the_part_files_of_downloads_under_way_only(bob):
    offered_and_accepted(bob, 1, "moving.bin", 10)
    bob.receive(FileOffer(2, "asked.txt", 1, "k2"))
    bob.engine.shutdown(keep_parts=True)
    bob.carry_out()
    assert [(h.job.info.name, h.keep_part, h.final) for h in bob.halts] == [
        ("moving.bin", True, True), ("asked.txt", None, True)
    ]


def test_chunks_that_arrive_while_quitting_are_left_alone(bob):
    offered_and_accepted(bob, 1, "moving.bin", 10)
    bob.receive(FileChunk(1, 0, b"abc"))
    bob.engine.shutdown(keep_parts=True)
    bob.carry_out()
    written = dict(bob.disk)
    bob.receive(FileChunk(1, 3, b"def"), FileChunk(1, 9, b"out of order"), FileDone(1, "0" * 64))
    assert bob.take_sent() == [] and bob.disk == written  # nothing said, nothing written: it resumes
    assert bob.states() == ["active"]


def test_with_auto_accept_files_and_batches_start_without_a_question(tmp_path):
    bob = Side(tmp_path, "bob", auto_accept_files=True)
    bob.connect()
    bob.receive(FileOffer(1, "a.txt", 1, "k1"))
    batch = OfferBatch(5, 1, 1, "f/")
    bob.receive(FileOffer(2, "f/b", 1, "k2", batch))
    bob.later()
    assert bob.take_sent() == [FileAccept(1, 0), FileAccept(2, 0)]
    assert not [e for e in bob.events if isinstance(e, TransferOffered)]


def test_a_file_of_a_batch_that_cannot_be_received_fails_alone(bob):
    batch = OfferBatch(6, 2, 2, "two/")
    bob.receive(FileOffer(1, "two/ok", 1, "k1", batch), FileOffer(2, "two/", 1, "k2", batch))  # a folder with bytes
    (decline,) = bob.take_sent()
    assert isinstance(decline, FileDecline) and decline.tid == 2
    bob.engine.accept(bob.engine.infos()[0].id, now=bob.now)
    bob.later()
    assert bob.take_sent() == [FileAccept(1, 0)]
    bob.receive(FileChunk(1, 0, b"x"), FileDone(1, hashlib.sha256(b"x").hexdigest()))
    bob.later()
    (info,) = bob.engine.infos()
    assert info.state == "failed" and info.reason.startswith("1 of 2 files failed, two/: ")


# -- one number on both sides ----------------------------------------------------------------------
def offered(side: Side) -> list:
    return [e.transfer for e in side.events if isinstance(e, TransferOffered)]


def test_both_sides_show_the_sender_s_number_and_crossing_offers_never_share_one(pair):
    first = pair.a.offer(**{"a.txt": b"a"})
    theirs = pair.b.offer(**{"b.txt": b"b"})  # at the same moment: neither offer has arrived
    second = pair.a.offer(**{"two__x": b"x", "two__y": b"y"})
    pair.run()
    assert (first, second, theirs) == (1, 3, 2)  # alice's id is the decider's: hers are odd
    assert [(t.id, t.name) for t in offered(pair.b)] == [(1, "a.txt"), (3, "two/")]
    assert [(t.id, t.name) for t in offered(pair.a)] == [(2, "b.txt")]
    both = [[(i.id, i.name, i.direction) for i in side.engine.infos()] for side in (pair.a, pair.b)]
    assert both[0] == [(1, "a.txt", "send"), (2, "b.txt", "receive"), (3, "two/", "send")]
    assert both[1] == [(1, "a.txt", "receive"), (2, "b.txt", "send"), (3, "two/", "receive")]


def test_offers_made_again_to_a_restarted_receiver_keep_their_numbers(pair):
    numbers = [pair.a.offer(**{"a.txt": b"a"}), pair.a.offer(**{"x.bin": b"x" * 5000})]
    pair.run()
    pair.drop()
    pair.b.engine = TransferEngine(pair.b.settings, SimpleNamespace(nickname="bob", own_fingerprint="B" * 52),
                                   pair.b._incoming)  # the receiver restarted: it lists nothing
    pair.b.events.clear()
    pair.connect()
    assert numbers == [1, 3] and [t.id for t in offered(pair.b)] == numbers


def test_a_number_used_again_by_a_restarted_peer_replaces_what_had_it(bob):
    bob.receive(FileOffer(1, "old.txt", 1, "k1", number=2), FileOffer(2, "moving.bin", 10, "k2", number=4))
    bob.engine.decline(2, now=bob.now)
    bob.engine.accept(4, now=bob.now)
    bob.carry_out()
    bob.receive(FileChunk(2, 0, b"abc"))
    bob.engine.disconnected(1.0)
    bob.carry_out()
    bob.connect()  # the peer restarted: it knows neither any more, and numbers from 2 again
    bob.receive(FileOffer(10, "new.txt", 1, "k10", number=2), FileOffer(11, "other.bin", 5, "k11", number=4))
    assert [(i.id, i.name, i.state) for i in bob.engine.infos()] == [(2, "new.txt", "offered"), (4, "other.bin", "offered")]
    gone = [t for t in updates(bob) if t.name == "moving.bin"][-1]
    assert (gone.id, gone.state, gone.reason) == (4, "cancelled", "the peer no longer offers it")
    assert [h.keep_part for h in bob.halts if h.job.info.name == "moving.bin"] == [True, None]  # part kept
    assert bob.notices == []


def test_a_number_the_peer_cannot_mean_is_replaced_here_and_said(tmp_path):
    alice = Side(tmp_path, "alice")
    alice.connect()  # "AAA..." before "PPP...": alice's numbers are odd
    ours = alice.offer(**{"mine.txt": b"x"})
    alice.take_sent()
    alice.receive(FileOffer(50, "theirs.txt", 1, "k50", number=ours))  # it claims alice's own number
    alice.receive(FileOffer(51, "older.txt", 1, "k51"))  # a peer that sends no number
    assert [(i.id, i.name) for i in alice.engine.infos()] == [(1, "mine.txt"), (3, "theirs.txt"), (5, "older.txt")]
    assert alice.notices == ["the peer numbers its offer #1, which is taken here: here it is #3"]
    assert [i.state for i in alice.engine.infos()] == ["offered"] * 3 and alice.take_sent() == []


# -- a batch names its files before it is answered --------------------------------------------------
def test_a_folder_is_asked_about_once_its_files_are_in_naming_the_first_ones(bob):
    batch = OfferBatch(5, 40, 40 * 1000, "photos/")
    offers = [FileOffer(n, f"photos/{n:02}.jpg", 1000, f"k{n}", batch, 2) for n in range(1, 41)]
    bob.receive(*offers[:39])
    assert offered(bob) == []  # the question waits for the rest of the folder
    bob.receive(offers[39])
    (info,) = offered(bob)
    assert (info.id, info.name, info.file_count) == (2, "photos/", 40)
    assert info.listing == tuple((f"{n:02}.jpg", 1000) for n in range(1, LISTED + 1))
    assert files_line(info) == ("#2 photos/: 01.jpg (1000 B), 02.jpg (1000 B), 03.jpg (1000 B), 04.jpg (1000 B), "
                                "05.jpg (1000 B) and 35 more, 39.1 KiB in all")


def test_a_batch_whose_files_are_late_is_asked_about_with_those_that_came(bob):
    batch = OfferBatch(6, 3, 3, "late/")
    bob.receive(FileOffer(1, "late/a", 1, "k1", batch, 2))
    bob.later(ASK_WAIT - 0.1)
    assert offered(bob) == []
    bob.later(0.1)
    (info,) = offered(bob)
    assert (info.listing, info.file_count) == ((("a", 1),), 3)
    assert listing_text(info) == "a (1 B) and 2 more, 3 B in all"


def test_a_hostile_batch_is_named_and_listed_by_what_lands_here_and_the_list_is_bounded(bob):
    batch = OfferBatch(9, 5000, 5000, "\x1b]0;owned\x07../../")
    names = ["../../etc/passwd", "../../etc/\x1b[2Jred.txt", *(f"../../etc/{n}" for n in range(4998))]
    bob.receive(*(FileOffer(tid, name, 1, f"k{tid}", batch, 2) for tid, name in enumerate(names, 1)))
    (info,) = offered(bob)
    assert info.name == "etc/"
    assert info.listing[:3] == (("passwd", 1), ("_[2Jred.txt", 1), ("0", 1)) and len(info.listing) == LISTED
    line = files_line(info)
    assert line.startswith("#2 etc/: passwd (1 B), _[2Jred.txt (1 B), 0 (1 B), 1 (1 B), 2 (1 B) and 4995 more")
    assert "\x1b" not in line and "\x07" not in line
    assert bob.take_sent() == [] and bob.notices == []


def test_a_batch_with_a_file_refused_here_is_still_asked_about(bob):
    batch = OfferBatch(8, 3, 3, "set/")
    bob.receive(FileOffer(1, "set/a", 1, "k1", batch, 2), FileOffer(2, "../..", 1, "k2", batch, 2))
    bob.later()  # summed up before the last offer comes
    bob.receive(FileOffer(3, "set/b", 1, "k3", batch, 2))
    (info,) = offered(bob)
    assert (info.state, info.listing, info.file_count) == ("offered", (("a", 1), ("b", 1)), 3)
    assert [f.tid for f in bob.take_sent(FileDecline)] == [2]  # refused on its own, with its reason


# -- an offer that resumes says so everywhere with one percentage -----------------------------------
def test_an_offer_that_resumes_counts_what_is_here_as_done(bob):
    bob.held_on_disk = 300
    bob.receive(FileOffer(1, "film.mkv", 1000, "k", number=2))
    (info,) = offered(bob)
    assert (info.resumed_from, info.done) == (300, 300)  # the panel's row: 30%
    assert offer_line(info, "alice") == "alice offers #2 film.mkv (1000 B, resumes an interrupted download at 30%)"
    assert describe(bob.engine.infos()[0]) == "#2 <- film.mkv 300 B/1000 B offered (resumes an interrupted download at 30%)"


def test_a_batch_that_resumes_keeps_its_part_files_counted_until_its_files_start(bob):
    bob.held_on_disk = 1500
    batch = OfferBatch(7, 3, 3000, "album/")
    bob.receive(*(FileOffer(n, f"album/{n}.bin", 1000, f"k{n}", batch, 2) for n in (1, 2, 3)))
    (info,) = offered(bob)
    assert (info.done, info.resumed_from) == (1500, 1500)
    bob.later()  # summed up again: what is here stays counted
    assert [(i.state, i.done, i.resumed_from) for i in bob.engine.infos()] == [("offered", 1500, 1500)]
    bob.disk[1], bob.disk[2] = bytearray(1000), bytearray(500)  # where the part files leave off
    bob.engine.accept(2, now=bob.now)
    bob.later()
    assert bob.take_sent() == [FileAccept(1, 1000), FileAccept(2, 500), FileAccept(3, 0)]
    bob.later()
    assert [(i.state, i.done, i.resumed_from) for i in bob.engine.infos()] == [("active", 1500, 1500)]
