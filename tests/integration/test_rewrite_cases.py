"""The whole codemod over every Prefect 1 fixture in ``cases/``.

For each ``cases/*.py`` (see ``cases/README.md``) the migrated module must: come back with status
``migrated``; parse; contain no Prefect 1 API outside a ``TODO(prefect2-migration)`` (the audit);
import under Prefect 2.20; and be a fixed point of the codemod (migrating it again changes nothing).

All migrated modules are imported in one subprocess of this interpreter (importing Prefect costs
about two seconds, so not one process per module); their ``__main__`` guards keep flows from running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meta_flows.core.codemod.audit import prefect1_leftovers
from meta_flows.core.codemod.engine import MIGRATED, MigrationResult, migrate_source

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.stem for p in CASES_DIR.glob("*.py"))
PACKAGE = "migrated_cases"
MARKER = "IMPORT-RESULTS:"

# Imports every module named on the command line from PACKAGE; prints one JSON line after MARKER.
_IMPORT_SCRIPT = f"""
import importlib, json, sys, traceback
results = {{}}
for name in sys.argv[1:]:
    try:
        importlib.import_module("{PACKAGE}." + name)
        results[name] = "ok"
    except BaseException as exc:  # SystemExit and friends must not hide the other modules
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f for f in reversed(frames) if "{PACKAGE}" in f.filename), None)
        at = f" [line {{where.lineno}}: {{(where.line or '').strip()}}]" if where else ""
        results[name] = f"{{type(exc).__name__}}: {{exc}}{{at}}"
print("{MARKER}" + json.dumps(results))
"""


def _migrate(stem: str, source: str) -> MigrationResult:
    return migrate_source(source, f"{stem}.py", module_name=stem)


@pytest.fixture(scope="module")
def migrated() -> dict[str, MigrationResult]:
    return {stem: _migrate(stem, (CASES_DIR / f"{stem}.py").read_text()) for stem in CASES}


@pytest.fixture(scope="module")
def imported(migrated, tmp_path_factory) -> dict[str, str]:
    """Import every migrated module that compiles; map its name to "ok" or the error."""
    root = tmp_path_factory.mktemp("migrated")
    package = root / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    names = []
    for stem, result in migrated.items():
        try:
            compile(result.code, f"{stem}.py", "exec")
        except SyntaxError:
            continue
        (package / f"{stem}.py").write_text(result.code)
        names.append(stem)
    workdir = root / "cwd"  # anything a module writes at import time lands here
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_SCRIPT, *names],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        tail = (proc.stderr or proc.stdout)[-3000:]
        return {
            stem: f"import subprocess failed (exit {proc.returncode}): {tail}" for stem in CASES
        }
    return json.loads(lines[-1][len(MARKER) :])


def test_cases_exist():
    assert len(CASES) >= 16


@pytest.mark.parametrize("stem", CASES)
def test_case_is_migrated(migrated, stem):
    result = migrated[stem]
    assert result.status == MIGRATED, f"{stem}: status {result.status}: {result.error}"


@pytest.mark.parametrize("stem", CASES)
def test_output_compiles(migrated, stem):
    compile(migrated[stem].code, f"{stem}.py", "exec")


@pytest.mark.parametrize("stem", CASES)
def test_no_prefect1_leftovers(migrated, stem):
    result = migrated[stem]
    assert result.status == MIGRATED, f"{stem}: status {result.status}: {result.error}"
    leftovers = prefect1_leftovers(result.code)
    listing = "\n".join(f"  line {f.line}: {f.what}: {f.text}" for f in leftovers)
    assert not leftovers, (
        f"{stem}: Prefect 1 API outside a TODO:\n{listing}\n--- code ---\n{result.code}"
    )


@pytest.mark.prefect
@pytest.mark.parametrize("stem", CASES)
def test_output_imports_under_prefect2(migrated, imported, stem):
    assert stem in imported, f"{stem}: output does not compile, not imported"
    assert imported[stem] == "ok", f"{stem}: {imported[stem]}\n--- code ---\n{migrated[stem].code}"


@pytest.mark.parametrize("stem", CASES)
def test_codemod_is_idempotent(migrated, stem):
    first = migrated[stem]
    assert first.status == MIGRATED, f"{stem}: status {first.status}: {first.error}"
    second = _migrate(stem, first.code)
    assert second.code == first.code, (
        f"{stem}: migrating the output again changed it ({second.status}, {second.error}):\n"
        f"--- first ---\n{first.code}\n--- second ---\n{second.code}"
    )


@pytest.fixture(scope="module")
def isort_failures(migrated, tmp_path_factory) -> dict[str, set[str]]:
    """The cases ruff's isort check (``ruff check --select I``, default settings) flags, before
    and after the rewrite."""
    ruff = pytest.importorskip("ruff.__main__").find_ruff_bin()
    out = {}
    for side in ("before", "after"):
        root = tmp_path_factory.mktemp(f"isort-{side}")
        for stem in CASES:
            code = (CASES_DIR / f"{stem}.py").read_text() if side == "before" else None
            (root / f"{stem}.py").write_text(code if code is not None else migrated[stem].code)
        command = [ruff, "check", "--isolated", "--no-cache", "--select", "I", "--quiet"]
        proc = subprocess.run(
            [*command, "--output-format", "json", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out[side] = {Path(d["filename"]).stem for d in json.loads(proc.stdout or "[]")}
    return out


@pytest.mark.parametrize("stem", CASES)
def test_isort_clean_stays_isort_clean(isort_failures, migrated, stem):
    """Imports the rewrite adds and removes are placed in isort order."""
    if stem in isort_failures["before"]:
        pytest.skip(f"{stem}.py is not isort-clean to begin with")
    assert stem not in isort_failures["after"], f"{stem}:\n{migrated[stem].code}"
