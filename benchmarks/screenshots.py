"""Save SVG screenshots of the app's main states into resources/ (uses the fake session).

python benchmarks/screenshots.py [--text]   # --text also prints each screen as plain text
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))

os.environ["TZ"] = "UTC"  # the same timestamps as the snapshot tests
time.tzset()
os.environ.setdefault("P2PCHAT_HOME", tempfile.mkdtemp(prefix="p2pchat-shots-"))

from app_harness import Harness  # noqa: E402
from scenes import SCENES, SIZE  # noqa: E402
from screen_text import screen_text  # noqa: E402


async def capture(name: str, show_text: bool) -> Path:
    options, setup = SCENES[name]
    harness = Harness(None, **options)
    async with harness.app.run_test(size=SIZE) as pilot:
        await setup(pilot, harness)
        path = Path(harness.app.save_screenshot(f"{name}.svg", str(ROOT / "resources")))
        if show_text:
            print(f"--- {name} ---\n{screen_text(harness.app)}")
    return path


def main() -> None:
    show_text = "--text" in sys.argv
    for name in SCENES:
        print(asyncio.run(capture(name, show_text)))


if __name__ == "__main__":
    main()
