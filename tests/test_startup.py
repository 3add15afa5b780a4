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
    # Only the socket bound before the first frame, on the standard library alone.
    assert loaded(modules, HEAVY_FOR_THE_FIRST_FRAME) == ["p2pchat.net", "p2pchat.net.bind"]


def test_the_command_line_leaves_the_protocol_and_toml_for_later():
    """What runs before the port is bound and the front end imported: no wire protocol (only
    an address with a fingerprint needs its check) and no TOML parser without a settings file."""
    modules = modules_after("from p2pchat.cli import build_parser\n"
                            "from p2pchat.config import load_settings\n"
                            "load_settings({}, None)\n")  # fmt: skip
    assert "p2pchat.config" in modules
    assert loaded(modules, ("p2pchat.protocol", "tomlkit")) == []


def test_the_command_line_listens_before_it_imports_a_front_end(tmp_path):
    """The port is bound before the front end (and with it the session stack) is imported, and
    the session then listens on that very socket."""
    program = (
        "import sys\n"
        "from p2pchat.net import bind\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'p2pchat.plain':\n"
        "            print('BOUND BEFORE THE FRONT END', bind.early_port(), flush=True)\n"
        "sys.meta_path.insert(0, Watch())\n"
        "from p2pchat.cli import main\n"
        "main(['--plain', '--bind', '127.0.0.1', '--port', '0', '--no-history', '--nickname', 'x'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], input="/quit\n", capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    early = next(line for line in result.stdout.splitlines() if line.startswith("BOUND BEFORE"))
    port = early.split()[-1]
    assert port.isdigit(), result.stdout + result.stderr
    assert f"listening on port {port}" in result.stdout, result.stdout + result.stderr


def test_the_session_package_loads_its_core_on_first_use():
    modules = modules_after("import p2pchat.session.events, p2pchat.session.api")
    assert loaded(modules, ("p2pchat.session.service", "p2pchat.net")) == []
    modules = modules_after("from p2pchat.session import Session, StartError")
    assert "p2pchat.session.service" in modules
