"""The codec fed by plain function calls: every frame, every split of the stream, every limit."""

from __future__ import annotations

import json
import random
import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2pchat.protocol import (
    ERROR_CODES,
    FRAME_CLASSES,
    MAGIC,
    MAX_CHUNK_DATA,
    MAX_FRAME,
    MAX_TEXT_BYTES,
    MAX_TRANSFER_NUMBER,
    Ack,
    Busy,
    Bye,
    Candidate,
    Candidates,
    Decoder,
    Error,
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    FrameType,
    Hello,
    Nick,
    OfferBatch,
    Ping,
    Pong,
    ProtocolError,
    Ready,
    Sync,
    Text,
    encode,
    encode_chunk_header,
)

SHA = "0123456789abcdef" * 4
TOP_TID = (1 << 64) - 1
TOP_OFFSET = (1 << 63) - 1

SAMPLES = [
    Hello(1, "alice", "ABCD-EFGH", ("files", "resume", "acks"), None),
    Hello(1, "Zoë 🐍", "0" * 32, (), "f" * 32),
    Ready(None),
    Ready("a" * 32),
    Text("m1", 1700000000.25, "hello\nworld", False),
    Text("m2", 0, "waves", True),
    Ack("m1"),
    Nick("bob"),
    FileOffer(1, "dir/sub/file.txt", TOP_OFFSET, "key"),
    FileOffer(2, "photos/a.jpg", 10, "key", OfferBatch(TOP_TID, 8, TOP_OFFSET, "photos/")),
    FileOffer(3, "photos/b.jpg", 10, "key", OfferBatch(TOP_TID, 8, TOP_OFFSET, "photos/"), 7),
    FileAccept(TOP_TID, 12345),
    FileDecline(7, "too large (limit 16 GiB)"),
    FileChunk(7, 0, b"\x00\xff" * 100),
    FileChunk(TOP_TID, TOP_OFFSET, b""),
    FileDone(7, SHA),
    FileDone(7, blake3=SHA),
    FileResult(7, True, ""),
    FileResult(7, False, "hash mismatch"),
    FileCancel(7, "cancelled"),
    Ping(12.5),
    Pong(-3),
    Candidates(1, "port-preserving NAT", [Candidate("203.0.113.11", 7000, "public"), Candidate("2001:db8::5", 7000, "local")]),
    Candidates(3, "unknown", []),
    Sync(2),
    Busy("already in a chat"),
    Bye("quit"),
    Error("bad_frame", "TEXT.ts must be a number"),
]


def stream_of(frames, magic=True) -> bytes:
    return (MAGIC if magic else b"") + b"".join(encode(frame) for frame in frames)


def raw(frame_type: int, payload) -> bytes:
    """A frame with any payload: a dict becomes JSON, bytes go as they are."""
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    return struct.pack(">IB", len(payload), frame_type) + payload


def decode_all(data: bytes, pieces=None, **options) -> list:
    decoder = Decoder(**options)
    frames = []
    for piece in pieces or [data]:
        decoder.receive_data(piece)
        frames.extend(decoder)
    return frames


def decode_error(data: bytes, **options) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode_all(data, **options)
    return caught.value


def split_at(data: bytes, cuts) -> list[bytes]:
    edges = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


# Round trips and splits


def test_samples_cover_every_frame_type():
    assert {type(frame) for frame in SAMPLES} == set(FRAME_CLASSES)
    assert {cls.TYPE for cls in FRAME_CLASSES} == set(FrameType)


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda frame: type(frame).__name__)
def test_round_trip(frame):
    assert decode_all(stream_of([frame])) == [frame]


def test_one_byte_at_a_time():
    data = stream_of(SAMPLES)
    assert decode_all(data, [data[i : i + 1] for i in range(len(data))]) == SAMPLES


def test_all_at_once_as_memoryview_and_bytearray():
    data = stream_of(SAMPLES)
    assert decode_all(data, [memoryview(data)]) == SAMPLES
    assert decode_all(data, [bytearray(data)]) == SAMPLES


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=30), st.booleans())
def test_any_split(cuts, as_views):
    data = stream_of(SAMPLES)
    pieces = split_at(data, [cut % (len(data) + 1) for cut in cuts])
    if as_views:
        pieces = [memoryview(bytearray(piece)) for piece in pieces]
    assert decode_all(data, pieces) == SAMPLES


