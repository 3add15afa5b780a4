"""The handshake of one connection, as a state machine without I/O.

Fed the frames a connection receives, it answers with decisions for the caller to
carry out: ask whether we talk to this peer, send READY with a session, activate,
answer BUSY, close as a duplicate. Refusals raise `PeerRefused` (with the frame to
send, if any) and broken rules raise `ProtocolError`. What it needs to know about
the rest of this side (the live session, other connections still in their
handshake) is passed in as a `Standing`, and time as `now`: nothing here waits,
reads a clock or touches a socket, so both ends can be run against each other in
plain function calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p2pchat.identity import group_fingerprint, normalise_fingerprint
from p2pchat.protocol import (
    PROTOCOL_VERSION,
    Busy,
    Bye,
    Error,
    Frame,
    Hello,
    ProtocolError,
    Ready,
    is_decider,
    new_session_id,
)
from p2pchat.reach.refusal import MetItself as MetItself  # raised here, defined below dialing too
from p2pchat.reach.refusal import PeerRefused as PeerRefused
from p2pchat.transfer.hashing import HASH_CAPABILITY, blake3_available

# upgrade: PROTOCOL.md section 11; blake3: file hashes (transfer/hashing.py), where installed
CAPS = ("acks", "files", "resume", "upgrade") + ((HASH_CAPABILITY,) if blake3_available() else ())
READY_TIMEOUT = 120.0  # after HELLO, acceptance may take this long (a person may be asked)
APPROVAL_NOTICE_AFTER = 1.0  # seconds without READY before saying we wait for the peer's approval
DUPLICATE_WINDOW = 2.0  # seconds after a session starts in which a second connection is a duplicate
# Before the session is up: HELLO first, then READY; BUSY, BYE and ERROR at any time.
ALLOWED_BEFORE_READY: frozenset[type] = frozenset({Hello, Ready, Busy, Bye, Error})
# An ERROR with one of these codes will not go away by dialing again.
USED_INVITE = "invite already used"  # a BYE reason: the inviter saw this invite redeemed before
IDENTITY_REFUSED = "identity refused"  # a BYE reason: the user does not (or no longer) trust this key
FINAL_ERROR_CODES = frozenset({"tls_required", "tls_unexpected", "incompatible_version", "identity_mismatch"})


@dataclass
class Standing:
    """What this side has, as far as a handshake's decisions go."""

    own_id: str
    live_peer: str | None = None  # the peer of the session that is up
    session_id: str | None = None  # the current or most recent session
    last_peer: str | None = None  # whom that session was with
    live_since: float = 0.0  # when the live session came up
    claims: set[str] = field(default_factory=set)  # peers with a connection waiting for READY


# -- decisions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Approve:
    """Ask whether we talk to this peer; then call `Handshake.approved()`."""

    hello: Hello
    peer_id: str


@dataclass(frozen=True)
class AnswerBusy:
    """Someone else already has us: send BUSY, close, tell the user `notice`."""

    notice: str
    frame: Busy = Busy("already in a chat")


@dataclass(frozen=True)
class CloseDuplicate:
    """Another connection carries (or will carry) the session: send BYE and close."""

    frame: Bye = Bye("duplicate")


@dataclass(frozen=True)
class SendReady:
    """Send `frame` and wait for the peer's READY."""

    frame: Ready


@dataclass(frozen=True)
class Activate:
    """The session is up on this connection."""

    session_id: str


@dataclass(frozen=True)
class PeerClosed:
    """The peer said BYE during the handshake."""

    reason: str


@dataclass(frozen=True)
class Abandon:
    """Another peer's session came up while this one was being set up: drop this connection."""


# What the handshake tells its caller to do next (None: wait for the next frame).
Decision = Approve | AnswerBusy | CloseDuplicate | SendReady | Activate | PeerClosed | Abandon


def refused_as_busy(standing: Standing, peer_id: str, *, claimed_too: bool = False) -> bool:
    """True if a session (or, with `claimed_too`, a handshake) with another peer holds us."""
    busy_with = standing.live_peer
    if busy_with is None and claimed_too:
        busy_with = next(iter(standing.claims), None)
    return busy_with is not None and busy_with != peer_id


def decide(standing: Standing, hello: Hello, peer_id: str, now: float) -> str | None:
    """As decider: the session id to use on this connection, or None if it is a duplicate."""
    if standing.live_peer == peer_id:
        if peer_id in standing.claims:
            return None  # a replacement is already being set up
        if hello.session and hello.session == standing.session_id:
            return standing.session_id  # the peer lost the old connection: move over
        if now - standing.live_since < DUPLICATE_WINDOW:
            return None  # both dialed at once: the first connection stays
        return new_session_id()  # the peer started afresh (a restart): its old connection is gone
    if peer_id in standing.claims:
        return None  # another connection from this peer is already being set up
    if hello.session and hello.session == standing.session_id and peer_id == standing.last_peer:
        return standing.session_id
    return new_session_id()


