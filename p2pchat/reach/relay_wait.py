"""Waiting to be found on the relays, beside the listener.

For every relay in the settings, one connection waits for each token that may bring a peer:
each pending or used invite, and the token derived with the last peer while no chat is up and we
are not dialing it ourselves. That peer is also waited for on the relays kept with it (where
its invite said it waits). A glued connection gets TLS and goes through the normal
handshake, as an inbound connection does; then a fresh one waits in its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from loguru import logger

from p2pchat.net.relay import RelayError, open_relay, tls_over_relay
from p2pchat.protocol.invite import relay_token
from p2pchat.protocol.transit import RelayAddress, tls_client_over_relay
from p2pchat.reach.backoff import backoff
from p2pchat.reach.plan import known_peer_token
from p2pchat.reach.ports import Credentials, Handshake, Notice, Spawn
from p2pchat.reach.refusal import PeerRefused
from p2pchat.reach.repeats import RepeatedWarnings

REFRESH = 1.0  # seconds between looks at the invites file and the session's state
FIRST_RETRY = 1.0
USED_WATCHED = 4  # used invites waited for at most (the most recent): each holds a connection
RETRY_CAP = 30.0


class RelayWaiter:
    def __init__(
        self,
        credentials: Credentials,
        relays: list[RelayAddress],
        side: str,
        *,
        peer: Callable[[], str | None],
        chatting: Callable[[], bool] = lambda: False,
        kept: Callable[[str], Sequence[RelayAddress]] = lambda peer: (),
        handshake: Handshake,
        spawn: Spawn,
        notice: Notice,
        timeout: float,
    ) -> None:
        self.credentials = credentials
        self._peer = peer  # whose derived token to wait for, if anyone's
        self._chatting = chatting  # a chat is up: used invites are not waited for meanwhile
        self._kept = kept  # the relays kept with a known peer
        self._handshake = handshake  # for a peer that arrives (it handles its own failures)
        self._spawn = spawn
        self._notice = notice
        self.timeout = timeout
        self.relays = relays
        self.side = side
        self._waiting: dict[tuple[RelayAddress, str], asyncio.Task] = {}
        self._watch: asyncio.Task | None = None
        self.status: dict[RelayAddress, str] = {}  # what /info says about each relay
        self._refusals = RepeatedWarnings()
        self._closed = False

    def start(self) -> None:
        self._watch = asyncio.create_task(self._watch_loop(), name="relay-waiter")

    async def close(self) -> None:
        self._closed = True
        tasks = [t for t in (self._watch, *self._waiting.values()) if t is not None]
        while tasks:
            for task in tasks:
                task.cancel()
            # Python 3.11's wait_for can swallow a cancellation that races its inner result
            # (the task then waits on the relay again): cancel until every task has ended.
            _, pending = await asyncio.wait(tasks, timeout=0.5)
            tasks = list(pending)
        self._waiting.clear()

    async def _watch_loop(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(REFRESH)

    def wanted(self) -> dict[tuple[RelayAddress, str], tuple[bool, str | None, str | None]]:
        """(relay, token) -> (our TLS role is client, the fingerprint expected there or None,
        the pending invite's secret the token stands for or None)."""
        own = self.credentials.own_id
        # A used invite is waited for too, until it expires, while no chat is up (a peer
        # arriving during a chat finds us busy anyway, and a chat moved off the relay should
        # leave nothing there): a second peer that comes with it is then told it was used (and
        # the inviter that it may have leaked), not left waiting.
        invites = self.credentials.invites
        tokens: dict[str, tuple[bool, str | None, str | None]] = {}
        if self.relays:  # an invite names only the relays of the settings
            pending, used = invites.pending_and_used()
            used = [] if self._chatting() else used[-USED_WATCHED:]
            tokens = {
                relay_token(secret): (tls_client_over_relay(own, "", invited=False), None, secret)
                for secret in (*pending, *used)
            }
        wanted = {(relay, token): how for relay in self.relays for token, how in tokens.items()}
        peer = self._peer()
        if peer is not None and peer != own:
            known = known_peer_token(own, peer, self.credentials.pair_secret(peer))
            for relay in dict.fromkeys([*self.relays, *self._kept(peer)]):
                wanted[(relay, known.token)] = (known.tls_client, peer, None)
        return wanted

    def refresh(self) -> None:
        wanted = self.wanted()
        for key in list(self._waiting):
            if key not in wanted:
                self._waiting.pop(key).cancel()
        for relay, token in wanted.keys() - set(self._waiting):
            self._waiting[(relay, token)] = asyncio.create_task(
                self._wait(relay, token, *wanted[(relay, token)]), name=f"relay-wait {relay}"
            )

    def _report(self, relay: RelayAddress, status: str, notice: str, level: str = "info") -> None:
        """Keep `status` for /info; say `notice` only when the status changes."""
        if self.status.get(relay) != status:
            self.status[relay] = status
            self._notice(notice, level)

    async def _wait(
        self, relay: RelayAddress, token: str, tls_client: bool, expected: str | None, invite: str | None
    ) -> None:
        credentials, timeout = self.credentials, self.timeout
        failures = 0
        while not self._closed:
            try:
                sock = await open_relay(
                    relay, token, self.side, timeout=timeout, wait=None,
                    on_waiting=lambda: self._report(relay, "waiting for the peer",
                                                    f"relay {relay}: waiting for the peer"),
                )
                context = credentials.client_context() if tls_client else credentials.server_context()
                conn = await tls_over_relay(
                    sock, context, relay, tls_client=tls_client, dialed=False, timeout=timeout
                )
            except RelayError as exc:
                failures += 1
                delay = backoff(failures, first=FIRST_RETRY, cap=RETRY_CAP)
                self._report(relay, str(exc), f"{exc}; trying again every {delay:.0f} to {RETRY_CAP:.0f} s",
                             "warning")
                await asyncio.sleep(delay)
                continue
            conn.invite_secret = invite  # the handshake admits only the peer that brings it
            try:
                credentials.check_expected(conn, expected, final=False)
            except PeerRefused as exc:  # someone else waits under this token: back off, warn rarely
                failures += 1
                line = self._refusals.say(str(exc))
                if line:
                    self._notice(line, "warning")
                await asyncio.sleep(backoff(failures, first=FIRST_RETRY, cap=RETRY_CAP))
                continue
            failures = 0
            logger.info("a peer arrived through relay {}", relay)
            # Wait for the handshake: an invite it redeems must not be waited for again.
            await asyncio.shield(self._spawn(self._handshake(conn, expected), "relay-inbound"))
            if (relay, token) not in self.wanted():
                self._waiting.pop((relay, token), None)
                return
