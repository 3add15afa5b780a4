"""Logging to a rotating file only: the terminal belongs to the chat.

The app logs with loguru (`from loguru import logger`). Records from the standard
`logging` module (asyncio's "Task exception was never retrieved", libraries) are
routed into the same file, so nothing falls back to printing on stderr.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from pathlib import Path

from loguru import logger

from p2pchat.paths import Paths
from p2pchat.settings import Settings

ROTATION = "5 MB"
RETENTION = 3  # rotated files kept besides the current one
FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level:<8} | {process} | {name}:{line} | {message}"


# C0 and C1 control characters and DEL; a tab stays. Peer-supplied text (an invite's relay
# name, a nickname) must not reach a terminal that `tail`s the log as escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _escape_message(record) -> None:
    record["message"] = escape_controls(record["message"])


class _ToLoguru(logging.Handler):
    """Hands standard-library log records to loguru, keeping level and origin."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def _level(settings: Settings) -> str:
    return "DEBUG" if settings.debug and settings.log_level.upper() != "TRACE" else settings.log_level


def setup_logging(settings: Settings, paths: Paths) -> Path:
    """Send all logging to `paths.log_file` (rotated at 5 MB, 3 kept); return its path.

    If the log folder cannot be created the app still runs, with logging off:
    a log must never be the reason the chat fails to start or writes to the terminal.
    """
    logger.remove()  # loguru's default sink writes to stderr
    logger.configure(patcher=_escape_message)
    level = _level(settings)
    log_file = paths.log_file
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logger.add(
            log_file,
            level=level,
            format=FORMAT,
            rotation=ROTATION,
            retention=RETENTION,
            encoding="utf-8",
            backtrace=False,
            diagnose=False,  # no variable values (message text, keys) in tracebacks
            catch=True,
        )
    except OSError:
        pass
    stdlib_level = logging.DEBUG if level in ("TRACE", "DEBUG") else logging.INFO
    logging.basicConfig(handlers=[_ToLoguru()], level=stdlib_level, force=True)
    logging.captureWarnings(True)  # a Python warning must not print over the chat screen
    logger.info("p2pchat starting (pid {}, log level {})", os.getpid(), level)
    return log_file
