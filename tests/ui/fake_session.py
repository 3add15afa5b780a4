"""An in-memory stand-in for `SessionAPI`: records what the UI asks and lets tests emit events.

Also used by `benchmarks/ui.py` (imported by path).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from p2pchat.session.events import (
    ChatMessage,
    CodeInvite,
    Connected,
    Event,
    MessageSent,
    NickChanged,
    Notice,
    PeerInfo,
    SessionState,
    TransferInfo,
    TransferUpdated,
)
from p2pchat.settings import Settings

FIXED_TIME = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC

ALICE_FINGERPRINT = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
BOB = PeerInfo(
    nickname="bob",
    address="127.0.0.1:40123",
    fingerprint="NBSWY3DPEB3W64TMMQQQ2LKNNWG23TPO",
    short_fingerprint="NBSW-Y3DP",
    encrypted=True,
    verified=False,
    known=True,
)


class FakeSession:
    def __init__(
        self, settings: Settings | None = None, *, clock: Callable[[], float] = lambda: FIXED_TIME
    ) -> None:
        self.settings = settings or Settings(nickname="alice")
        self.on_event: Callable[[Event], None] | None = None
        self.calls: list[tuple] = []  # (method name, *arguments)
        self.clock = clock
        self._nickname = self.settings.nickname
        self._peer: PeerInfo | None = None
        self._state = "idle"
        self._listening_port: int | None = None
        self._rtt_ms: float | None = None
        self._transfers: dict[int, TransferInfo] = {}
        self._ids = itertools.count(1)
        self._transfer_ids = itertools.count(1)
        self.short_code_value = "apple river seven"
        self.fail_offer: Exception | None = None
        self.lan_peers: list = []  # what /peers lists

    # -- state -------------------------------------------------------------------
    @property
    def nickname(self) -> str:
        return self._nickname

    @property
    def listening_port(self) -> int | None:
        return self._listening_port

    @property
    def peer(self) -> PeerInfo | None:
        return self._peer

    @property
    def state(self) -> SessionState:
        return SessionState(self._state)  # the typed state, as Session reports it

    @property
    def rtt_ms(self) -> float | None:
        return self._rtt_ms

    @property
    def own_fingerprint(self) -> str:
        return ALICE_FINGERPRINT

    @property
    def short_code(self) -> str:
        return self.short_code_value if self._peer and self._peer.encrypted else ""

    @property
    def transfers(self) -> list[TransferInfo]:
        return list(self._transfers.values())

    def info(self) -> dict[str, str]:
        self.calls.append(("info",))
        return {"cipher": "TLS_AES_256_GCM_SHA384", "your fingerprint": ALICE_FINGERPRINT}

    # -- test helpers -----------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if isinstance(event, TransferUpdated) or hasattr(event, "transfer"):
            info = event.transfer  # type: ignore[attr-defined]
            self._transfers[info.id] = info
        if isinstance(event, Connected):
            self._peer = event.peer
            self._state = "connected"
        assert self.on_event is not None, "the app has not registered its callback"
        self.on_event(event)

    def set_state(
        self, state: str, *, peer: PeerInfo | None = None, rtt_ms: float | None = None
    ) -> None:
        self._state = state
        self._peer = peer
        self._rtt_ms = rtt_ms

    def connect_bob(self, peer: PeerInfo = BOB) -> None:
        self.emit(Connected(peer))

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self.calls.append(("start",))
        self._state = "listening"
        self._listening_port = self.settings.port

    async def connect(self, address: str) -> None:
        self.calls.append(("connect", address))
        if ":" not in address:
            raise ValueError(f"{address!r} is not HOST:PORT")
        self._state = "dialing"

    def create_invite(self) -> tuple[str, str]:
        self.calls.append(("create_invite",))
        return "p2pchat1fakeinvite", "good for one peer within 24 hours: 127.0.0.1:8080"

    async def invite(self) -> CodeInvite:
        self.calls.append(("invite",))
        line, summary = self.create_invite()
        return CodeInvite("7-crossover-clockwork", line, summary)

    async def quit(self, reason: str = "quit") -> None:
        self.calls.append(("quit", reason))
        self._state = "stopped"

    # -- chat ---------------------------------------------------------------------------
    def send_text(self, body: str, *, action: bool = False) -> str:
        self.calls.append(("send_text", body, action))
        message_id = f"m{next(self._ids)}"
        state = "sent" if self._peer else "pending"
        message = ChatMessage(message_id, self._nickname, body, self.clock(), True, action, state)
        if self.on_event:
            self.on_event(MessageSent(message))
        return message_id

    def earlier_messages(self, message_id: str, outgoing: bool, including: bool, limit: int) -> list[ChatMessage]:
        return []  # no history

    def change_nick(self, nickname: str) -> None:
        self.calls.append(("change_nick", nickname))
        if not nickname or len(nickname) > 32 or any(not c.isprintable() for c in nickname):
            raise ValueError("a nickname is 1 to 32 printable characters")
        old, self._nickname = self._nickname, nickname
        if self.on_event:
            self.on_event(NickChanged(old, nickname, by_peer=False))

    def ping(self) -> None:
        self.calls.append(("ping",))

    def verify_peer(self) -> None:
        self.calls.append(("verify_peer",))
        if self._peer:
            self._peer = replace(self._peer, verified=True)
            self.emit(Notice(f"{self._peer.nickname} is now marked verified"))  # as the real one does

    def distrust_peer(self) -> None:
        self.calls.append(("distrust_peer",))

    def answer_identity(self, accept: bool) -> None:
        self.calls.append(("answer_identity", accept))

    # -- files ----------------------------------------------------------------------------
    async def offer_files(self, paths: list[Path]) -> list[int]:
        self.calls.append(("offer_files", list(paths)))
        if self.fail_offer:
            raise self.fail_offer
        ids = []
        for path in paths:
            info = TransferInfo(
                next(self._transfer_ids), path.name, 1000, "send", "waiting", path=path
            )
            self._transfers[info.id] = info
            ids.append(info.id)
        return ids

    def _known(self, transfer_id: int) -> TransferInfo:
        if transfer_id not in self._transfers:
            raise ValueError(f"no transfer #{transfer_id} (see /transfers)")
        return self._transfers[transfer_id]

    def accept(self, transfer_id: int, save_as: Path | None = None) -> None:
        self.calls.append(("accept", transfer_id, save_as))
        info = self._known(transfer_id)
        self._transfers[transfer_id] = replace(info, state="active")

    def decline(self, transfer_id: int, reason: str = "declined") -> None:
        self.calls.append(("decline", transfer_id))
        info = self._known(transfer_id)
        self._transfers[transfer_id] = replace(info, state="declined")

    def cancel(self, transfer_id: int) -> None:
        self.calls.append(("cancel", transfer_id))
        info = self._known(transfer_id)
        self._transfers[transfer_id] = replace(info, state="cancelled")
