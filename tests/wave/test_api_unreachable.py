"""The Prefect 2 API unreachable while a project validates: the project fails at validation
saying so (not a `migrated-error` per flow and a rollback), and the ledger lets a re-run redo it."""

from __future__ import annotations

import logging
import os

from meta_flows.adapters.prefect2.local_server import free_port
from meta_flows.core.registry import load_registry
from meta_flows.demo import EXAMPLES, make_remote
from meta_flows.orchestration import project as steps
from meta_flows.orchestration.ledger import Ledger, ProjectState
from tests.wave.conftest import write_registry


def test_an_unreachable_api_fails_validation_naming_it(legacy_cache, tmp_path, monkeypatch):
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    url = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    monkeypatch.setenv("PREFECT_API_URL", url)
    remote = make_remote(EXAMPLES / "acme-etl", tmp_path / "remotes", "acme")
    registry = load_registry(
        write_registry(tmp_path / "registry.yaml", [{"name": "acme", "git_url": str(remote)}])
    ).registry
    workspace = str(tmp_path / "ws")

    def migrate(dry_run: bool):
        return steps.migrate(
            registry.project("acme"),
            registry.wave("demo"),
            workspace=workspace,
            ledger_wave="demo",
            dry_run=dry_run,
            timeout=60,
            github_block=None,
            logger=logging.getLogger("test"),
        )

    # a dry run writes no deployment: its validation is what meets the API
    outcome = migrate(dry_run=True)
    assert outcome.state.value == "failed", outcome
    assert outcome.reason.startswith(f"validation: the Prefect 2 API at {url} is unreachable")
    assert outcome.flows == []  # no verdict: nothing was judged
    # a wave run: the shadow deployments meet it first (this process's client too)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        outcome = migrate(dry_run=False)
    assert outcome.state.value == "failed", outcome
    assert outcome.reason.startswith(
        f"shadow deployments: the Prefect 2 API at {url} is unreachable"
    ), outcome.reason
    record = Ledger(workspace, "demo").get("acme")
    assert record.state == ProjectState.FAILED  # not terminal: a re-run of the wave redoes it
    assert record.flows == []
