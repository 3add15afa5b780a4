"""Logging goes to the rotating log file and never to the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from p2pchat.paths import get_paths

ROOT = Path(__file__).resolve().parents[2]

NOISY_PROGRAM = textwrap.dedent(
    """
    import asyncio, gc, logging, sys, warnings
    from loguru import logger
    from p2pchat.log import setup_logging
    from p2pchat.paths import get_paths
    from p2pchat.settings import Settings

    settings = Settings(debug="--debug" in sys.argv)
    print(setup_logging(settings, get_paths()), file=open(sys.argv[1], "w"))
    logger.debug("loguru debug line")
    logger.info("loguru info line")
    logger.error("loguru error line")
    logging.getLogger("some.library").warning("stdlib warning line")
    warnings.warn("python warning line")

    async def fail():
        raise RuntimeError("task failure nobody awaited")

    async def main():
        asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0.05)
        gc.collect()

    asyncio.run(main())
    gc.collect()
    """
)


def run_noisy(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    report = tmp_path / "log-path.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", NOISY_PROGRAM, str(report), *flags],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    return result, Path(report.read_text().strip())


def test_everything_goes_to_the_file_and_nothing_to_the_terminal(tmp_path):
    result, log_file = run_noisy(tmp_path)
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""
    assert log_file == get_paths().log_file
    text = log_file.read_text()
    for line in ("loguru info line", "loguru error line", "stdlib warning line",
                 "python warning line", "task failure nobody awaited"):  # fmt: skip
        assert line in text
    assert "loguru debug line" not in text  # INFO by default


def test_debug_logs_debug_lines(tmp_path):
    result, log_file = run_noisy(tmp_path, "--debug")
    assert result.stdout == "" and result.stderr == ""
    assert "loguru debug line" in log_file.read_text()


def test_the_log_rotates_and_keeps_three_old_files(tmp_path):
    program = textwrap.dedent(
        """
        from loguru import logger
        from p2pchat.log import setup_logging
        from p2pchat.paths import get_paths
        from p2pchat.settings import Settings

        setup_logging(Settings(), get_paths())
        line = "x" * 1000
        for _ in range(25_000):
            logger.info(line)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    assert result.returncode == 0 and result.stderr == ""
    files = list(get_paths().log_dir.iterdir())
    assert len(files) == 4, files  # the current file and three rotated ones
    assert all(path.stat().st_size <= 5_100_000 for path in files)


def test_control_characters_in_a_message_are_escaped_in_the_file(tmp_path):
    program = (
        "import sys\nfrom loguru import logger\nfrom p2pchat.log import setup_logging\n"
        "from p2pchat.paths import get_paths\nfrom p2pchat.settings import Settings\n"
        "print(setup_logging(Settings(), get_paths()))\n"
        "logger.warning('relay {} failed', 'evil\\x1b]0;owned\\x07\\x00host')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=30)
    text = Path(result.stdout.strip()).read_text(encoding="utf-8")
    assert "relay evil\\x1b]0;owned\\x07\\x00host failed" in text
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