class Handshake:
    """One connection from its HELLO to READY.

    `proven_id` is the fingerprint the TLS handshake proved for the peer (None
    without TLS); `address` and `dialed` only change what messages say.
    """

    def __init__(self, own_id: str, *, address: str, proven_id: str | None = None, dialed: bool = False) -> None:
        self.own_id = own_id
        self.address = address
        self.dialed = dialed  # we dialed this connection (only changes what the user is told)
        self.proven_id = proven_id
        self.state = "hello"  # hello -> approving -> ready -> done
        self.hello: Hello | None = None
        self.peer_id: str | None = None
        self.decider = False
        self.session_id: str | None = None
        self._owns_claim = False
        self._claims: set[str] | None = None

    def hello_frame(self, nickname: str, standing: Standing, *, invite: str | None = None) -> Hello:
        """Our HELLO; `invite`: the secret of the invite we answer, for its maker only."""
        return Hello(PROTOCOL_VERSION, nickname, self.own_id, CAPS, standing.session_id, invite)

    def receive(self, frame: Frame, standing: Standing) -> Decision | None:
        """The next frame from the peer: returns a decision, or raises."""
        if self.state not in ("hello", "ready"):
            raise RuntimeError(f"no frame expected while {self.state}")
        if self.state == "hello":
            return self._refusal(frame) or self._on_hello(frame, standing)
        try:
            return self._refusal(frame) or self._on_ready(frame, standing)
        finally:
            self.release()  # whatever came instead of READY, this handshake is over

    def approved(self, standing: Standing, now: float) -> Decision:
        """We talk to this peer: BUSY, a duplicate, or READY to send (the claim starts here)."""
        assert self.state == "approving" and self.hello is not None and self.peer_id is not None
        if refused_as_busy(standing, self.peer_id):  # someone else got in while we asked
            self.state = "done"
            return self._busy()
        if self.decider:
            session_id = decide(standing, self.hello, self.peer_id, now)
            if session_id is None:
                self.state = "done"
                return CloseDuplicate()
            self.session_id = session_id
        self._owns_claim = self.peer_id not in standing.claims  # decide() treats later ones as duplicates
        standing.claims.add(self.peer_id)
        self._claims = standing.claims
        self.state = "ready"
        return SendReady(Ready(self.session_id if self.decider else None))

    def last_word(self, frame: Frame | None) -> PeerClosed | None:
        """What a BUSY, BYE or ERROR the peer sent just before closing means (our write to it
        may have failed first): raises PeerRefused, or returns PeerClosed or None."""
        return self._refusal(frame) if frame is not None else None

    def release(self) -> None:
        """The handshake ended (either way): give up this connection's claim."""
        if self._owns_claim and self._claims is not None:
            self._claims.discard(self.peer_id)
        self._owns_claim = False
        if self.state != "done":
            self.state = "done"

    # -- steps -------------------------------------------------------------------------
    def _refusal(self, frame: Frame) -> PeerClosed | None:
        """BUSY, BYE and ERROR end a handshake at any step."""
        if isinstance(frame, Busy):
            self.state = "done"
            said = "" if frame.reason in ("", AnswerBusy.frame.reason) else f" ({frame.reason})"
            raise PeerRefused(f"{self.address} is already in a chat{said}", final=True)
        if isinstance(frame, Bye):
            self.state = "done"
            if frame.reason == IDENTITY_REFUSED:
                raise PeerRefused(f"{self.address} refused to talk to this identity", final=True)
            if frame.reason == USED_INVITE:
                raise PeerRefused(
                    f"{self.address}: this invite was already used by another peer, so it may have "
                    "leaked; ask for a new invite", final=True)
            return PeerClosed(frame.reason)
        if isinstance(frame, Error):
            self.state = "done"
            final = frame.code in FINAL_ERROR_CODES
            raise PeerRefused(f"{self.address} refused the connection: {frame.message}", final=final)
        return None

    def _on_hello(self, hello: Frame, standing: Standing) -> Decision:
        if not isinstance(hello, Hello):
            raise ProtocolError("unexpected_frame", f"expected HELLO, got {type(hello).__name__}")
        self.state = "done"  # until approved below
        if hello.version != PROTOCOL_VERSION:
            message = f"incompatible protocol version: peer speaks {hello.version}, we speak {PROTOCOL_VERSION}"
            raise PeerRefused(f"{self.address}: {message}", final=True, reply=Error("incompatible_version", message))
        peer_id = self._identify(hello)
        if peer_id == self.own_id:
            raise MetItself(reply=Bye("connected to itself"))
        self.hello, self.peer_id = hello, peer_id
        if refused_as_busy(standing, peer_id, claimed_too=True):
            return self._busy()
        self.decider = is_decider(self.own_id, peer_id)
        self.state = "approving"
        return Approve(hello, peer_id)

    def _identify(self, hello: Hello) -> str:
        if self.proven_id is None:
            return hello.id
        if normalise_fingerprint(hello.id) != self.proven_id:
            # A relay that cannot hold the peer's key: loud, and never worth a retry.
            raise PeerRefused(
                f"IDENTITY MISMATCH at {self.address}: the peer announced another identity "
                f"than the key its TLS certificate proves ({group_fingerprint(self.proven_id)}). "
                "Someone may be relaying the connection; refused.",
                final=True,
                reply=Error("identity_mismatch", "HELLO id differs from the TLS certificate key"),
            )
        return self.proven_id

    def _on_ready(self, ready: Frame, standing: Standing) -> Decision:
        if not isinstance(ready, Ready):
            raise ProtocolError("unexpected_frame", f"expected READY, got {type(ready).__name__}")
        if not self.decider:
            if not ready.session:
                raise ProtocolError("bad_frame", "READY from the deciding side must name a session")
            self.session_id = ready.session
        if standing.live_peer is not None and standing.live_peer != self.peer_id:
            return Abandon()  # another peer won the race while this one was asked
        assert self.session_id is not None  # the decider's since approved(), or the READY's
        return Activate(self.session_id)

    def _busy(self) -> AnswerBusy:
        self.state = "done"
        assert self.hello is not None  # busy is decided after the HELLO
        if self.dialed:
            return AnswerBusy(f"not connecting to {self.hello.nickname} ({self.address}): already in a chat")
        return AnswerBusy(
            f"{self.hello.nickname} ({self.address}) tried to connect; refused: already in a chat"
        )
