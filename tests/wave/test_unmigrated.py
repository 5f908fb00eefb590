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


def test_files_out_of_scope_are_the_originals_broken_or_prefect2_modules(tmp_path: Path):
    from meta_flows.orchestration.project import files_out_of_scope

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "etl.py").write_text(PREFECT1)
    (flows / "plain.py").write_text("def (:\n")  # no Prefect: not the codemod's business
    (flows / "broken.py").write_text("from prefect import task\n\n\ndef (:\n")
    (flows / "new.py").write_text("from prefect import flow, task\n\n@flow\ndef f():\n    pass\n")
    (flows / "orion.py").write_text("import prefect.orion.schemas.states as states\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "new.py").write_text("from prefect import get_run_logger\n")
    assert files_out_of_scope(tmp_path, ["flows"]) == {
        "flows/broken.py": "does not parse in the original: line 4, column 5: invalid syntax",
        "flows/new.py": "Prefect 2 code already: imports flow from prefect",
        "flows/orion.py": "Prefect 2 code already: imports prefect.orion",
    }
    assert files_out_of_scope(tmp_path, [])["other/new.py"] == (
        "Prefect 2 code already: imports get_run_logger from prefect"
    )
