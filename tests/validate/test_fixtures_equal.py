"""Issue 4's acceptance: every Prefect 1 fixture of the codemod's integration tests, rewritten by
the codemod, validates ``equal`` -- both sides really run (Prefect 1.4.1 in its managed
environment, Prefect 2 flow runs against the test server)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meta_flows.core.codemod.engine import migrate_source
from meta_flows.orchestration.validation import validate_repo

CASES_DIR = Path(__file__).resolve().parent.parent / "integration" / "cases"
FIXTURES = sorted(p.name for p in CASES_DIR.glob("*.py"))

# What a user of meta-flows would write for these flows (flows_registry cases / --cases file).
CASES_YAML = """
parameters-types:
  - case: given-name          # `name` is a required parameter
    parameters: {name: ada, count: 2}
state-handler-failure:
  - case: default
    options:
      # the handler writes the task's state message, which Prefect 1 and 2 word differently
      ignore_files: [failure_record.json]
"""

SECRETS = {"META_FLOWS_DB_PASSWORD": "hunter22", "PREFECT__CONTEXT__SECRETS__API_TOKEN": "t0k3n"}


@pytest.fixture(scope="module")
def verdicts(prefect_api, prefect_server, legacy_root, tmp_path_factory):
    # prefect_api: this process's client (the Secret saved below) and the children's must
    # use the same server; an environment variable alone does not move the client
    legacy = tmp_path_factory.mktemp("fixtures-legacy")
    migrated = tmp_path_factory.mktemp("fixtures-migrated")
    for name in FIXTURES:
        shutil.copy(CASES_DIR / name, legacy / name)
        result = migrate_source((CASES_DIR / name).read_text(), name, module_name=name[:-3])
        assert result.status == "migrated", (name, result.error)
        (migrated / name).write_text(result.code)
    cases = tmp_path_factory.mktemp("fixtures-cases") / "cases.yaml"
    cases.write_text(CASES_YAML)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        for key, value in SECRETS.items():
            mp.setenv(key, value)
        from prefect.blocks.system import Secret

        # the Prefect 2 side of PrefectSecret("API_TOKEN") (PF010)
        Secret(value=SECRETS["PREFECT__CONTEXT__SECRETS__API_TOKEN"]).save(
            "api-token", overwrite=True
        )
        found = validate_repo(legacy, migrated, cases, timeout=120, env_root=legacy_root)
    return found


def test_every_fixture_validates_equal(verdicts):
    not_equal = [
        f"{v.flow_name} [{v.case}]: {v.verdict} {v.reason or ''} {v.diff[:3]}"
        for v in verdicts
        if v.verdict != "equal"
    ]
    assert not_equal == []
    # every module defines at least one flow (multiple_flows.py two)
    assert len(verdicts) > len(FIXTURES)
