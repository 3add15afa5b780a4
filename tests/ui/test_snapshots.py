"""Snapshot tests: the connect screen, a chat with transfers, the identity warning, the help."""

from __future__ import annotations

import pytest
from app_harness import Harness
from scenes import SCENES, SIZE


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_snapshot(scene, snap_compare, tmp_path):
    options, setup = SCENES[scene]
    harness = Harness(tmp_path, **options)

    async def run_before(pilot) -> None:
        await setup(pilot, harness)

    assert snap_compare(harness.app, terminal_size=SIZE, run_before=run_before)
