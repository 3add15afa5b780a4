"""Heartbeat rules driven by a fake clock: the time is an argument, nothing sleeps."""

from __future__ import annotations

import pytest

from p2pchat.protocol import Heartbeat


def test_ping_falls_due_after_an_interval_of_send_silence():
    beat = Heartbeat(5, 15, now=100.0)
    assert not beat.ping_due(104.9)
    assert beat.ping_due(105.0)
    beat.frame_sent(105.0)
    assert not beat.ping_due(109.0)
    beat.frame_sent(108.0)  # any frame sent, not only a ping, resets the interval
    assert not beat.ping_due(112.9)
    assert beat.ping_due(113.0)


def test_receiving_does_not_delay_pings():
    beat = Heartbeat(5, 15, now=0.0)
    beat.frame_received(4.0)
    assert beat.ping_due(5.0)


def test_expires_after_the_timeout_of_receive_silence():
    beat = Heartbeat(5, 15, now=0.0)
    assert not beat.expired(14.9)
    beat.frame_received(10.0)
    assert not beat.expired(24.9)
    beat.frame_sent(24.0)  # sending does not prove the peer is alive
    assert beat.expired(25.0)


def test_next_deadline_is_the_earlier_of_ping_and_expiry():
    beat = Heartbeat(5, 15, now=0.0)
    assert beat.next_deadline(0.0) == 5.0
    beat.frame_sent(12.0)
    assert beat.next_deadline(12.0) == 15.0  # expiry now comes before the next ping (17)
    beat.frame_received(13.0)
    assert beat.next_deadline(13.0) == 17.0


def test_clocks_start_at_the_first_call_without_now():
    beat = Heartbeat(5, 15)
    assert not beat.expired(1000.0)
    assert not beat.ping_due(1004.0)
    assert beat.ping_due(1005.0)
    assert beat.next_deadline(1005.0) == 1005.0
    assert beat.expired(1015.0)


def test_round_trip_time():
    beat = Heartbeat(5, 15, now=0.0)
    assert beat.last_rtt is None
    assert beat.pong_received(ping_ts=10.0, now=10.25) == pytest.approx(0.25)
    assert beat.last_rtt == pytest.approx(0.25)
    assert beat.pong_received(ping_ts=20.0, now=19.0) == 0.0  # a ts from the future


@pytest.mark.parametrize(("interval", "timeout"), [(0, 15), (5, 0), (-1, 15), (5, -1)])
def test_rejects_non_positive_durations(interval, timeout):
    with pytest.raises(ValueError):
        Heartbeat(interval, timeout)


def test_sub_second_timers_are_allowed_and_zero_is_not():
    beat = Heartbeat(0.2, 0.5, now=0.0)
    assert beat.ping_due(0.2) and not beat.expired(0.4) and beat.expired(0.5)
    for interval, timeout in ((0, 1), (1, 0), (-1, 1)):
        with pytest.raises(ValueError, match="must be positive"):
            Heartbeat(interval, timeout)


def test_without_a_start_time_the_clocks_start_at_the_first_call():
    for first_call in ("ping_due", "expired", "next_deadline", "frame_sent", "frame_received"):
        beat = Heartbeat(5, 15)
        getattr(beat, first_call)(100.0)
        assert not beat.expired(114.9) and beat.expired(115.0), first_call
        assert beat.next_deadline(100.0) == 105.0, first_call
