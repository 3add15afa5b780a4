"""A magic-wormhole client as a state machine: server messages in, messages out, time passed in.

One object plays one side of one meeting, as the magic-wormhole library does:

    bind{appid, side} -> allocate -> allocated{nameplate}        (the side that makes the code)
    bind{appid, side} -> list -> nameplates{[{id}, ...]}         (the side that typed it)
    claim{nameplate} -> claimed{mailbox} -> open{mailbox}         (both sides)
    add{phase: "pake", body: {"pake_v1": hex}}                    (SPAKE2 over the whole code)
    add{phase: "version", body: SecretBox({"app_versions": ...})} (as soon as the key is agreed)
    add{phase: "0", "1", ...}                                      (the application's messages)
    release{nameplate} after the other side's first message; close{mailbox, mood} at the end.

The server echoes every `add` to both sides; a side ignores its own. A body that does not
decrypt means the other side used other words: the exchange is over ("scary") and the code is
spent, since the nameplate was released. Time only moves when the caller says so (`tick`).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from p2pchat.protocol.wormhole.code import make_code, nameplate_of
from p2pchat.protocol.wormhole.keys import BadMessage, Pake, decrypt, encrypt, phase_key, verifier

REPLY_TIMEOUT = 10.0  # seconds the server may take to answer bind, allocate or claim
MAX_SERVER_TEXT = 200  # characters of a server's explanation shown to the user
_NAMEPLATE = re.compile(r"^[0-9]{1,12}$")  # ASCII digits (str.isdigit() would take any script's)


@dataclass(frozen=True)
class CodeReady:
    code: str


@dataclass(frozen=True)
class KeyAgreed:
    verifier: bytes  # equal on both sides only if they typed the same code


@dataclass(frozen=True)
class PeerConfirmed:
    """The other side's `version` decrypted: it knows the code. `versions` is its app_versions."""

    versions: dict[str, Any]


@dataclass(frozen=True)
class Received:
    phase: int
    data: bytes


@dataclass(frozen=True)
class WrongCode:
    """The other side's message did not decrypt: one of the two typed the code wrong."""


@dataclass(frozen=True)
class Failed:
    reason: str  # one line for the user


@dataclass(frozen=True)
class NoPeer:
    """Nobody came to the nameplate in time (a code used before, or a typo in its number)."""


@dataclass(frozen=True)
class Closed:
    """The mailbox is closed and the nameplate released: the connection can go."""


Event = CodeReady | KeyAgreed | PeerConfirmed | Received | WrongCode | Failed | NoPeer | Closed


def _clean(text: object) -> str:
    """A server's words as one printable line."""
    line = "".join(c if c.isprintable() else " " for c in str(text))
    return " ".join(line.split())[:MAX_SERVER_TEXT]


