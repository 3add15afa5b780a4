"""What start-up imports: the quick commands never load Textual, and the app's first frame
does not wait for the network, TLS, history or logging stack (timings: benchmarks/ui.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY_FOR_THE_FIRST_FRAME = (
    "loguru", "cryptography", "sqlite3", "p2pchat.session.service", "p2pchat.net", "p2pchat.protocol",
    "p2pchat.transfer", "p2pchat.identity", "p2pchat.history",
)  # fmt: skip


def modules_after(program: str) -> list[str]:
    """Run `program` in a fresh interpreter; the modules it had loaded at the end."""
    program += "\nimport sys\nprint('MODULES', ' '.join(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("MODULES "))
    return line.split()[1:]


def loaded(modules: list[str], prefixes) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


@pytest.mark.parametrize("argv", [["--version"], ["config", "path"], ["--help"]])
def test_quick_commands_do_not_import_textual(argv):
    modules = modules_after(
        "from p2pchat.cli import main\n"
        f"status = main({argv!r})\n"
        "assert status == 0, status\n"
    )
    assert "p2pchat.cli" in modules
    assert loaded(modules, ("textual", "rich")) == []


def test_the_app_module_leaves_the_session_stack_for_after_the_first_frame():
    modules = modules_after("import p2pchat.ui.app")
    assert "textual.app" in modules
    assert loaded(modules, HEAVY_FOR_THE_FIRST_FRAME) == []


def test_the_session_package_loads_its_core_on_first_use():
    modules = modules_after("import p2pchat.session.events, p2pchat.session.api")
    assert loaded(modules, ("p2pchat.session.service", "p2pchat.net")) == []
    modules = modules_after("from p2pchat.session import Session, StartError")
    assert "p2pchat.session.service" in modules
