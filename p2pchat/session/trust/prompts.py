"""Who the peer is, and whether we talk to it.

With TLS, a peer's id is the fingerprint of its key, proven by the handshake;
known peers are remembered on first use (like ssh's known_hosts) and a familiar
name or address showing a new key is refused unless the user deliberately
accepts it. Without TLS, ids are random per process and nothing is proven: every
surface says UNENCRYPTED.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import Sequence

from p2pchat.identity import (
    Identity,
    IdentityError,
    KnownPeers,
    group_fingerprint,
    normalise_fingerprint,
    short_code,
    short_fingerprint,
)
from p2pchat.identity.pairing import PairingError
from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.net.tls import (
    client_context,
    peer_fingerprint,
    peer_public_key,
    server_context,
    tls_summary,
)
from p2pchat.paths import Paths
from p2pchat.protocol import Bye, Hello
from p2pchat.protocol.transit import RelayAddress
from p2pchat.reach.invites import Invites
from p2pchat.reach.refusal import MetItself
from p2pchat.session.context import PeerLink, Reporter
from p2pchat.session.events import IdentityPrompt, IdentityPromptExpired, PeerInfo, PromptKind
from p2pchat.session.handshake.machine import USED_INVITE, PeerRefused
from p2pchat.session.trust.policy import Ask, Refuse, decide
from p2pchat.settings import AcceptUnknown

PROMPT_TIMEOUT = 110.0


class Trust:
    def __init__(
        self, report: Reporter, link: PeerLink, *, tls: bool, accept_unknown: AcceptUnknown, paths: Paths,
        interactive: bool,
    ) -> None:
        self.report = report
        self.link = link
        self.tls = tls
        self.accept_unknown = AcceptUnknown(accept_unknown)
        self.paths = paths
        self.interactive = interactive  # the front end answers IdentityPrompt events
        self.identity: Identity | None = None
        self.known: KnownPeers | None = None
        self.invites = Invites(paths.invites_file)  # handed out, not yet used
        self.own_id = secrets.token_hex(16)
        self._server_ctx: ssl.SSLContext | None = None
        self._client_ctx: ssl.SSLContext | None = None
        self._prompt: asyncio.Future | None = None
        self._prompt_peer: str | None = None
        self._no_because: dict[str, str] = {}  # peer id -> why it got no answer but "you denied it"
        self._pair_secrets: dict[str, tuple[bytes, bytes]] = {}  # peer id -> (its key, our secret)

    def load(self) -> None:
        if not self.tls:
            return
        paths = self.paths
        self.identity = Identity.load_or_create(paths.identity_dir)
        self.known = KnownPeers.load(paths.known_peers_file)
        self.own_id = self.identity.fingerprint
        self._server_ctx = server_context(self.identity)
        self._client_ctx = client_context(self.identity)

    def server_context(self) -> ssl.SSLContext | None:
        return self._server_ctx

    def client_context(self) -> ssl.SSLContext | None:
        return self._client_ctx

    def pair_secret(self, peer_id: str) -> bytes | None:
        """The secret only we and `peer_id` can compute, once we have kept its key."""
        peer = self.known.get(peer_id) if self.known is not None else None
        if peer is None or not peer.key or self.identity is None:
            return None
        if self._pair_secrets.get(peer_id, (b"", b""))[0] != peer.key:
            try:
                self._pair_secrets[peer_id] = (peer.key, self.identity.pair_secret(peer.key))
            except (PairingError, IdentityError):
                return None
        return self._pair_secrets[peer_id][1]

    # -- during the handshake --------------------------------------------------------
    def check_expected(self, conn: Connection, expected: str | None, *, final: bool = True) -> None:
        """The address named a fingerprint: anyone else is refused before we say a word.
        Not `final`: a path the user did not type (a relay, the LAN), one of several."""
        if not expected:
            return
        expected = normalise_fingerprint(expected)
        if not conn.encrypted:
            conn.abort()
            raise PeerRefused(
                "the address names a fingerprint, which can only be checked with TLS: remove --no-tls",
                final=True,
            )
        actual = peer_fingerprint(conn.ssl_object)
        if actual != expected:
            conn.abort()
            where = f"relay {conn.relay}" if conn.relay else conn.peer_address
            if actual == self.own_id:  # the path leads back to us: no one is intercepting
                if final:
                    raise MetItself()
                raise PeerRefused(f"{where} leads back to this p2pchat itself; refused that path, "
                                  "still trying the others")
            if not final:
                raise PeerRefused(
                    f"IDENTITY MISMATCH through {where}: expected {short_fingerprint(expected)}, "
                    f"someone else ({short_fingerprint(actual)}) answered; refused that path, "
                    "still trying the others")
            raise PeerRefused(
                f"IDENTITY MISMATCH at {conn.peer_address}: the address expects "
                f"{group_fingerprint(expected)} but the peer presented {group_fingerprint(actual)}. "
                "Someone may be intercepting the connection; refused.",
                final=True,
            )

    @staticmethod
    def proven_id(conn: Connection) -> str | None:
        """The fingerprint the TLS handshake proved for the peer; None without TLS."""
        return peer_fingerprint(conn.ssl_object) if conn.encrypted else None

    async def approve(
        self, conn: Connection, hello: Hello, peer_id: str, *, dialed: bool, named: str | None = None
    ) -> None:
        """Return if we talk to this peer; raise PeerRefused (after telling it) if not.
        `named`: the fingerprint in the address the user dialed, if any."""
        if not conn.encrypted or self.known is None:
            return
        self._reload_known()
        if conn.invite_secret is not None and not (
            hello.invite and secrets.compare_digest(hello.invite.encode(), conn.invite_secret.encode())
        ):
            # The relay token is a hash of the secret: the relay and its path know it. Only the
            # secret itself, inside TLS, shows the one who was invited.
            self._refuse(conn)
            raise PeerRefused(
                f"refused {hello.nickname!r} via relay {conn.relay}: it came on an invite's relay token "
                "without the invite's secret (someone who saw the token, not the one you invited)")
        verdict = self.known.check(peer_id, hello.nickname)
        holds_invite = self._holds_invite(hello.invite)
        if verdict.status == "new" and hello.invite and not holds_invite:
            self._refuse_used_invite(conn, hello)
        here = None
        if verdict.status == "new" and dialed and not conn.relay:
            here = self.known.check(peer_id, hello.nickname, conn.peer_address)
        decision = decide(
            verdict.status, self.accept_unknown, interactive=self.interactive, dialed=dialed,
            named=named == peer_id, invite=holds_invite,
            verdict_here=here.status if here is not None else None,
        )
        if here is not None and here.status != "new":
            verdict = here
        if isinstance(decision, Ask):
            kind = PromptKind.CHANGED if decision.changed else PromptKind.UNKNOWN
            prompt = IdentityPrompt(self.peer_info(conn, hello, peer_id), kind, verdict.old_fingerprint)
            if await self._ask(prompt, peer_id, conn):
                if decision.changed:
                    self.known.forget(verdict.old_fingerprint)
                return
            decision = decision.refusal
        if isinstance(decision, Refuse):
            self._refuse(conn)
            raise PeerRefused(self._refusal(decision, conn, hello, peer_id, verdict), final=decision.final)
        if decision.why == "invite":
            self.invites.redeem(hello.invite or "", peer_id)
            self.report.notice(
                f"{hello.nickname} came with your invite: identity {group_fingerprint(peer_id)} "
                "is trusted and remembered"
            )
        elif decision.why == "unknown":
            self.report.notice(
                f"new identity {group_fingerprint(peer_id)} for {hello.nickname}; "
                "compare the short code with /verify"
            )

    def _holds_invite(self, secret: str | None) -> bool:
        """An invite of ours, still pending (using it up is for after the decision)."""
        if not secret:
            return False
        return any(secrets.compare_digest(s.encode(), secret.encode()) for s in self.invites.pending())

    def _refusal(self, refusal: Refuse, conn: Connection, hello: Hello, peer_id: str, verdict) -> str:
        if refusal.changed:
            old = verdict.old_fingerprint
            return (
                f"WARNING: THE KEY OF {hello.nickname!r} ({conn.peer_address}) HAS CHANGED. "
                f"On record ({verdict.matched_by}): {group_fingerprint(old)}; "
                f"presented now: {group_fingerprint(peer_id)}. Someone may be intercepting the chat, "
                "or the peer made a new identity. Compare fingerprints by voice; to accept the new key "
                f"deliberately run `p2pchat peers forget {short_fingerprint(old)}` and connect again"
            )
        asked = self.accept_unknown is AcceptUnknown.ASK
        why = self._no_because.pop(peer_id, "you denied it") if asked else f"accept_unknown = {self.accept_unknown}"
        return (
            f"refused {hello.nickname!r} ({conn.peer_address}): unknown identity "
            f"{group_fingerprint(peer_id)} ({why})"
        )

    def _reload_known(self) -> None:
        # `p2pchat peers forget` in another terminal must count without a restart.
        try:
            self.known = KnownPeers.load(self.paths.known_peers_file)
        except IdentityError as exc:
            self.report.notice(f"{exc}; using the known peers read earlier", "warning")

    async def _ask(self, prompt: IdentityPrompt, peer_id: str, conn: Connection) -> bool:
        """The user's answer; raises ConnectionClosed when the peer hangs up (having refused
        us, say) before it: the question is closed then, as it no longer matters."""
        if self._prompt is not None and not self._prompt.done():
            if self._prompt_peer == peer_id:
                return await asyncio.shield(self._prompt)
            self._no_because[peer_id] = "another new peer's question was open"
            return False  # one question at a time; a second stranger is refused
        question = asyncio.get_running_loop().create_future()
        self._prompt, self._prompt_peer = question, peer_id
        self.report.emit(prompt)
        gone = conn.protocol.closed
        try:
            await asyncio.wait({question, gone}, timeout=PROMPT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if question.done():
                return question.result()
            if gone.done():
                self.report.emit(IdentityPromptExpired(prompt.peer, withdrawn=True))
                raise ConnectionClosed(str(gone.result()))
            self.report.emit(IdentityPromptExpired(prompt.peer))
            self._no_because[peer_id] = "not answered in time"
            return False
        finally:
            if not question.done():
                question.set_result(False)  # unanswered in time: no, for every connection waiting
            if self._prompt is question:
                self._prompt, self._prompt_peer = None, None  # ready for the next question

    def answer(self, accept: bool) -> None:
        if self._prompt is not None and not self._prompt.done():
            self._prompt.set_result(bool(accept))

    def _refuse_used_invite(self, conn: Connection, hello: Hello) -> None:
        """A stranger with an invite someone already redeemed: it may have leaked. Both
        sides are told; the question about a new peer is not asked."""
        used_by = self.invites.used_by(hello.invite or "")
        if used_by is None:
            return  # not one of ours (or expired): an ordinary new peer
        record = self.known.get(used_by) if used_by and self.known is not None else None
        who = f" by {record.nickname!r} ({short_fingerprint(used_by)})" if record else ""
        self._refuse(conn, USED_INVITE)
        raise PeerRefused(
            f"refused {hello.nickname!r} ({conn.peer_address}): it came with an invite already "
            f"used{who}. The invite may have leaked; make a new one for the peer you expect",
            final=True,
        )

    @staticmethod
    def _refuse(conn: Connection, reason: str = "identity refused") -> None:
        try:
            conn.send(Bye(reason))
        except ConnectionClosed:
            pass  # the peer hung up while the user was deciding: the refusal still stands
        finally:
            conn.close()

    # -- after the handshake -----------------------------------------------------------
    def peer_info(self, conn: Connection, hello: Hello, peer_id: str) -> PeerInfo:
        record = self.known.get(peer_id) if (self.known is not None and conn.encrypted) else None
        encrypted = conn.encrypted
        return PeerInfo(
            nickname=hello.nickname,
            address=conn.peer_address,
            fingerprint=peer_id if encrypted else "",
            short_fingerprint=short_fingerprint(peer_id) if encrypted else "",
            encrypted=encrypted,
            verified=bool(record and record.verified),
            known=record is not None,
            route=f"via relay {conn.relay}" if conn.relay else "direct",
        )

    def remember(self, peer: PeerInfo, peer_id: str, relays: Sequence[RelayAddress] = ()) -> None:
        """Keep the peer (and `relays`, where an invite said it waits) in the known peers."""
        if self.known is not None and peer.encrypted:
            address = peer.address
            conn = self.link.connection
            if conn is not None and (not conn.dialed or conn.relay):
                existing = self.known.get(peer_id)
                address = existing.address if existing else ""  # inbound ports are ephemeral; a relay is not the peer
            key = peer_public_key(conn.ssl_object) if conn is not None and conn.ssl_object is not None else b""
            try:
                self.known.remember(peer_id, peer.nickname, address, key=key, relays=relays)
            except Exception as exc:  # a read-only data dir must not break the chat
                self.report.notice(f"could not save known peers: {exc}", "warning")

    def seen(self, peer_id: str | None) -> None:
        """The chat with this peer ends now: `p2pchat peers` shows it last seen now, not when
        the connection began."""
        if peer_id is None or self.known is None or not self.tls:
            return
        try:
            self.known.touch(peer_id)
        except Exception as exc:  # a read-only data dir must not break the chat
            self.report.notice(f"could not save known peers: {exc}", "warning")

    def verify(self, peer_id: str | None) -> bool:
        """Record that the user compared the short code; False if there is nothing to verify."""
        if peer_id is None or self.known is None:
            return False
        self.known.mark_verified(peer_id)
        return True

    def forget(self, peer_id: str) -> None:
        """The user no longer trusts this key: the next connection with it asks again."""
        if self.known is None:
            return
        try:
            self.known.forget(peer_id)
        except Exception as exc:  # a read-only data dir must not break the chat
            self.report.notice(f"could not save known peers: {exc}", "warning")

    def short_code(self, peer_id: str | None) -> str:
        if not peer_id or self.identity is None:
            return ""
        return short_code(self.own_id, peer_id)

    def describe_own(self) -> str:
        if self.identity is None:
            return "UNENCRYPTED: no identity in use (--no-tls)"
        return f"fingerprint {group_fingerprint(self.own_id)}"

    def describe_connection(self, conn: Connection, peer_id: str | None) -> dict[str, str]:
        if conn.ssl_object is None:
            return {"encryption": "UNENCRYPTED (--no-tls): anyone on the path can read this chat"}
        summary = tls_summary(conn.ssl_object)
        return {
            "encryption": f"{summary['tls_version']}, {summary['cipher']}",
            "peer fingerprint": group_fingerprint(peer_id or ""),
            "your fingerprint": group_fingerprint(self.own_id),
            "short code": self.short_code(peer_id),
            "verified": "yes" if self.link.peer and self.link.peer.verified else "no (use /verify)",
        }
