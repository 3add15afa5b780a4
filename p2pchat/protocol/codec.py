"""Frames to bytes and bytes to frames, checking every rule of the wire format on the way.

`Decoder` is fed whatever the socket delivered and hands out whole frames; it never does I/O.
It splits the stream as bytes arrive, so each frame body is copied at most once: a body that
spans reads is assembled in its own buffer, which the decoded `FileChunk.data` then views.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import struct
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from p2pchat.protocol.frames import (
    HEADER_SIZE,
    MAGIC,
    MAX_CANDIDATES,
    MAX_CHUNK_DATA,
    MAX_FRAME,
    MAX_TEXT_BYTES,
    Ack,
    Busy,
    Bye,
    Candidate,
    Candidates,
    Error,
    FileAccept,
    FileCancel,
    FileChunk,
    FileDecline,
    FileDone,
    FileOffer,
    FileResult,
    Frame,
    FrameType,
    Hello,
    Nick,
    OfferBatch,
    Ping,
    Pong,
    Ready,
    Sync,
    Text,
)
from p2pchat.protocol.rules import (
    MAX_TRANSFER_ID,
    MAX_TRANSFER_NUMBER,
    has_hidden_characters,
    validate_nickname,
)

# The codes we send (PROTOCOL.md section 8). A receiver accepts any code; we never send one
# that is not listed, and every ProtocolError names one of these.
ERROR_CODES = frozenset(
    {
        "frame_too_large",
        "bad_frame",
        "bad_magic",
        "bad_nickname",
        "text_too_long",
        "unexpected_frame",
        "incompatible_version",
        "identity_mismatch",
        "tls_required",
        "tls_unexpected",
    }
)

MAX_REASON = 1024  # longer reasons and messages are cut, not refused
MAX_OFFSET = (1 << 63) - 1

_HEADER = struct.Struct(">IB")
_CHUNK_HEADER = struct.Struct(">IBQQ")
_CHUNK_IDS = struct.Struct(">QQ")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")  # we send lower case; either is read
_FILE_CHUNK = int(FrameType.FILE_CHUNK)


T = TypeVar("T")


class ProtocolError(Exception):
    """The peer (or a frame we were asked to send) broke the protocol; `code` names the rule."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"{code!r} is not an error code of the protocol")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _bad(message: str) -> ProtocolError:
    return ProtocolError("bad_frame", message)


# Field checks: each takes the value and a label for messages, returns the value to use.


def _text(value: object, label: str) -> str:
    if type(value) is not str:
        raise _bad(f"{label} must be a string")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a \ud800 escape
            raise _bad(f"{label} is not valid Unicode text") from None
    return value


def _chars(low: int, high: int) -> Callable[[object, str], str]:
    def check(value: object, label: str) -> str:
        value = _text(value, label)
        if not low <= len(value) <= high:
            raise _bad(f"{label} must have {low}-{high} characters, not {len(value)}")
        return value

    return check


def _integer(low: int, high: int) -> Callable[[object, str], int]:
    def check(value: object, label: str) -> int:
        if type(value) is not int or not low <= value <= high:  # bool is not an integer here
            raise _bad(f"{label} must be an integer from {low} to {high}")
        return value

    return check


def _optional(inner: Callable[[object, str], T]) -> Callable[[object, str], T | None]:
    def check(value: object, label: str) -> T | None:
        return None if value is None else inner(value, label)

    return check


def _flag(value: object, label: str) -> bool:
    if type(value) is not bool:
        raise _bad(f"{label} must be true or false")
    return value


def _timestamp(value: object, label: str) -> float:
    if type(value) not in (int, float):
        raise _bad(f"{label} must be a number")
    try:
        value = float(cast(float, value))
    except OverflowError:
        raise _bad(f"{label} is out of range") from None
    if not math.isfinite(value):
        raise _bad(f"{label} must be finite")
    return value


def _reason(value: object, label: str) -> str:
    return _text(value, label)[:MAX_REASON]


def _nickname(value: object, label: str) -> str:
    value = _text(value, label)
    try:
        clean = validate_nickname(value)
    except ValueError as exc:
        raise ProtocolError("bad_nickname", str(exc)) from None
    if clean != value:
        raise ProtocolError("bad_nickname", "A nickname cannot start or end with spaces.")
    return value


