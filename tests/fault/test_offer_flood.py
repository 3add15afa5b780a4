"""A flood of file offers at a peer that accepts every offer: each one is answered, the chat
and the heartbeat go on, a newcomer is still answered, and the peer keeps a handful of threads."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import pytest

from p2pchat.protocol import (  # noqa: E402
    Ack,
    Busy,
    FileAccept,
    FileDecline,
    FileOffer,
    Ping,
    Pong,
    Text,
    encode,
)
from p2pchat.session.transfers import MAX_OPEN_OFFERS  # noqa: E402
from tests.support.raw_peer import RawPeer

pytestmark = pytest.mark.fault

OFFERS = 1000
MAX_THREADS = 12  # main, stdin, a few for the event loop's helpers, the disk pool


def _threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


async def _flood(bob, answered: int) -> dict:
    port, pid = bob.port(), bob.proc.pid
    peer = await RawPeer.connect(port)
    tids = [secrets.randbits(63) + 1 for _ in range(OFFERS)]
    texts = [secrets.token_hex(16), secrets.token_hex(16)]
    frames = [FileOffer(tid, f"flood-{n}.bin", 1000, f"key-{n}") for n, tid in enumerate(tids)]
    frames.insert(OFFERS // 2, Text(texts[0], 1.0, "in the middle of the flood", False))
    frames.append(Text(texts[1], 1.0, "after the flood", False))
    started = time.perf_counter()
    peer.writer.write(b"".join(encode(f) for f in frames))
    newcomer = asyncio.create_task(RawPeer.connect(port, ready=False, nickname="newcomer", peer_id="y" * 32))

    answers: dict[int, object] = {}
    order: list[str] = []  # "answer" or "ack:N", as they arrive
    pings = pings_in_flood = 0
    elapsed = None
    most_threads = _threads(pid)
    # Until every answer and both ACKs are in, and two heartbeats came after the flood.
    while len(answers) < answered or order.count("ack:0") + order.count("ack:1") < 2 or pings < pings_in_flood + 2:
        frame = await peer.expect(object)
        most_threads = max(most_threads, _threads(pid))
        if isinstance(frame, Ping):
            peer.send(Pong(frame.ts))
            pings += 1
            if len(answers) < answered:
                pings_in_flood = pings
        elif isinstance(frame, (FileAccept, FileDecline)):
            assert frame.tid not in answers, "an offer was answered twice"
            answers[frame.tid] = frame
            order.append("answer")
        elif isinstance(frame, Ack):
            order.append(f"ack:{texts.index(frame.id)}")
        if len(answers) == answered and elapsed is None:
            elapsed = time.perf_counter() - started
    newcomer_peer = await newcomer
    busy = await newcomer_peer.expect(Busy)
    newcomer_peer.close()
    drops = bob.count(r"^\* (connection lost|.* left)")  # before we leave ourselves
    peer.close()
    return dict(answers=answers, order=order, pings_in_flood=pings_in_flood, most_threads=most_threads,
                busy=busy, elapsed=elapsed, tids=tids, drops=drops)


@pytest.mark.parametrize("auto_accept", [True, False], ids=["auto-accept", "ask"])
def test_offer_flood_is_answered_and_starves_nothing(spawn, auto_accept):
    bob = spawn("bob", "--port", "0", "--bind", "127.0.0.1", "--no-tls", *(["--auto-accept"] * auto_accept))
    answered = OFFERS if auto_accept else OFFERS - MAX_OPEN_OFFERS  # asked offers wait for a person
    result = asyncio.run(_flood(bob, answered))

    answers = result["answers"]
    accepted = [tid for tid in result["tids"] if isinstance(answers.get(tid), FileAccept)]
    declined = [answers[tid] for tid in result["tids"] if isinstance(answers.get(tid), FileDecline)]
    assert accepted == (result["tids"][:MAX_OPEN_OFFERS] if auto_accept else [])  # the first ones
    assert len(declined) == OFFERS - MAX_OPEN_OFFERS
    assert all(f"at most {MAX_OPEN_OFFERS}" in d.reason for d in declined)
    order = result["order"]
    assert order.index("ack:0") < len(order) - 1 - order[::-1].index("answer")  # chat went on mid-flood
    assert result["busy"].reason == "already in a chat"  # a newcomer was answered during it
    assert result["most_threads"] <= MAX_THREADS, f"{result['most_threads']} threads"
    mode = "auto-accept" if auto_accept else "ask"
    print(f"{OFFERS} offers ({mode}), {answered} answered in {result['elapsed']:.2f} s; "
          f"{result['pings_in_flood']} heartbeats during the flood; at most {result['most_threads']} threads")
    assert result["drops"] == 0  # the flooding peer was never dropped
