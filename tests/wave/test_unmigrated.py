"""The wave's guard against committing a half-migrated project (``meta_flows.orchestration.project.unmigrated``)."""

from __future__ import annotations

from pathlib import Path

from meta_flows.core.codemod.engine import ERROR, MIGRATED, NOT_PREFECT1, UNCHANGED, MigrationResult
from meta_flows.orchestration.project import unmigrated

ROOT = Path("/repo")
PREFECT1 = (
    'from prefect import Flow, Parameter\n\nwith Flow("f") as flow:\n    n = Parameter("n")\n'
)


def result(name: str, status: str, code: str, error: str | None = None) -> MigrationResult:
    return MigrationResult(str(ROOT / name), status, code, error=error)


def test_a_file_left_unchanged_with_prefect1_api_is_named_with_its_line():
    problems = unmigrated([result("flows/etl.py", UNCHANGED, PREFECT1)], ROOT)
    assert problems is not None
    assert problems.startswith(
        "flows/etl.py left unchanged with Prefect 1 API and no TODO (line 1:"
    )


def test_a_file_the_codemod_failed_on_is_named_with_the_error():
    problems = unmigrated([result("a.py", ERROR, PREFECT1, error="syntax error: line 3")], ROOT)
    assert problems == "the codemod failed on a.py: syntax error: line 3"


def test_unchanged_prefect2_code_migrated_files_and_other_modules_pass():
    prefect2 = "from prefect import flow, task\n\n\n@task\ndef one():\n    return 1\n"
    results = [
        result("tasks.py", UNCHANGED, prefect2),
        result("etl.py", MIGRATED, "from prefect import flow\n"),
        result("util.py", NOT_PREFECT1, "import os\n"),
    ]
    assert unmigrated(results, ROOT) is None


def test_every_problem_is_listed():
    results = [
        result("a.py", ERROR, "", error="cannot read: Permission denied"),
        result("b.py", UNCHANGED, PREFECT1),
    ]
    problems = unmigrated(results, ROOT)
    assert "a.py: cannot read" in problems and "b.py left unchanged" in problems
