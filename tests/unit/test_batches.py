"""A batch summed up from its files: state, counts, and a speed over the time bytes moved."""

from __future__ import annotations

from dataclasses import replace

from p2pchat.session.transfers.batches import Batch, batch_name
from p2pchat.session.transfers.jobs import new_job
from p2pchat.transfer import ProgressMeter

MiB = 1024 * 1024


def batch_of(*files: dict) -> Batch:
    """Files given as TransferInfo fields, plus `moved` = (start, end) of the time they moved."""
    batch = Batch(1, 99, "send", "album/", sum(f["size"] for f in files), len(files), "peer")
    for n, changes in enumerate(files):
        moved = changes.pop("moved", None)
        t = new_job(1, n + 1, "send", f"album/{n}", changes["size"], "peer")
        t.info = replace(t.info, **changes)
        if moved is not None:
            t.meter = ProgressMeter(t.info.size, moved[0], start=t.info.resumed_from)
            t.meter.update(t.info.size, moved[1])
        t.batched = True
        batch.members.append(t)
    return batch


def test_names_say_the_folder_or_the_count():
    assert batch_name(["album/a.jpg", "album/sub/b.jpg"]) == "album/"
    assert batch_name(["a.txt", "b.txt", "album/c.jpg"]) == "3 files"


def test_the_speed_counts_only_bytes_that_crossed_over_the_time_they_took():
    batch = batch_of(
        dict(size=100 * MiB, state="done", done=100 * MiB, moved=(10.0, 11.0)),
        # resumed after the peer was away for 20 s: half of it crossed, overlapping another file
        dict(size=100 * MiB, state="done", done=100 * MiB, resumed_from=50 * MiB, moved=(31.0, 32.0)),
        dict(size=10, state="done", done=10, moved=(31.5, 31.6)),
        dict(size=5, state="done", done=5),  # finished in an earlier run: not timed
    )
    info = batch.summary()
    assert (info.state, info.files_done, info.file_count, info.done) == ("done", 4, 4, 200 * MiB + 15)
    assert info.speed == (150 * MiB + 10) / 2.0 and info.resumed_from == 50 * MiB


def test_while_files_move_it_is_active_with_the_speed_and_time_left():
    batch = batch_of(dict(size=100, state="done", done=100, speed=50.0), dict(size=300, state="active", done=100, speed=100.0))
    info = batch.summary()
    assert (info.state, info.done, info.speed, info.eta, info.files_done) == ("active", 200, 100.0, 2.0, 1)


def test_an_outcome_names_how_many_files_failed():
    batch = batch_of(dict(size=1, state="done", done=1), dict(size=1, state="failed", reason="disk full"))
    info = batch.summary()
    assert (info.state, info.reason) == ("failed", "1 of 2 files failed, album/1: disk full")
    declined = batch_of(dict(size=1, state="declined", reason="declined"), dict(size=1, state="declined", reason="declined"))
    assert (declined.summary().state, declined.summary().reason) == ("declined", "declined")


def test_between_two_files_a_batch_stays_active():
    batch = batch_of(dict(size=100, state="done", done=100, speed=50.0), dict(size=300, state="offered"))
    assert batch.summary().state == "active"
