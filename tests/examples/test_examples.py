"""The bundled example projects: what the codemod does to each (no flow runs; seconds).

The demo wave expects ``acme-etl`` and ``ops-housekeeping`` to be promoted and ``billing-reports``
to be rolled back (it migrates cleanly but one flow validates ``different``). This test checks
the codemod half of those facts; running both sides is the slow end-to-end test's job.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from meta_flows.core.codemod import runner
from meta_flows.core.codemod.audit import prefect1_leftovers
from meta_flows.core.codemod.engine import ERROR, MIGRATED, MigrationResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLEAN = ["acme-etl", "billing-reports", "ops-housekeeping"]
ALL = CLEAN


@functools.cache
def migrated(project: str) -> dict[str, MigrationResult]:
    """Every file of the project, migrated in memory as one project; by path relative to it."""
    root = EXAMPLES / project
    summary = runner.run([root], jobs=1)
    return {str(Path(r.path).relative_to(root)): r for r in summary.results}


@pytest.mark.parametrize("project", ALL)
def test_project_has_flows_and_requirements(project: str) -> None:
    root = EXAMPLES / project
    assert (root / "requirements.txt").read_text().split() == ["prefect==1.4.1"]
    flows = [p for p in (root / "flows").glob("*.py") if "with Flow(" in p.read_text()]
    assert flows, f"{project}: no Prefect 1 flow module under flows/"


@pytest.mark.parametrize("project", ALL)
def test_every_output_parses_and_nothing_errors(project: str) -> None:
    results = migrated(project)
    assert results, f"{project}: no Python files found"
    for path, result in results.items():
        assert result.status != ERROR, f"{project}/{path}: {result.error}"
        ast.parse(result.code, filename=f"{project}/{path}")
    assert sum(r.status == MIGRATED for r in results.values()) >= 2


@pytest.mark.parametrize("project", CLEAN)
def test_clean_projects_migrate_without_todos(project: str) -> None:
    for path, result in migrated(project).items():
        assert result.todos == [], f"{project}/{path}: {result.todos}"
        assert prefect1_leftovers(result.code) == [], f"{project}/{path}"


def test_ops_housekeeping_pages_in_a_loop_inside_the_task() -> None:
    """``collect_keys`` raises LOOP once per page: its body loops in the task (spec §10.2)."""
    result = migrated("ops-housekeeping")["flows/archive_cleanup.py"]
    assert "PF011" in result.rules
    body = result.code[result.code.index("def collect_keys(") :]
    body = body[: body.index("\n@task")]
    assert "    while True:\n        try:\n" in body
    assert "progress = loop_result if loop_count > 1 else " in body
    assert "raise Prefect1Loop(message=" in body


def test_billing_invoice_export_keeps_the_regions_in_sequence() -> None:
    """The §18.1 difference needs the failing EMEA branch called before the AMER branch."""
    code = migrated("billing-reports")["flows/invoice_export.py"].code
    body = code[code.index("def invoice_export(") :]
    assert ".submit(" not in body
    emea = body.index('reconcile(emea_invoices, "emea"')
    amer = body.index('load_invoices("amer"')
    assert emea < amer