def test_many_frames_in_one_read():
    frames = [Text(f"id{i}", i, f"message {i}") for i in range(5000)]
    assert decode_all(stream_of(frames)) == frames


def test_large_chunks_in_random_reads():
    rng = random.Random(7)
    frames = [FileChunk(3, i * 300_000, rng.randbytes(300_000)) for i in range(4)]
    data = stream_of(frames)
    pieces = split_at(data, rng.sample(range(len(data)), 40))
    assert decode_all(data, pieces) == frames


def test_chunk_payload_is_copied_at_most_once():
    chunk = FileChunk(1, 0, bytes(range(256)) * 1024)
    data = stream_of([chunk])
    # Whole in immutable input: the frame is a view of that input, no copy at all.
    (whole,) = decode_all(data)
    assert isinstance(whole.data, memoryview) and whole.data.obj is data
    # Split across reads: assembled once, in a buffer holding exactly this frame's payload.
    (split,) = decode_all(data, split_at(data, [10, 1000, 100_000]))
    assert isinstance(split.data, memoryview)
    assert len(split.data.obj) == len(chunk.data) + 16
    assert split == chunk


def test_callers_buffer_is_not_held():
    # A network layer reuses and resizes its receive buffer right after the call.
    buffer = bytearray(stream_of([Text("a", 1, "hi"), FileChunk(1, 0, b"x" * 100)]))
    decoder = Decoder()
    decoder.receive_data(memoryview(buffer)[:50])
    decoder.receive_data(memoryview(buffer)[50:])
    frames = list(decoder)
    buffer[:] = b"\xff" * 10  # would raise BufferError if a view were still exported
    assert frames[0] == Text("a", 1, "hi")
    assert frames[1] == FileChunk(1, 0, b"x" * 100)


def test_chunk_header_plus_data_equals_encode():
    chunk = FileChunk(9, 4096, b"payload")
    assert encode_chunk_header(9, 4096, 7) + b"payload" == encode(chunk)
    assert encode(FileChunk(9, 4096, memoryview(b"payload"))) == encode(chunk)


def test_without_magic():
    assert decode_all(stream_of(SAMPLES, magic=False), expect_magic=False) == SAMPLES


def test_returns_none_until_a_frame_is_complete():
    data = stream_of([Ping(1)])
    decoder = Decoder()
    decoder.receive_data(data[:-1])
    assert decoder.next_frame() is None
    decoder.receive_data(data[-1:])
    assert decoder.next_frame() == Ping(1)
    assert decoder.next_frame() is None


# Unknown types, magic, framing


def test_unknown_type_is_skipped_even_in_pieces():
    data = MAGIC + raw(0x7F, b"\x00" * 1000) + raw(0x13, {"x": 1}) + encode(Ping(2))
    assert decode_all(data) == [Ping(2)]
    assert decode_all(data, [data[i : i + 7] for i in range(0, len(data), 7)]) == [Ping(2)]


@pytest.mark.parametrize("start", [b"X", b"P2PX", b"GET / HTTP/1.1\r\n", b"\x16\x03\x01\x02\x00"])
def test_bad_magic(start):
    assert decode_error(start).code == "bad_magic"


def test_bad_magic_seen_from_the_first_byte():
    decoder = Decoder()
    decoder.receive_data(b"\x16")
    with pytest.raises(ProtocolError, match="bad_magic"):
        decoder.next_frame()


def test_oversized_prefix_rejected_from_the_header_alone():
    decoder = Decoder()
    decoder.receive_data(MAGIC + struct.pack(">IB", MAX_FRAME + 1, FrameType.FILE_CHUNK))
    with pytest.raises(ProtocolError) as caught:
        decoder.next_frame()
    assert caught.value.code == "frame_too_large"


