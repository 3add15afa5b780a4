"""Dialing a peer by every path at once: its direct addresses and the relays.

Direct addresses start at once; the relays get going `HEAD_START` seconds later (or as soon
as every direct attempt has failed), like Happy Eyeballs. Relays are tried in order, each with
every token that may find the peer there. The first connection whose TLS fingerprint is the
expected one wins; every other is closed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from p2pchat.net.connection import Connection, ConnectionClosed
from p2pchat.net.dialer import answered_without_tls, describe_dial_error, dial, nothing_answered
from p2pchat.net.relay import RelayError, open_relay, tls_over_relay
from p2pchat.protocol.transit import RelayAddress
from p2pchat.reach.missing import PathFailure
from p2pchat.reach.plan import Address, RelayToken
from p2pchat.reach.refusal import PeerRefused

HEAD_START = 1.0  # seconds the direct addresses have before the relays are tried


class ReachError(Exception):
    """No path led to the peer; the message gives each path's reason, `paths` how each failed."""

    def __init__(self, message: str, paths: Sequence[PathFailure] = ()) -> None:
        super().__init__(message)
        self.paths = tuple(paths)


@dataclass
class ReachPlan:
    direct: Sequence[Address]  # net.address.PeerAddress, as the plan names them
    relays: list[RelayAddress]
    tokens: list[RelayToken]  # empty: the relays cannot be used for this peer
    client_context: ssl.SSLContext | None
    server_context: ssl.SSLContext | None
    side: str
    timeout: float  # for each connection and TLS handshake, and for the peer to show up
    check: Callable[[Connection], None]  # raises PeerRefused for the wrong identity


async def reach(plan: ReachPlan) -> Connection:
    direct_failed = asyncio.Event()
    direct = [asyncio.ensure_future(_direct(plan, address)) for address in plan.direct]
    tasks = list(direct)
    if plan.relays and plan.tokens:
        tasks.append(asyncio.ensure_future(_relays(plan, direct_failed)))
    if not tasks:
        raise ReachError("no address to try, and no relay that could find this peer")
    def on_failure() -> None:  # once every direct address failed, the relays may stop waiting
        if all(t.done() and not t.cancelled() and t.exception() is not None for t in direct):
            direct_failed.set()

    winner = await _first_success(tasks, on_failure=on_failure)
    if isinstance(winner, Connection):
        return winner
    refusals = [r for r in winner if isinstance(r, PeerRefused)]
    if refusals:
        raise refusals[0]
    raise ReachError("; ".join(str(r) for r in winner), [p for r in winner for p in getattr(r, "paths", ())])


async def _first_success(tasks: Sequence[asyncio.Future[Any]], on_failure: Callable[[], object] = lambda: None):
    """The first task's result that is not an exception (the others cancelled, and anything
    they opened closed), or the list of every task's exception."""
    reasons: list[BaseException] = []
    winner = None
    try:
        pending = set(tasks)
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is None and winner is None:
                    winner = task
                elif task.exception() is not None:
                    reasons.append(task.exception())
            on_failure()
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for task, result in zip(tasks, results, strict=True):
            if task is not winner and not isinstance(result, BaseException):
                _discard(result)
    return winner.result() if winner is not None else reasons


def _discard(result) -> None:
    if isinstance(result, Connection):
        result.abort()
    elif isinstance(result, tuple):  # a glued relay socket and its token
        result[0].close()


async def _checked(plan: ReachPlan, opening: Awaitable[Connection]) -> Connection:
    conn = await opening
    try:
        plan.check(conn)
    except BaseException:
        conn.abort()
        raise
    return conn


async def _direct(plan: ReachPlan, address: Address) -> Connection:
    try:
        return await _checked(plan, dial(address.host, address.port, plan.client_context, plan.timeout))
    except (OSError, asyncio.TimeoutError, ConnectionError, ConnectionClosed) as exc:
        reason = describe_dial_error(exc, str(address))
        if answered_without_tls(exc) and _only_path(plan):
            # A setting mismatch does not heal itself: say it once and stop. With other
            # addresses to try, the answer may come from some other service: keep trying.
            raise PeerRefused(f"{reason}; stopped dialing", final=True) from None
        failure = PathFailure(str(address), address.host, relayed=False, reached=not nothing_answered(exc))
        raise ReachError(reason, [failure]) from None


def _only_path(plan: ReachPlan) -> bool:
    return len(plan.direct) == 1 and not (plan.relays and plan.tokens)


async def _relays(plan: ReachPlan, direct_failed: asyncio.Event) -> Connection:
    if plan.direct:
        # asyncio.wait, not wait_for: up to Python 3.11 wait_for swallows a cancel that comes
        # with the event, and the relays would be tried after a direct path has won.
        failed = asyncio.ensure_future(direct_failed.wait())
        try:
            await asyncio.wait({failed}, timeout=HEAD_START)
        finally:
            failed.cancel()
    reasons, failures = [], []
    for relay in plan.relays:
        try:
            return await _checked(plan, _one_relay(plan, relay))
        except RelayError as exc:
            reasons.append(str(exc))
            failures.append(PathFailure(f"relay {relay}", relay.host, relayed=True, reached=exc.reached))
    raise ReachError("; ".join(reasons), failures)


async def _one_relay(plan: ReachPlan, relay: RelayAddress) -> Connection:
    """Ask the relay with each token at once; the first glued socket gets TLS."""
    async def ask(token: RelayToken):
        sock = await open_relay(relay, token.token, plan.side, timeout=plan.timeout, wait=plan.timeout)
        return sock, token

    found = await _first_success([asyncio.ensure_future(ask(t)) for t in plan.tokens])
    if isinstance(found, list):
        raise found[0]
    sock, token = found
    context = plan.client_context if token.tls_client else plan.server_context
    return await tls_over_relay(sock, context, relay, tls_client=token.tls_client, dialed=True, timeout=plan.timeout)
