"""Validation on the shadow deployments (``validation: deployment``): the migrated side of each
case is a flow run of the project's shadow deployment, executed by a real process worker of its
work pool (pulling the migration branch as the deployment's pull step says), read back from the
API. A pull step that fails on the worker, or a requirement the worker's environment lacks, fails
validation saying so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from meta_flows.adapters.prefect2.workers import LocalWorker
from meta_flows.demo import EXAMPLES, make_remote
from tests.wave.conftest import write_registry
from tests.wheels import write_wheel

pytestmark = pytest.mark.prefect

USES_PACKAGE = """from prefect import Flow, task

import shadow_only_helpers


@task
def double(x):
    return shadow_only_helpers.twice(x)


with Flow("uses-package") as flow:
    double(21)
"""


def _package_project(tmp_path: Path) -> Path:
    """A project whose flow needs a package its requirements install from a wheel."""
    source = tmp_path / "uses-package"
    (source / "flows").mkdir(parents=True)
    (source / "flows" / "uses.py").write_text(USES_PACKAGE)
    write_wheel(
        source / "vendor" / "shadow_only_helpers-1.0-py3-none-any.whl",
        {"shadow_only_helpers.py": "def twice(x):\n    return 2 * x\n"},
    )
    (source / "requirements.txt").write_text(
        "prefect==1.4.1\n./vendor/shadow_only_helpers-1.0-py3-none-any.whl\n"
    )
    return make_remote(source, tmp_path / "remotes", "uses-package")


def test_validation_runs_the_shadow_deployments_on_workers(own_api, tmp_path):
    from meta_flows.flows.wave import migrate_wave

    remotes = tmp_path / "remotes"
    good = make_remote(EXAMPLES / "acme-etl", remotes, "acme-etl")
    copy = tmp_path / "acme-copy"
    shutil.copytree(EXAMPLES / "acme-etl", copy)
    broken = make_remote(copy, remotes, "acme-copy")
    package = _package_project(tmp_path)
    on_deployment = {"validation": "deployment"}
    registry = write_registry(
        tmp_path / "registry.yaml",
        [
            {
                "name": "acme-etl",
                "git_url": str(good),
                "work_pool": {"name": "shadow-good", "type": "process"},
                "validation_overrides": {"job_variables": {"env": {"SHADOW": "1"}}},
                **on_deployment,
            },
            {
                "name": "acme-copy",
                "git_url": str(broken),
                "work_pool": {"name": "shadow-broken", "type": "process"},
                **on_deployment,
            },
            {
                "name": "uses-package",
                "git_url": str(package),
                "work_pool": {"name": "shadow-good", "type": "process"},
                **on_deployment,
            },
        ],
    )
    workers = [
        LocalWorker("shadow-good", "good", tmp_path / "good.log"),
        # this worker's git may not read local repositories: its pull step fails
        LocalWorker(
            "shadow-broken", "broken", tmp_path / "broken.log", {"GIT_ALLOW_PROTOCOL": "https"}
        ),
    ]
    report = tmp_path / "report.json"
    try:
        migrate_wave(
            wave="demo",
            registry=str(registry),
            workspace=str(tmp_path / "ws"),
            report=str(report),
            max_parallel=2,
            timeout=180,
            return_state=True,
        )
    finally:
        for worker in workers:
            worker.stop()
    projects = {p["name"]: p for p in json.loads(report.read_text())["projects"]}

    # the worker ran the migrated flows from the migration branch: equal, promoted
    assert projects["acme-etl"]["state"] == "promoted", projects["acme-etl"]
    assert {f["verdict"] for f in projects["acme-etl"]["flows"]} == {"equal"}
    completed = [r for r in _validation_runs("shadow-good") if r.state_type.value == "COMPLETED"]
    assert len(completed) == 2 and all(r.infrastructure_pid for r in completed)
    # the project's validation overrides, over the deployment's own job variables
    assert all(r.job_variables["env"]["SHADOW"] == "1" for r in completed)

    # a pull step that fails on the worker fails validation, saying why
    copy_report = projects["acme-copy"]
    assert copy_report["state"] == "rolled-back"
    assert {f["verdict"] for f in copy_report["flows"]} == {"migrated-error"}
    assert "git_clone" in copy_report["reason"], copy_report["reason"]
    assert "Failed to clone repository" in copy_report["reason"], copy_report["reason"]

    # the worker's environment lacks a migrated requirement: validation says which
    package_report = projects["uses-package"]
    assert package_report["state"] == "rolled-back"
    assert "No module named 'shadow_only_helpers'" in package_report["reason"], package_report


def _validation_runs(pool: str):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    async def read():
        async with get_client() as client:
            runs = await client.read_flow_runs(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
            )
        return runs

    return asyncio.run(read())