def test_frame_limit_at_and_past_the_boundary():
    exact = FileChunk(1, 0, b"z" * MAX_CHUNK_DATA)
    assert decode_all(stream_of([exact])) == [exact]
    too_big = MAGIC + raw(FrameType.FILE_CHUNK, b"\x00" * (MAX_FRAME + 1))
    assert decode_error(too_big).code == "frame_too_large"
    with pytest.raises(ProtocolError, match="frame_too_large"):
        encode(FileChunk(1, 0, b"z" * (MAX_CHUNK_DATA + 1)))


def test_unknown_types_obey_the_frame_limit_too():
    assert decode_error(MAGIC + struct.pack(">IB", MAX_FRAME + 1, 0x99)).code == "frame_too_large"


def test_custom_max_frame():
    data = stream_of([Ping(1)], magic=False)
    payload = len(data) - 5
    assert decode_all(data, max_frame=payload, expect_magic=False) == [Ping(1)]
    assert decode_error(data, max_frame=payload - 1, expect_magic=False).code == "frame_too_large"


def test_frames_before_an_error_are_delivered_and_the_error_sticks():
    data = stream_of([Ping(1), Ping(2)]) + raw(FrameType.PING, b"{") + encode(Ping(3))
    decoder = Decoder()
    decoder.receive_data(data)
    assert decoder.next_frame() == Ping(1)
    assert decoder.next_frame() == Ping(2)
    for _ in range(3):
        with pytest.raises(ProtocolError, match="bad_frame"):
            decoder.next_frame()
    decoder.receive_data(encode(Ping(4)))  # ignored: the stream is already broken
    with pytest.raises(ProtocolError):
        decoder.next_frame()


# Payload validation


def bad_payload(frame_type, payload) -> str:
    return decode_error(MAGIC + raw(frame_type, payload)).code


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{",
        b"[]",
        b'"text"',
        b"null",
        b'\xef\xbb\xbf{"ts": 1}',  # BOM
        b'{"ts": NaN}',
        b'{"ts": Infinity}',
        b'{"ts": -Infinity}',
        b'{"ts": 1, "unknown": NaN}',  # not JSON at all, even where nobody looks
        b'{"ts": 1e999}',
        b'{"ts": "1"}',
        b'{"ts": true}',
        b'{"ts": null}',
        b'{"ts": 1' + b"0" * 5000 + b"}",
        b'{"ts": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"ts": 1, "x": "\xff"}',
        '{"ts": 1}'.encode("utf-16"),
        b"{}",
    ],
)
def test_bad_json_payloads(payload):
    assert bad_payload(FrameType.PING, payload) == "bad_frame"


def test_an_offer_without_a_batch_or_with_null_is_a_file_on_its_own():
    offer = {"tid": 1, "name": "n", "size": 0, "key": "k"}
    frames = decode_all(MAGIC + raw(FrameType.FILE_OFFER, offer) + raw(FrameType.FILE_OFFER, {**offer, "batch": None}))
    assert frames == [FileOffer(1, "n", 0, "k")] * 2
    assert b"batch" not in encode(FileOffer(1, "n", 0, "k"))  # older receivers see what they know


def test_an_offer_s_number_is_optional_and_bounded():
    offer = {"tid": 1, "name": "n", "size": 0, "key": "k"}
    frames = decode_all(MAGIC + raw(FrameType.FILE_OFFER, {**offer, "number": None})
                        + raw(FrameType.FILE_OFFER, {**offer, "number": MAX_TRANSFER_NUMBER}))
    assert [f.number for f in frames] == [None, MAX_TRANSFER_NUMBER]
    assert b"number" not in encode(FileOffer(1, "n", 0, "k"))
    assert encode(FileOffer(1, "n", 0, "k", number=3)).endswith(b',"number":3}')
    for number in (0, -1, MAX_TRANSFER_NUMBER + 1, 1.0, True, "3"):
        assert bad_payload(FrameType.FILE_OFFER, {**offer, "number": number}) == "bad_frame"


def test_unknown_keys_are_ignored():
    frames = decode_all(MAGIC + raw(FrameType.PING, {"ts": 5, "future": [1, {"a": None}]}))
    assert frames == [Ping(5)]


