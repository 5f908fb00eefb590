"""The Prefect 2 children of validation act on nothing outside their runs: a migrated parent flow
starts no run of the deployments it calls (on the same real server its own runs go to), and the
credentials and settings of the wave's own process do not reach the flow's code."""

from __future__ import annotations

import asyncio
import json
import os

from meta_flows.sandbox.migrated_describe import describe_flows
from meta_flows.sandbox.migrated_run import run_migrated_many

PARENTS = """
import asyncio
from uuid import UUID

from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment


@task
def child_state(name):
    return name


@flow(name="parent")
def parent(day: str = "2024-01-01"):
    run = run_deployment(name="child-flow/child", parameters={"day": day})
    return child_state(run.state.name)


@task
def create_directly(deployment_id):
    async def create():
        async with get_client() as client:
            run = await client.create_flow_run_from_deployment(
                UUID(deployment_id), parameters={"x": 1}
            )
            return (await client.read_flow_run(run.id)).state.name

    return asyncio.run(create())


@flow(name="direct")
def direct(deployment_id: str):
    return create_directly(deployment_id)
"""

AT_IMPORT = """
from prefect import flow
from prefect.deployments import run_deployment

run_deployment(name="child-flow/child", parameters={"at": "import"}, timeout=0)


@flow(name="imports")
def imports():
    return 1
"""


async def _make_deployment() -> str:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        flow_id = await client.create_flow_from_name("child-flow")
        return str(await client.create_deployment(flow_id=flow_id, name="child"))


async def _runs_of(deployment_id: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def test_a_parent_flow_starts_no_run_of_a_real_deployment(prefect_api, tmp_path):
    deployment_id = asyncio.run(_make_deployment())
    (tmp_path / "parents.py").write_text(PARENTS)
    (tmp_path / "at_import.py").write_text(AT_IMPORT)
    parent, direct = run_migrated_many(
        tmp_path,
        [
            {"file": "parents.py", "function_name": "parent", "flow_name": "parent"},
            {
                "file": "parents.py",
                "function_name": "direct",
                "flow_name": "direct",
                "parameters": {"deployment_id": deployment_id},
            },
        ],
        timeout=60,
    )
    described = describe_flows(tmp_path, ["at_import.py:imports"])
    assert asyncio.run(_runs_of(deployment_id)) == []
    # the parents ran on, their child answered as Completed, and what they attempted is named
    assert (parent.error, parent.final_state) == (None, "Completed")
    assert [(t.name, t.result) for t in parent.tasks] == [("child_state", "Completed")]
    assert parent.effects == ["run_deployment('child-flow/child', {'day': '2024-01-01'})"]
    assert (direct.error, direct.final_state) == (None, "Completed")
    assert [(t.name, t.result) for t in direct.tasks] == [("create_directly", "Completed")]
    assert direct.effects == ["create_flow_run_from_deployment('child-flow/child', {'x': 1})"]
    assert described["at_import.py:imports"]["flow_name"] == "imports"


PROFILE = """
active = "production"

[profiles.production]
PREFECT_API_KEY = "profile-key"
"""

ENVIRON = """
import os

from prefect import flow, task
from prefect.settings import PREFECT_API_KEY


@task
def seen():
    return {
        "environ": sorted(os.environ),
        "home": os.environ.get("HOME"),
        "api_url": os.environ.get("PREFECT_API_URL"),
        "api_key_setting": PREFECT_API_KEY.value(),
    }


@flow(name="environ")
def environ():
    return seen()
"""

SECRETS = {
    "PREFECT_API_KEY": "wave-key",
    "PREFECT__CLOUD__API_KEY": "prefect1-key",
    "PREFECT__BACKEND": "cloud",
    "AWS_ACCESS_KEY_ID": "AKIA-wave",
    "AWS_SECRET_ACCESS_KEY": "wave-secret",
    "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/gcp.json",
    "AZURE_CLIENT_SECRET": "azure-secret",
    "GITHUB_TOKEN": "ghp_wave",
    "DATABASE_URL": "postgresql://wave:pw@prod/db",
    "PREFECT_API_DATABASE_CONNECTION_URL": "postgresql://prefect:pw@prod/prefect",
}


def test_the_child_sees_no_credential_of_the_waves_process(prefect_api, tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # a Prefect home whose active profile holds an API key
    prefect_home = tmp_path / "prefect-home"
    prefect_home.mkdir()
    (prefect_home / "profiles.toml").write_text(PROFILE)
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "environ.py").write_text(ENVIRON)
    [capture] = run_migrated_many(
        repo, [{"file": "environ.py", "function_name": "environ", "flow_name": "environ"}], 60
    )
    assert capture.ok, capture.error or capture.message
    [task] = capture.tasks
    seen = task.result
    assert not set(SECRETS) & set(seen["environ"]), json.dumps(seen, indent=1)
    assert not [n for n in seen["environ"] if n.startswith("PREFECT__")]
    assert seen["api_key_setting"] is None  # the profile was not read
    assert seen["api_url"] == prefect_api
    assert seen["home"] != os.environ["HOME"]  # ~/.aws, ~/.netrc... are not the operator's


def test_the_child_keeps_what_an_interpreter_needs(monkeypatch):
    from meta_flows.sandbox.migrated_run import child_env

    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("PREFECT_API_KEY", "wave-key")
    monkeypatch.setenv("REGION", "eu-west-1")
    monkeypatch.setenv("REPORT_BUCKET", "reports")
    env = child_env()
    assert (env["LANG"], env["PATH"]) == ("C.UTF-8", os.environ["PATH"])
    assert "PREFECT_API_KEY" not in env and "REGION" not in env
    # the operator may pass the flows' own settings by name
    monkeypatch.setenv("META_FLOWS_CHILD_ENV", "REGION, REPORT_BUCKET")
    env = child_env()
    assert (env["REGION"], env["REPORT_BUCKET"]) == ("eu-west-1", "reports")
    assert "PREFECT_API_KEY" not in env
