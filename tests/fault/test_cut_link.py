"""10,000 numbered messages through a connection cut three times arrive exactly once, in order."""

from __future__ import annotations

import pytest
from cut_three_times import run

pytestmark = pytest.mark.fault


@pytest.mark.alone  # 10,000 messages as fast as the CPU allows
def test_ten_thousand_messages_survive_three_cuts(tmp_path):
    result = run(tmp_path, count=10_000, cuts=3)
    assert result["connections"] >= 4  # the first one and one per cut
    print(f"10,000 messages, 3 cuts: {result['seconds']:.1f} s ({result['per_second']:.0f}/s)")
