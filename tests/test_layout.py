"""The architecture, as pyproject.toml's import contracts state it: the core never imports a
plugin, plugins (and the example) import only nefkit's public modules, and nothing in nefkit
imports in a cycle. The same check a contributor runs with ``lint-imports``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "nefkit-tscore"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    path = os.pathsep.join([str(EXAMPLE), str(root / "plugins"), str(root)])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [command, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_import_contracts_are_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_a_plugin_reaching_into_the_machinery_breaks_a_contract(tmp_path):
    """The contracts can fail: a copy of the project whose CSV plugin imports the row engine."""
    copy = tmp_path / "nefkit"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__"))
    renderer = copy / "plugins" / "nefkit_csv" / "renderer.py"
    renderer.write_text(
        renderer.read_text() + "\nfrom nefkit.scoring.rows import score_table  # noqa\n"
    )
    done = lint_imports(copy)
    assert done.returncode == 1
    assert "Plugins use only nefkit's public modules BROKEN" in done.stdout
    assert "nefkit_csv is not allowed to import nefkit.scoring" in done.stdout