def _text_body(value: object, label: str) -> str:
    if type(value) is not str:
        raise _bad(f"{label} must be a string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise _bad(f"{label} is not valid Unicode text") from None
    if size == 0:
        raise _bad(f"{label} is empty")
    if size > MAX_TEXT_BYTES:
        raise ProtocolError(
            "text_too_long", f"a message has {size} bytes, the limit is {MAX_TEXT_BYTES}"
        )
    return value


def _caps(value: object, label: str) -> tuple[str, ...]:
    if type(value) not in (list, tuple) or len(items := cast("list[object]", value)) > 32:
        raise _bad(f"{label} must be a list of at most 32 strings")
    return tuple(_cap(item, label) for item in items)


def _hex_digest(value: object, label: str) -> str:
    value = _text(value, label)
    if not _HEX_DIGEST.fullmatch(value):
        raise _bad(f"{label} must be 64 hex digits")
    return value


def _batch(value: object, label: str) -> OfferBatch | dict[str, object] | None:
    """FILE_OFFER.batch: an object decoded into OfferBatch, or an OfferBatch checked for encoding
    (into its JSON object). Absent or null: a file offered on its own."""
    if value is None:
        return None
    encoding = type(value) is OfferBatch
    fields = {name: getattr(value, name) for name in _BATCH_FIELDS} if encoding else value
    if type(fields) is not dict:
        raise _bad(f"{label} must be an object")
    checked: dict[str, Any] = {}
    for name, check in _BATCH_FIELDS.items():
        if name not in fields:
            raise _bad(f"{label}.{name} is missing")
        checked[name] = check(fields[name], f"{label}.{name}")
    return checked if encoding else OfferBatch(**checked)


CANDIDATE_KINDS = frozenset({"public", "mapped", "local"})


def _candidate_host(value: object, label: str) -> str:
    value = _chars(2, 45)(value, label)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise _bad(f"{label} must be an IP address") from None


def _candidate(fields: object, label: str) -> Candidate:
    if type(fields) is not dict:
        raise _bad(f"{label} must hold objects")
    for name in ("host", "port", "kind"):
        if name not in fields:
            raise _bad(f"{label}[].{name} is missing")
    return Candidate(
        _candidate_host(fields["host"], f"{label}[].host"),
        _integer(1, 0xFFFF)(fields["port"], f"{label}[].port"),
        _chars(1, 16)(fields["kind"], f"{label}[].kind"),
    )


def _candidates(value: object, label: str) -> tuple[Candidate, ...] | list[dict[str, object]]:
    """CANDIDATES.addresses: a list of objects decoded into Candidates (those of a kind we do not
    know are skipped), or Candidates checked for encoding (into JSON objects)."""
    if not isinstance(value, (list, tuple)) or len(value) > MAX_CANDIDATES:
        raise _bad(f"{label} must be a list of at most {MAX_CANDIDATES} addresses")
    if value and type(value[0]) is Candidate:
        checked = [_candidate({"host": c.host, "port": c.port, "kind": c.kind}, label) for c in value]
        return [{"host": c.host, "port": c.port, "kind": c.kind} for c in checked]
    found = (_candidate(item, label) for item in value)
    return tuple(c for c in found if c.kind in CANDIDATE_KINDS)


def _held(value: object, label: str) -> float:
    held = _timestamp(value, label)
    if not 0 <= held <= 3600:
        raise _bad(f"{label} must be from 0 to 3600 seconds")
    return held


_cap = _chars(1, 64)
_id_length = _chars(1, 128)


def _peer_id(value: object, label: str) -> str:
    value = _id_length(value, label)
    if has_hidden_characters(value) or value != value.strip():
        raise _bad(f"{label} must not contain control characters or surrounding spaces")
    return value


_session = _optional(_chars(1, 64))
_invite = _optional(_chars(32, 32))
# Keys that may be absent (None when absent, and left out when None): added after version 1
# first shipped, so older peers neither send nor expect them.
# FILE_DONE carries exactly one of its two hashes (`_one_hash`): `blake3` only to a peer whose
# HELLO.caps has "blake3", so an older peer always finds `sha256`.
_OMITTABLE = frozenset({"HELLO.invite", "FILE_OFFER.batch", "FILE_OFFER.number", "FILE_DONE.sha256",
                        "FILE_DONE.blake3"})
_message_id = _chars(1, 64)
_tid = _integer(1, MAX_TRANSFER_ID)
_size = _integer(0, MAX_OFFSET)
_version = _integer(0, 0xFFFF)
_BATCH_FIELDS = {"id": _tid, "files": _integer(1, MAX_OFFSET), "size": _size, "name": _chars(1, 4096)}

# Every JSON frame's fields, in the order of the dataclass, with the check each one must pass.
# (Any: the frame classes, each called with its own fields as keywords.)
_JSON_FIELDS: dict[Any, tuple[tuple[str, Callable[[object, str], object]], ...]] = {
    Hello: (
        ("version", _version),
        ("nickname", _nickname),
        ("id", _peer_id),
        ("caps", _caps),
        ("session", _session),
        ("invite", _invite),
    ),
    Ready: (("session", _session),),
    Text: (("id", _message_id), ("ts", _timestamp), ("body", _text_body), ("action", _flag)),
    Ack: (("id", _message_id),),
    Nick: (("nickname", _nickname),),
    FileOffer: (
        ("tid", _tid), ("name", _chars(1, 4096)), ("size", _size), ("key", _chars(1, 128)), ("batch", _batch),
        ("number", _optional(_integer(1, MAX_TRANSFER_NUMBER))),
    ),
    FileAccept: (("tid", _tid), ("offset", _size)),
    FileDecline: (("tid", _tid), ("reason", _reason)),
    FileDone: (("tid", _tid), ("sha256", _optional(_hex_digest)), ("blake3", _optional(_hex_digest))),
    FileResult: (("tid", _tid), ("ok", _flag), ("reason", _reason)),
    FileCancel: (("tid", _tid), ("reason", _reason)),
    Ping: (("ts", _timestamp),),
    Pong: (("ts", _timestamp),),
    Candidates: (
        ("attempt", _integer(1, 0xFFFF)), ("nat", _chars(1, 32)), ("addresses", _candidates), ("held", _held),
    ),
    Sync: (("attempt", _integer(1, 0xFFFF)),),
    Busy: (("reason", _reason),),
    Bye: (("reason", _reason),),
    Error: (("code", _chars(1, 64)), ("message", _reason)),
}

# type byte -> (class, ((field, label, check), ...))
_JSON_TYPES = {
    int(cls.TYPE): (cls, tuple((name, f"{cls.TYPE.name}.{name}", check) for name, check in fields))
    for cls, fields in _JSON_FIELDS.items()
}
_KNOWN_TYPES = frozenset(_JSON_TYPES) | {_FILE_CHUNK}


def _checked_chunk_ids(tid: object, offset: object) -> None:
    _tid(tid, "FILE_CHUNK.tid")
    _size(offset, "FILE_CHUNK.offset")


def encode_chunk_header(tid: int, offset: int, data_len: int) -> bytes:
    """The 21 bytes that precede a chunk's data, so the data itself can be written uncopied."""
    _checked_chunk_ids(tid, offset)
    if not 0 <= data_len <= MAX_CHUNK_DATA:
        raise ProtocolError("frame_too_large", f"a chunk holds at most {MAX_CHUNK_DATA} bytes")
    return _CHUNK_HEADER.pack(data_len + 16, _FILE_CHUNK, tid, offset)


def encode(frame: Frame) -> bytes:
    """The frame's bytes on the wire; raises ProtocolError for a frame the peer would refuse."""
    if type(frame) is FileChunk:
        data = frame.data
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        return encode_chunk_header(frame.tid, frame.offset, size) + data
    cls, fields = _JSON_TYPES[int(frame.TYPE)]
    if type(frame) is not cls:
        raise TypeError(f"not a frame: {frame!r}")
    payload = {
        name: check(getattr(frame, name), label)
        for name, label, check in fields
        if not (label in _OMITTABLE and getattr(frame, name) is None)
    }
    if type(frame) is FileDone:
        _one_hash(frame)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )
    if len(body) > MAX_FRAME:
        raise ProtocolError("frame_too_large", f"{cls.TYPE.name} payload has {len(body)} bytes")
    return _HEADER.pack(len(body), cls.TYPE) + body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _decode_json(frame_type: int, body: bytes | bytearray | memoryview) -> Frame:
    cls, fields = _JSON_TYPES[frame_type]
    try:
        payload = json.loads(str(body, "utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, NaN, absurd nesting or digits
        raise _bad(f"{cls.TYPE.name} payload is not valid UTF-8 JSON") from None
    if type(payload) is not dict:
        raise _bad(f"{cls.TYPE.name} payload must be a JSON object")
    values = {}
    for name, label, check in fields:
        try:
            value = payload[name]
        except KeyError:
            if label not in _OMITTABLE:
                raise _bad(f"{label} is missing") from None
            value = None
        values[name] = check(value, label)
    frame: Frame = cls(**values)
    if type(frame) is FileDone:
        _one_hash(frame)
    return frame


def _one_hash(frame: FileDone) -> None:
    if (frame.sha256 is None) == (frame.blake3 is None):
        raise _bad("FILE_DONE must carry exactly one of sha256 and blake3")


def _decode_chunk(body: bytes | bytearray | memoryview) -> FileChunk:
    if len(body) < 16:
        raise _bad("FILE_CHUNK is shorter than its tid and offset")
    tid, offset = _CHUNK_IDS.unpack_from(body)
    _checked_chunk_ids(tid, offset)
    data = body[16:] if type(body) is memoryview else memoryview(body)[16:]
    return FileChunk(tid, offset, data)


class Decoder:
    """Bytes in with `receive_data`, frames out with `next_frame` (None: more bytes needed).

    Frames before a protocol violation are still handed out; then `next_frame` raises
    ProtocolError, and raises it again on every later call. Data after the violation is ignored.
    """

    def __init__(self, *, max_frame: int = MAX_FRAME, expect_magic: bool = True) -> None:
        self._max_frame = max_frame
        self._magic_left = MAGIC if expect_magic else b""
        self._header = bytearray()  # a header split across reads
        self._body: bytearray | None = None  # a body split across reads, filled in place
        self._body_view: memoryview | None = None
        self._body_type = 0
        self._filled = 0
        self._skip = 0  # bytes still to drop of a frame of unknown type
        self._ready: deque[tuple[int, bytes | bytearray | memoryview]] = deque()
        self._error: ProtocolError | None = None

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        if self._error is not None:
            return
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        # Only immutable input may be viewed after this call returns; anything else is copied.
        immutable = type(data) is bytes
        pos, end = 0, len(view)
        if self._magic_left:
            pos = min(len(self._magic_left), end)
            if view[:pos] != self._magic_left[:pos]:
                self._error = ProtocolError("bad_magic", "the peer does not speak p2pchat")
                return
            self._magic_left = self._magic_left[pos:]
        ready = self._ready
        while pos < end:
            if self._body is not None:
                pos = self._fill_body(view, pos, end)
                continue
            if self._skip:
                taken = min(self._skip, end - pos)
                self._skip -= taken
                pos += taken
                continue
            if self._header or end - pos < HEADER_SIZE:
                taken = min(HEADER_SIZE - len(self._header), end - pos)
                self._header += view[pos : pos + taken]
                pos += taken
                if len(self._header) < HEADER_SIZE:
                    break
                length, frame_type = _HEADER.unpack(self._header)
                self._header.clear()
            else:
                length, frame_type = _HEADER.unpack_from(view, pos)
                pos += HEADER_SIZE
            if length > self._max_frame:  # refused before a byte of the body is stored
                self._error = ProtocolError(
                    "frame_too_large", f"a frame of {length} bytes, the limit is {self._max_frame}"
                )
                return
            if frame_type not in _KNOWN_TYPES:
                self._skip = length  # a newer peer's frame: not an error
                continue
            if end - pos >= length:
                body = view[pos : pos + length]
                ready.append(
                    (
                        frame_type,
                        body if immutable and frame_type == _FILE_CHUNK else body.tobytes(),
                    )
                )
                pos += length
            else:
                self._body = bytearray(length)
                self._body_view = memoryview(self._body)
                self._body_type = frame_type
                self._filled = 0
                pos = self._fill_body(view, pos, end)

    def _fill_body(self, view: memoryview, pos: int, end: int) -> int:
        body, body_view = self._body, self._body_view
        assert body is not None and body_view is not None  # a body is being filled
        taken = min(len(body) - self._filled, end - pos)
        body_view[self._filled : self._filled + taken] = view[pos : pos + taken]
        self._filled += taken
        if self._filled == len(body):
            self._ready.append((self._body_type, body))
            self._body = self._body_view = None
        return pos + taken

    def next_frame(self) -> Frame | None:
        if self._ready:
            frame_type, body = self._ready.popleft()
            try:
                if frame_type == _FILE_CHUNK:
                    return _decode_chunk(body)
                return _decode_json(frame_type, body)
            except ProtocolError as exc:
                self._ready.clear()
                self._error = exc
        if self._error is not None:
            raise ProtocolError(self._error.code, self._error.message)
        return None

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.next_frame()) is not None:
            yield frame
