"""Issue #14's silent defects, each a fixture of ``tests/integration/cases``: the Prefect 1
original (run in the managed Prefect 1.4.1 environment) and the codemod's output (run against
the test Prefect 2 server) validate ``equal``, task by task. Before the fixes the migrated flows
ran and returned other results (``map_upstream``: a third mapped item; ``ifelse_task_condition``:
the other branch; ``secret_module_level``: a function passed for the secret) or raised
``UnboundLocalError`` (``local_shadows_task``). ``test_fixtures_equal`` runs them with the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meta_flows.core.codemod.engine import migrate_source
from meta_flows.orchestration.validation import validate_repo

CASES_DIR = Path(__file__).resolve().parent.parent / "integration" / "cases"
FIXTURES = [
    "map_upstream.py",
    "ifelse_task_condition.py",
    "local_shadows_task.py",
    "secret_module_level.py",
    "task_copy.py",
    "user_names.py",
    "task_attribute_edits.py",
]
TOKEN = "t0k3n"


@pytest.fixture(scope="module")
def verdicts(prefect_api, prefect_server, legacy_root, tmp_path_factory):
    legacy = tmp_path_factory.mktemp("issue14-legacy")
    migrated = tmp_path_factory.mktemp("issue14-migrated")
    for name in FIXTURES:
        shutil.copy(CASES_DIR / name, legacy / name)
        result = migrate_source((CASES_DIR / name).read_text(), name, module_name=name[:-3])
        assert result.status == "migrated", (name, result.error)
        assert "TODO" not in result.code, result.code
        (migrated / name).write_text(result.code)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        mp.setenv("PREFECT__CONTEXT__SECRETS__API_TOKEN", TOKEN)
        from prefect.blocks.system import Secret

        Secret(value=TOKEN).save("api-token", overwrite=True)
        return validate_repo(legacy, migrated, None, timeout=120, env_root=legacy_root)


def test_issue14_fixtures_validate_equal(verdicts):
    assert {v.flow_name for v in verdicts} == {
        "map-upstream",
        "ifelse-task-condition",
        "local-shadows-task",
        "secret-module-level",
        "task-copy",
        "user-names",
        "task-attribute-edits",
    }
    not_equal = [
        f"{v.flow_name} [{v.case}]: {v.verdict} {v.reason or ''} {v.diff[:3]}"
        for v in verdicts
        if v.verdict != "equal"
    ]
    assert not_equal == []