class WormholeClient:
    """One side of one meeting. Give `code` to use a code, or none to have one allocated."""

    def __init__(
        self, appid: str, side: str, *, code: str | None = None,
        versions: dict[str, Any] | None = None, peer_timeout: float | None = None,
        client_version: tuple[str, str] = ("p2pchat", "1"),
    ) -> None:
        self.appid, self.side, self.code = appid, side, code
        self._versions = {"app_versions": versions or {}}
        self._client_version = list(client_version)
        self._peer_timeout = peer_timeout
        self._outbox: list[str] = []
        self._events: list[Event] = []
        self._deadline: float | None = None
        self._deadline_event: Event | None = None
        self._nameplate: str | None = None
        self._mailbox: str | None = None
        self._released = self._closed = False
        self._closing = False
        self._awaiting_release = self._awaiting_close = False
        self._pake: Pake | None = None
        self._key: bytes | None = None
        self._their_side: str | None = None
        self._held: list[tuple[str, bytes]] = []  # their messages that came before their pake
        self._to_send: list[bytes] = []  # ours, waiting for the key
        self._next_phase = 0
        self._confirmed = False
        self._done = False

    # --- what the caller feeds in -------------------------------------------------------

    def connected(self, now: float) -> None:
        """The WebSocket is open: bind, then allocate or claim."""
        self._tx("bind", appid=self.appid, side=self.side, client_version=self._client_version)
        if self.code is None:
            self._tx("allocate")
        else:
            # Ask which nameplates are in use before claiming ours: a claim would create a
            # spent one anew and wait there for nobody.
            self._tx("list")
        self._expect_reply(now)

    def receive(self, text: str | bytes, now: float) -> None:
        """One WebSocket message from the server."""
        if self._done:
            return
        try:
            message = json.loads(text)
            kind = message["type"]
            handler = getattr(self, f"_rx_{kind}", None) if isinstance(kind, str) else None
            if handler is not None:
                handler(message, now)
        except (ValueError, KeyError, TypeError, AttributeError):
            self._fail("the rendezvous server sent something that is not the wormhole protocol")

    def send(self, data: bytes) -> None:
        """Queue one application message; it goes out encrypted once the key is agreed."""
        if self._key is None:
            self._to_send.append(data)
        else:
            self._add_numbered(data)

    def close(self, mood: str = "happy") -> None:
        """Release the nameplate and close the mailbox; `Closed` follows the server's answers."""
        if self._closing:
            return
        self._closing = True
        self._deadline = None
        if self._nameplate is not None and not self._released:
            self._release()
        if self._mailbox is not None:
            self._tx("close", mailbox=self._mailbox, mood=mood)
            self._awaiting_close = True
        self._maybe_closed()

    def lost(self) -> None:
        """The connection to the server is gone."""
        if not self._done:
            if self._closing:
                self._finish(Closed())
            else:
                self._fail("the rendezvous server closed the connection")

    def tick(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline and not self._done:
            event = self._deadline_event or Failed("the rendezvous server did not answer")
            self._deadline = None
            self._events.append(event)
            self.close("lonely" if isinstance(event, NoPeer) else "errory")

    # --- what the caller takes out -----------------------------------------------------

    def data_to_send(self) -> list[str]:
        out, self._outbox = self._outbox, []
        return out

    def next_event(self) -> Event | None:
        return self._events.pop(0) if self._events else None

    @property
    def deadline(self) -> float | None:
        return self._deadline

    @property
    def finished(self) -> bool:
        return self._done

    # --- server messages ----------------------------------------------------------------

    def _rx_welcome(self, message: dict[str, Any], now: float) -> None:
        welcome = message["welcome"]
        if isinstance(welcome, dict) and "error" in welcome:
            self._fail(f"the rendezvous server refuses us: {_clean(welcome['error'])}", mood="unwelcome")

    def _rx_error(self, message: dict[str, Any], now: float) -> None:
        error = _clean(message.get("error", "an unnamed error"))
        if error == "crowded":
            self._fail("that code is being used by two others already")
        else:
            self._fail(f"the rendezvous server says: {error}")

    def _rx_nameplates(self, message: dict[str, Any], now: float) -> None:
        if self.code is None or self._nameplate is not None:
            return
        listed = {item["id"] for item in message["nameplates"]}
        nameplate = nameplate_of(self.code)
        if listed and nameplate not in listed:
            # Others are waiting, not the maker of this code. (An empty list may be a server
            # that keeps its list to itself: claim and wait then.)
            self._events.append(NoPeer())
            self.close("lonely")
            return
        self._claim(nameplate)
        self._expect_reply(now)

    def _rx_allocated(self, message: dict[str, Any], now: float) -> None:
        nameplate = message["nameplate"]
        if self.code is not None or not isinstance(nameplate, str) or not _NAMEPLATE.match(nameplate):
            raise ValueError(nameplate)  # shown to the user as part of the code: digits only
        self.code = make_code(nameplate)
        self._events.append(CodeReady(self.code))
        self._claim(nameplate)
        self._expect_reply(now)

    def _rx_claimed(self, message: dict[str, Any], now: float) -> None:
        mailbox = message["mailbox"]
        if not isinstance(mailbox, str) or self._mailbox is not None or self.code is None:
            raise ValueError(mailbox)
        self._mailbox = mailbox
        self._tx("open", mailbox=mailbox)
        self._pake = Pake(self.code, self.appid)
        self._add("pake", self._pake.message)
        if self._peer_timeout is None:
            self._deadline = None
        else:
            self._deadline, self._deadline_event = now + self._peer_timeout, NoPeer()

    def _rx_message(self, message: dict[str, Any], now: float) -> None:
        side, phase, body = message["side"], message["phase"], bytes.fromhex(message["body"])
        if not isinstance(side, str) or not isinstance(phase, str):
            raise TypeError(side)
        if side == self.side or self._closing:
            return
        if self._their_side is None:
            self._their_side = side
            self._release()  # the code has done its job: nobody else may use its nameplate
        elif side != self._their_side:
            return
        if phase == "pake":
            self._got_pake(body, now)
        elif self._key is None:
            self._held.append((phase, body))
        else:
            self._got_sealed(phase, body)

    def _rx_released(self, message: dict[str, Any], now: float) -> None:
        self._awaiting_release = False
        self._maybe_closed()

    def _rx_closed(self, message: dict[str, Any], now: float) -> None:
        self._awaiting_close = False
        self._maybe_closed()

    # --- the client-to-client part ------------------------------------------------------

    def _got_pake(self, body: bytes, now: float) -> None:
        if self._pake is None or self._key is not None:
            return
        try:
            self._key = self._pake.finish(body)
        except BadMessage:
            self._wrong_code()
            return
        if self._peer_timeout is not None:  # someone came; now its introduction must follow
            self._deadline = now + self._peer_timeout
            self._deadline_event = Failed("the other side of the code stopped answering")
        self._events.append(KeyAgreed(verifier(self._key)))
        self._add("version", self._seal("version", json.dumps(self._versions).encode("utf-8")))
        for data in self._to_send:
            self._add_numbered(data)
        self._to_send.clear()
        held, self._held = self._held, []
        for phase, sealed in held:
            self._got_sealed(phase, sealed)

    def _got_sealed(self, phase: str, body: bytes) -> None:
        if self._done or self._closing:
            return
        assert self._key is not None and self._their_side is not None
        try:
            plaintext = decrypt(phase_key(self._key, self._their_side, phase), body)
        except BadMessage:
            self._wrong_code()
            return
        if phase == "version":
            try:
                versions = json.loads(plaintext.decode("utf-8")).get("app_versions", {})
            except (ValueError, AttributeError):
                versions = {}
            self._confirmed = True
            self._events.append(PeerConfirmed(versions if isinstance(versions, dict) else {}))
        elif phase.isdigit():
            self._deadline = None
            self._events.append(Received(int(phase), plaintext))
        # other phases (dilation, newer versions) are not ours: ignored, as the library does

    def _wrong_code(self) -> None:
        self._events.append(WrongCode())
        self.close("scary")

    def _seal(self, phase: str, plaintext: bytes) -> bytes:
        assert self._key is not None
        return encrypt(phase_key(self._key, self.side, phase), plaintext)

    def _add_numbered(self, data: bytes) -> None:
        phase = str(self._next_phase)
        self._next_phase += 1
        self._add(phase, self._seal(phase, data))

    # --- plumbing -----------------------------------------------------------------------

    def _claim(self, nameplate: str) -> None:
        self._nameplate = nameplate
        self._tx("claim", nameplate=nameplate)

    def _release(self) -> None:
        if self._nameplate is not None and not self._released:
            self._released = True
            self._awaiting_release = True
            self._tx("release", nameplate=self._nameplate)

    def _add(self, phase: str, body: bytes) -> None:
        self._tx("add", phase=phase, body=body.hex())

    def _tx(self, kind: str, **fields: Any) -> None:
        fields["type"], fields["id"] = kind, secrets.token_hex(2)
        self._outbox.append(json.dumps(fields))

    def _expect_reply(self, now: float) -> None:
        self._deadline, self._deadline_event = now + REPLY_TIMEOUT, None

    def _fail(self, reason: str, mood: str = "errory") -> None:
        if not self._closing:
            self._events.append(Failed(reason))
            self.close(mood)

    def _maybe_closed(self) -> None:
        if self._closing and not (self._awaiting_close or self._awaiting_release):
            self._finish(Closed())

    def _finish(self, event: Event) -> None:
        if not self._done:
            self._done = True
            self._deadline = None
            self._events.append(event)
