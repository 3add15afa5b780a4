"""The core never pulls in the UI toolkit, and imports point one way."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ["p2pchat.session", "p2pchat.net", "p2pchat.protocol", "p2pchat.config", "p2pchat.plain"]


def test_import_linter_contracts_hold():
    lint_imports = shutil.which("lint-imports") or shutil.which(
        "lint-imports", path=str(Path(sys.executable).parent)
    )
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=60)  # fmt: skip
    output = result.stdout + result.stderr
    missing = re.search(r"Module '(p2pchat[\w.]*)' does not exist", output)
    if result.returncode != 0 and missing:
        pytest.skip(f"{missing.group(1)} is named in the contracts but not written yet")
    assert result.returncode == 0, output


def test_the_core_imports_without_textual_or_rich():
    present = [name for name in CORE if importlib.util.find_spec(name) is not None]
    assert "p2pchat.config" in present
    program = (
        "import importlib, sys\n"
        f"for name in {present!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
