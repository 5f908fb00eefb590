"""The import contract (``[tool.importlinter]`` in pyproject.toml) holds, and it can fail.

``lint-imports`` runs against this checkout; then against a copy of the package in which a lower
layer imports an upper one, or the codemod imports ``prefect``, where it must report the breach.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contract_holds():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "meta_flows", tmp_path / "meta_flows", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("core/registry.py", "import meta_flows.orchestration.ledger", "Layers"),
        ("sandbox/stacks.py", "import meta_flows.adapters.gitops", "Layers"),
        ("core/codemod/names.py", "import prefect", "The codemod imports no Prefect"),
        ("core/validation/compare.py", "import prefect", "The core imports no Prefect 2 runtime"),
    ],
)
def test_a_breach_is_reported(tmp_path, module, line, broken):
    root = _copy(tmp_path)
    path = root / "meta_flows" / module
    path.write_text(path.read_text() + f"\n{line}  # a breach\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout + result.stderr
    reported = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(row.startswith(broken) for row in reported), result.stdout
