"""The small API a front end uses to drive a session.

`p2pchat.session.Session` implements it (tests/unit/test_api.py checks that), and
both front ends take it injected, so tests may hand them any object of that shape. Methods that only queue work are plain functions; methods that must
wait for the network are coroutines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from p2pchat.session.events import (
    ChatMessage,
    CodeInvite,
    Event,
    LanPeer,
    PeerInfo,
    SessionState,
    TransferInfo,
)


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
    def state(self) -> SessionState: ...
    @property
    def rtt_ms(self) -> float | None: ...
    @property
    def own_fingerprint(self) -> str: ...
    @property
    def short_code(self) -> str: ...  # words both sides compare aloud; "" when not connected/TLS
    @property
    def transfers(self) -> list[TransferInfo]: ...
    @property
    def unacked_count(self) -> int: ...  # messages sent and not yet acknowledged
    @property
    def lan_peers(self) -> list[LanPeer]: ...  # p2pchat users announcing on the LAN, known first
    def info(self) -> dict[str, str]: ...  # /info lines: cipher, TLS version, fingerprints, log file...

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None: ...  # listen, and dial settings.connect if given
    async def connect(self, address: str) -> None: ...  # HOST:PORT, p2pchat://HOST:PORT/FP, invite, code
    def create_invite(self) -> tuple[str, str]: ...  # (invite line, what it allows); ValueError
    async def invite(self) -> CodeInvite: ...  # a code (within 5 s, or why not) and the invite line
    async def quit(self, reason: str = "quit") -> None: ...  # bye to the peer, close everything
    async def wait_delivered(self, timeout: float) -> bool: ...  # all acked and files arrived

    # -- chat ----------------------------------------------------------------------
    def send_text(self, body: str, *, action: bool = False) -> str: ...  # returns message id
    # Up to `limit` messages with the peer before message_id (and it, when including), oldest
    # first, from the history: what the log pages back in once its own lines run out.
    def earlier_messages(self, message_id: str, outgoing: bool, including: bool, limit: int) -> list[ChatMessage]: ...
    def change_nick(self, nickname: str) -> None: ...  # raises ValueError on a bad name
    def ping(self) -> None: ...
    def verify_peer(self) -> None: ...  # the user compared the short code: mark verified
    def distrust_peer(self) -> None: ...  # the codes did not match: disconnect, forget its key
    def answer_identity(self, accept: bool) -> None: ...  # reply to an IdentityPrompt

    # -- files ------------------------------------------------------------------
    # One /send is one transfer: a file, or a batch (TransferInfo.file_count > 1, or a folder).
    async def offer_files(self, paths: list[Path]) -> list[int]: ...  # [the transfer's id]
    # save_as: the file's new path; for a batch, the folder to save it in.
    def accept(self, transfer_id: int, save_as: Path | None = None) -> None: ...
    def decline(self, transfer_id: int, reason: str = "declined") -> None: ...
    def cancel(self, transfer_id: int) -> None: ...