@pytest.mark.parametrize(
    ("frame_type", "payload"),
    [
        (FrameType.TEXT, {"id": "a", "ts": 1, "body": "x", "action": 0}),
        (FrameType.TEXT, {"id": "a", "ts": 1, "body": "x"}),
        (FrameType.TEXT, {"id": 5, "ts": 1, "body": "x", "action": False}),
        (FrameType.TEXT, {"id": "a", "ts": 1, "body": ["x"], "action": False}),
        (FrameType.TEXT, {"id": "a", "ts": 1, "body": "", "action": False}),
        (FrameType.TEXT, {"id": "", "ts": 1, "body": "x", "action": False}),
        (FrameType.TEXT, {"id": "a" * 65, "ts": 1, "body": "x", "action": False}),
        (FrameType.TEXT, {"id": "a", "ts": 1, "body": "\ud800", "action": False}),
        (FrameType.FILE_ACCEPT, {"tid": True, "offset": 0}),
        (FrameType.FILE_ACCEPT, {"tid": 1.0, "offset": 0}),
        (FrameType.FILE_ACCEPT, {"tid": 0, "offset": 0}),
        (FrameType.FILE_ACCEPT, {"tid": 1 << 64, "offset": 0}),
        (FrameType.FILE_ACCEPT, {"tid": 1, "offset": -1}),
        (FrameType.FILE_ACCEPT, {"tid": 1, "offset": 1 << 63}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "", "size": 0, "key": "k"}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n" * 4097, "size": 0, "key": "k"}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 1 << 63, "key": "k"}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 0, "key": ""}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 0, "key": "k" * 129}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 0, "key": "k", "batch": [1]}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 0, "key": "k",
                                "batch": {"files": 2, "size": 0, "name": "b"}}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 0, "key": "k",
                                "batch": {"id": 1, "files": 0, "size": 0, "name": "b"}}),
        (FrameType.FILE_OFFER, {"tid": 1, "name": "n", "size": 0, "key": "k",
                                "batch": {"id": 1, "files": 2, "size": 0, "name": ""}}),
        (FrameType.FILE_DONE, {"tid": 1, "sha256": SHA[:-1]}),
        (FrameType.FILE_DONE, {"tid": 1, "sha256": SHA + "\n"}),
        (FrameType.FILE_RESULT, {"tid": 1, "ok": 1, "reason": ""}),
        (FrameType.FILE_CANCEL, {"tid": 1, "reason": None}),
        (
            FrameType.HELLO,
            {"version": "1", "nickname": "a", "id": "i", "caps": [], "session": None},
        ),
        (FrameType.HELLO, {"version": 1, "nickname": "a", "id": "", "caps": [], "session": None}),
        (
            FrameType.HELLO,
            {"version": 1, "nickname": "a", "id": "i" * 129, "caps": [], "session": None},
        ),
        (
            FrameType.HELLO,
            {"version": 1, "nickname": "a", "id": "i", "caps": "files", "session": None},
        ),
        (FrameType.HELLO, {"version": 1, "nickname": "a", "id": "i", "caps": [1], "session": None}),
        (
            FrameType.HELLO,
            {"version": 1, "nickname": "a", "id": "i", "caps": ["c"] * 33, "session": None},
        ),
        (
            FrameType.HELLO,
            {"version": 1, "nickname": "a", "id": "i", "caps": ["c" * 65], "session": None},
        ),
        (FrameType.HELLO, {"version": 1, "nickname": "a", "id": "i", "caps": []}),
        (FrameType.READY, {"session": ""}),
        (FrameType.READY, {"session": "s" * 65}),
        (FrameType.READY, {"session": 5}),
        (FrameType.ERROR, {"code": "", "message": "m"}),
        (FrameType.PONG, {"ts": [1]}),
    ],
)
def test_wrong_types_and_ranges(frame_type, payload):
    assert bad_payload(frame_type, payload) == "bad_frame"


def text_payload(body):
    return {"id": "a", "ts": 1, "body": body, "action": False}


