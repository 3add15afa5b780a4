"""Plain mode shows a long transfer's progress calmly on stderr; stdout stays one line per event."""

from __future__ import annotations

import io

from p2pchat.plain import PlainFrontEnd
from p2pchat.session.events import TransferInfo, TransferUpdated
from p2pchat.settings import Settings

GiB = 1024**3


def test_progress_lines_go_to_stderr_every_few_seconds_and_the_result_to_stdout():
    now = [0.0]
    out, err = io.StringIO(), io.StringIO()
    front = PlainFrontEnd(Settings(nickname="alice"), out=out, err=err, clock=lambda: now[0])
    for tenth in range(0, 101):  # ten reports a second for ten seconds
        now[0] = tenth / 10
        done = GiB * tenth // 100
        front.on_event(TransferUpdated(TransferInfo(1, "big.iso", GiB, "send", "active", done=done,
                                                    speed=GiB / 10, eta=(GiB - done) / (GiB / 10))))
    front.on_event(TransferUpdated(TransferInfo(1, "big.iso", GiB, "send", "done", done=GiB, speed=GiB / 10)))
    lines = err.getvalue().splitlines()
    assert lines == [
        "* #1 -> big.iso 0 B/1.0 GiB active, 102.4 MiB/s, 00:10 left (0%)",
        "* #1 -> big.iso 512.0 MiB/1.0 GiB active, 102.4 MiB/s, 00:05 left (50%)",
        "* #1 -> big.iso 1.0 GiB/1.0 GiB active, 102.4 MiB/s, 00:00 left (100%)",
    ]
    assert out.getvalue() == "* #1 big.iso sent (1.0 GiB, 102.4 MiB/s)\n"


def test_what_was_not_delivered_names_messages_and_transfers():
    from p2pchat.plain import undelivered

    class Stub:
        unacked_count = 2
        transfers = [TransferInfo(1, "pics/", 10, "send", "offered", file_count=4),
                     TransferInfo(2, "a.txt", 1, "send", "done"), TransferInfo(3, "b", 1, "receive", "active")]

    assert undelivered(Stub()) == "2 message(s) and 1 transfer(s) (#1)"
    Stub.unacked_count, Stub.transfers = 0, []
    assert undelivered(Stub()) == "0 message(s)"
