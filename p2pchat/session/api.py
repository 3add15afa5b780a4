"""The small API a front end uses to drive a session.

`p2pchat.session.Session` implements it; UI tests may inject any object with the
same shape. Methods that only queue work are plain functions; methods that must
wait for the network are coroutines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from p2pchat.session.events import Event, LanPeer, PeerInfo, TransferInfo


class SessionAPI(Protocol):
    on_event: Callable[[Event], None] | None

    # -- state, read at any time ------------------------------------------------
    @property
    def nickname(self) -> str: ...
    @property
    def listening_port(self) -> int | None: ...
    @property
    def peer(self) -> PeerInfo | None: ...  # None while not connected
    @property
    def state(self) -> str: ...  # idle | listening | dialing | connected | reconnecting | stopped
    @property
    def rtt_ms(self) -> float | None: ...
    @property
    def own_fingerprint(self) -> str: ...
    @property
    def short_code(self) -> str: ...  # words both sides compare aloud; "" when not connected/TLS
    @property
    def transfers(self) -> list[TransferInfo]: ...
    @property
    def lan_peers(self) -> list[LanPeer]: ...  # p2pchat users announcing on the LAN, known first
    def info(self) -> dict[str, str]: ...  # /info lines: cipher, TLS version, fingerprints, log file...

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None: ...  # listen, and dial settings.connect if given
    async def connect(self, address: str) -> None: ...  # HOST:PORT, p2pchat://HOST:PORT/FP, invite
    def create_invite(self) -> tuple[str, str]: ...  # (invite line, what it allows); ValueError
    async def quit(self, reason: str = "quit") -> None: ...  # bye to the peer, close everything

    # -- chat ----------------------------------------------------------------------
    def send_text(self, body: str, *, action: bool = False) -> str: ...  # returns message id
    def change_nick(self, nickname: str) -> None: ...  # raises ValueError on a bad name
    def ping(self) -> None: ...
    def verify_peer(self) -> None: ...  # the user compared the short code: mark verified
    def answer_identity(self, accept: bool) -> None: ...  # reply to an IdentityPrompt

    # -- files ------------------------------------------------------------------
    async def offer_files(self, paths: list[Path]) -> list[int]: ...  # transfer ids
    def accept(self, transfer_id: int, save_as: Path | None = None) -> None: ...
    def decline(self, transfer_id: int, reason: str = "declined") -> None: ...
    def cancel(self, transfer_id: int) -> None: ...