@pytest.mark.parametrize("unit", ["a", "é", "🐍"])
def test_text_body_limit_counts_utf8_bytes(unit):
    fits = unit * (MAX_TEXT_BYTES // len(unit.encode()))
    frame = Text("a", 1, fits)
    assert decode_all(stream_of([frame])) == [frame]
    too_long = fits + "a" * (MAX_TEXT_BYTES - len(fits.encode()) + 1)
    assert bad_payload(FrameType.TEXT, text_payload(too_long)) == "text_too_long"
    with pytest.raises(ProtocolError, match="text_too_long"):
        encode(Text("a", 1, too_long))


def test_field_limits_at_the_boundary_are_accepted():
    frames = [
        Hello(1, "n" * 32, "i" * 128, ["c" * 64] * 32, "s" * 64),
        Text("i" * 64, 1, "x"),
        FileOffer(TOP_TID, "n" * 4096, TOP_OFFSET, "k" * 128),
        FileAccept(1, 0),
        FileDone(1, SHA.upper()),  # read in either case, compared case-insensitively
        Error("c" * 64, "m" * 1024),
    ]
    assert decode_all(stream_of(frames)) == frames


def test_long_reasons_are_truncated_not_refused():
    payload = {"tid": 1, "reason": "r" * 5000}
    (frame,) = decode_all(MAGIC + raw(FrameType.FILE_CANCEL, payload))
    assert frame == FileCancel(1, "r" * 1024)
    assert decode_all(stream_of([Bye("b" * 2000)])) == [Bye("b" * 1024)]


@pytest.mark.parametrize(
    "nickname", ["", " ", "a" * 33, " bob", "bob ", "bo\x00b", "bo\u202eb", "bo\nb", "\u200b"]
)
def test_bad_nicknames(nickname):
    assert bad_payload(FrameType.NICK, {"nickname": nickname}) == "bad_nickname"
    hello = {"version": 1, "nickname": nickname, "id": "i", "caps": [], "session": None}
    assert bad_payload(FrameType.HELLO, hello) == "bad_nickname"
    with pytest.raises(ProtocolError, match="bad_nickname"):
        encode(Nick(nickname))


@pytest.mark.parametrize("peer_id", ["ab\x1b[2Jcd", "ab\ncd", "\x00", "ab\u202ecd", "\u200b", " ab", "ab "])
def test_hello_ids_with_hidden_characters_are_refused(peer_id):
    hello = {"version": 1, "nickname": "bob", "id": peer_id, "caps": [], "session": None}
    assert bad_payload(FrameType.HELLO, hello) == "bad_frame"
    with pytest.raises(ProtocolError, match="bad_frame"):
        encode(Hello(1, "bob", peer_id, (), None))


def test_other_versions_decode_so_the_handshake_can_answer_them():
    hello = Hello(2, "a", "i", [], None)
    assert decode_all(stream_of([hello])) == [hello]


def test_short_chunk_and_bad_chunk_ids():
    assert bad_payload(FrameType.FILE_CHUNK, b"\x00" * 15) == "bad_frame"
    zero_tid = struct.pack(">QQ", 0, 0) + b"data"
    assert bad_payload(FrameType.FILE_CHUNK, zero_tid) == "bad_frame"
    huge_offset = struct.pack(">QQ", 1, 1 << 63)
    assert bad_payload(FrameType.FILE_CHUNK, huge_offset) == "bad_frame"
    with pytest.raises(ProtocolError):
        encode_chunk_header(0, 0, 1)
    with pytest.raises(ProtocolError):
        encode_chunk_header(1, -1, 1)


def test_file_done_carries_exactly_one_hash():
    for payload in ({"tid": 1}, {"tid": 1, "sha256": SHA, "blake3": SHA}, {"tid": 1, "blake3": "x"}):
        assert bad_payload(FrameType.FILE_DONE, payload) == "bad_frame"
    (frame,) = decode_all(MAGIC + raw(FrameType.FILE_DONE, {"tid": 1, "blake3": SHA}))
    assert frame.digest == ("blake3", SHA) and frame.sha256 is None
    assert FileDone(1, SHA).digest == ("sha256", SHA)


def test_encode_refuses_what_the_peer_would_refuse():
    for frame in [Ping(float("nan")), Text("a", 1, ""), FileAccept(0, 0), FileDone(1, "x"), FileDone(1),
                  FileDone(1, SHA, SHA)]:
        with pytest.raises(ProtocolError):
            encode(frame)


# Fuzzing: whatever arrives, only ProtocolError may come out.

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def drain(pieces, **options) -> None:
    decoder = Decoder(**options)
    try:
        for piece in pieces:
            decoder.receive_data(piece)
            for frame in decoder:
                assert type(frame) in FRAME_CLASSES
    except ProtocolError as exc:
        assert exc.code in {
            "frame_too_large",
            "bad_frame",
            "bad_magic",
            "bad_nickname",
            "text_too_long",
        }


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=8), st.booleans())
def test_fuzz_random_bytes(pieces, with_magic):
    drain([MAGIC, *pieces] if with_magic else pieces, expect_magic=with_magic)


