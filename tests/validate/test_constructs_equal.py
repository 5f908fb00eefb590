"""Issue #14 item 4's constructs, each a fixture of ``tests/integration/cases``: the Prefect 1
original (run in the managed Prefect 1.4.1 environment) and the codemod's output (run against
the test Prefect 2 server) validate ``equal``, task by task and file by file. Before the fixes
the migrated flows passed task objects instead of results (``task_uncalled``), or ran a
``case(x, True)`` branch for ``x == 2`` (``case_values``: a file Prefect 1 never wrote).
``test_fixtures_equal`` runs them with the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meta_flows.core.codemod.engine import migrate_source
from meta_flows.orchestration.validation import validate_repo

CASES_DIR = Path(__file__).resolve().parent.parent / "integration" / "cases"
FIXTURES = {
    "task_uncalled.py": ["task-uncalled"],
    "case_values.py": ["case-values"],
    "imperative_with.py": ["imperative-with"],
    # its result file under the run's directory is not compared, its value is read back there
    "result_local_dir.py": ["result-local-dir"],
}


@pytest.fixture(scope="module")
def verdicts(prefect_api, prefect_server, legacy_root, tmp_path_factory):
    legacy = tmp_path_factory.mktemp("constructs-legacy")
    migrated = tmp_path_factory.mktemp("constructs-migrated")
    for name in FIXTURES:
        shutil.copy(CASES_DIR / name, legacy / name)
        result = migrate_source((CASES_DIR / name).read_text(), name, module_name=name[:-3])
        assert result.status == "migrated", (name, result.error)
        assert "TODO" not in result.code, result.code
        (migrated / name).write_text(result.code)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        return validate_repo(legacy, migrated, None, timeout=120, env_root=legacy_root)


def test_construct_fixtures_validate_equal(verdicts):
    assert sorted({v.flow_name for v in verdicts}) == sorted(
        flow for flows in FIXTURES.values() for flow in flows
    )
    not_equal = [
        f"{v.flow_name} [{v.case}]: {v.verdict} {v.reason or ''} {v.diff[:3]}"
        for v in verdicts
        if v.verdict != "equal"
    ]
    assert not_equal == []
