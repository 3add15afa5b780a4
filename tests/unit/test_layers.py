"""The core never pulls in the UI toolkit, and imports point one way."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomlkit

ROOT = Path(__file__).resolve().parents[2]
CORE = ["p2pchat.session", "p2pchat.net", "p2pchat.protocol", "p2pchat.config", "p2pchat.plain"]


def test_import_linter_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    assert lint_imports, "import-linter is part of the test extras: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_the_contracts_name_exists():
    contracts = tomlkit.parse((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    named = set()
    for contract in contracts["contracts"]:
        named.update(contract.get("source_modules", []))
        for layer in contract.get("layers", []):
            named.update(re.findall(r"p2pchat[\w.]*", layer))
    missing = sorted(name for name in named if importlib.util.find_spec(name) is None)
    assert missing == [], f"contracts name modules that do not exist: {missing}"


def test_the_core_imports_without_textual_or_rich():
    program = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