@FUZZ
@given(st.data())
def test_fuzz_mutated_valid_streams(data):
    stream = bytearray(
        stream_of(data.draw(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=6)))
    )
    for _ in range(data.draw(st.integers(1, 6))):
        where = data.draw(st.integers(0, len(stream) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "byte"]))
        if action == "flip":
            stream[where] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "insert":
            stream[where:where] = data.draw(st.binary(min_size=1, max_size=8))
        elif action == "delete" and len(stream) > 1:
            del stream[where]
        else:
            stream[where] = data.draw(st.integers(0, 255))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6))
    drain(split_at(bytes(stream), cuts))


@FUZZ
@given(
    st.sampled_from(list(FrameType)),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "ts",
                "body",
                "action",
                "tid",
                "offset",
                "size",
                "name",
                "key",
                "reason",
                "ok",
                "sha256",
                "session",
                "version",
                "nickname",
                "caps",
                "code",
                "message",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=6,
        ),
    ),
)
def test_fuzz_json_fields(frame_type, payload):
    body = json.dumps(payload).encode()  # NaN and Infinity included: json.dumps allows them
    drain([MAGIC + raw(frame_type, body)])


def test_error_codes_are_the_ones_the_protocol_lists():
    text = (Path(__file__).parents[2] / "PROTOCOL.md").read_text()
    listed = text[text.index("connection is closed. Codes:") :].split("- Closing without a frame")[0]
    assert set(re.findall(r"`([a-z_]+)`", listed)) == ERROR_CODES
    with pytest.raises(ValueError):
        ProtocolError("no_such_code", "a typo in our own code")


# CANDIDATES: addresses only, capped, kinds from a newer peer skipped


def test_candidates_of_an_unknown_kind_are_skipped_not_refused():
    payload = {"attempt": 1, "nat": "x", "held": 0.25,
               "addresses": [{"host": "203.0.113.11", "port": 7000, "kind": "turn"},
                             {"host": "203.0.113.11", "port": 7000, "kind": "public"}]}
    [frame] = decode_all(MAGIC + raw(FrameType.CANDIDATES, payload))
    assert frame.addresses == (Candidate("203.0.113.11", 7000, "public"),)


@pytest.mark.parametrize(
    "addresses",
    [
        [{"host": "example.org", "port": 7000, "kind": "public"}],  # a name would make us resolve it
        [{"host": "203.0.113.11", "port": 0, "kind": "public"}],
        [{"host": "203.0.113.11", "kind": "public"}],
        [{"host": "203.0.113.11", "port": 1, "kind": "public"}] * 9,  # more than the cap
        "203.0.113.11:7000",
    ],
)
def test_candidates_that_are_not_addresses_are_refused(addresses):
    payload = {"attempt": 1, "nat": "x", "addresses": addresses, "held": 0}
    assert decode_error(MAGIC + raw(FrameType.CANDIDATES, payload)).code == "bad_frame"



@pytest.mark.parametrize("held", [-1, 3601, "1", None])
def test_a_held_time_out_of_range_is_refused(held):
    payload = {"attempt": 1, "nat": "x", "addresses": [], "held": held}
    assert decode_error(MAGIC + raw(FrameType.CANDIDATES, payload)).code == "bad_frame"
