"""End to end: a Prefect 1 project -> codemod -> prefect.yaml -> `prefect deploy --all` on a real server.

The project's code is migrated with ``meta-flows rewrite --write``; its inventory is built here
(the inventory collector has its own tests); ``meta-flows deployments`` writes prefect.yaml and
work-pools.yaml, ``meta-flows pools apply`` creates the pools, and Prefect's own ``prefect deploy``
creates the deployments, which are then read back through the API.
"""

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meta_flows.core.inventory.model import (
    ClockInfo,
    ComponentInfo,
    FlowInfo,
    Inventory,
    ParameterInfo,
    ScheduleInfo,
)

SALES = """\
import pendulum
from prefect import Flow, Parameter, task
from prefect.run_configs import KubernetesRun
from prefect.schedules import Schedule
from prefect.schedules.clocks import CronClock
from prefect.storage import GitHub


@task
def report(region):
    return f"sales for {region}"


with Flow(
    "daily-sales",
    storage=GitHub(repo="acme/etl", path="flows/sales.py", ref="main",
                   access_token_secret="GITHUB_TOKEN"),
    run_config=KubernetesRun(image="acme/etl:1.4", cpu_request="500m", memory_request="1Gi",
                             env={"STAGE": "prod"}, labels=["k8s-prod"]),
    schedule=Schedule(clocks=[
        CronClock("0 6 * * *", start_date=pendulum.datetime(2023, 1, 1, tz="Europe/Berlin"),
                  parameter_defaults={"region": "eu"}),
        CronClock("0 7 * * *", parameter_defaults={"region": "us"}),
    ]),
) as flow:
    region = Parameter("region", default="eu")
    report(region)

flow.register(project_name="sales")
"""

LOCAL_ETL = """\
from datetime import timedelta

import pendulum
from prefect import Flow, Parameter, task
from prefect.run_configs import LocalRun
from prefect.schedules import Schedule
from prefect.schedules.clocks import IntervalClock
from prefect.storage import Local


@task
def load(batch):
    return list(range(batch))


with Flow("local etl", storage=Local(path="/opt/etl/flows/local_etl.py", stored_as_script=True),
          run_config=LocalRun(env={"MODE": "batch"}, working_dir="/opt/etl", labels=["dev"])) as flow:
    batch = Parameter("batch", default=10)
    load(batch)

flow.schedule = Schedule(clocks=[IntervalClock(
    timedelta(hours=2), start_date=pendulum.datetime(2023, 3, 1, 9, 30, tz="America/New_York"),
    parameter_defaults={"batch": 50})])
flow.register(project_name="ops")
"""

INVENTORY = Inventory(
    repo="etl",
    flows=[
        FlowInfo(
            file="flows/sales.py",
            name="daily-sales",
            function_name="daily_sales",
            method="static",
            parameters=[ParameterInfo(name="region", default="eu")],
            storage=ComponentInfo(
                type="GitHub",
                fields={
                    "repo": "acme/etl",
                    "path": "flows/sales.py",
                    "ref": "main",
                    "access_token_secret": "GITHUB_TOKEN",
                },
            ),
            run_config=ComponentInfo(
                type="KubernetesRun",
                fields={
                    "image": "acme/etl:1.4",
                    "cpu_request": "500m",
                    "memory_request": "1Gi",
                    "env": {"STAGE": "prod"},
                    "labels": ["k8s-prod"],
                },
            ),
            schedule=ScheduleInfo(
                clocks=[
                    ClockInfo(
                        type="CronClock",
                        cron="0 6 * * *",
                        start_date="2023-01-01T00:00:00+01:00",
                        timezone="Europe/Berlin",
                        parameter_defaults={"region": "eu"},
                    ),
                    ClockInfo(
                        type="CronClock", cron="0 7 * * *", parameter_defaults={"region": "us"}
                    ),
                ]
            ),
            labels=["k8s-prod"],
            project_name="sales",
        ),
        FlowInfo(
            file="flows/local_etl.py",
            name="local etl",
            function_name="local_etl",
            method="static",
            parameters=[ParameterInfo(name="batch", default=10)],
            storage=ComponentInfo(
                type="Local",
                fields={"path": "/opt/etl/flows/local_etl.py", "stored_as_script": True},
            ),
            run_config=ComponentInfo(
                type="LocalRun",
                fields={"env": {"MODE": "batch"}, "working_dir": "/opt/etl", "labels": ["dev"]},
            ),
            schedule=ScheduleInfo(
                clocks=[
                    ClockInfo(
                        type="IntervalClock",
                        interval=7200,
                        start_date="2023-03-01T09:30:00-05:00",
                        timezone="America/New_York",
                        parameter_defaults={"batch": 50},
                    )
                ]
            ),
            labels=["dev"],
            project_name="ops",
        ),
    ],
)

BIN = Path(sys.executable).parent


def run(args, cwd, env):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture()
def migrated(tmp_path, prefect_env):
    project = tmp_path / "etl"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "sales.py").write_text(SALES)
    (project / "flows" / "local_etl.py").write_text(LOCAL_ETL)
    run([str(BIN / "meta-flows"), "rewrite", "--write", "flows"], project, prefect_env)
    shutil.rmtree(project / "flows" / "__pycache__", ignore_errors=True)
    return project


def test_prefect_deploy_all_creates_the_translated_deployments(migrated, prefect_env, prefect_api):
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client

    project = migrated
    assert "@flow" in (project / "flows" / "sales.py").read_text()
    inventory = project.parent / "inventory.json"
    inventory.write_text(INVENTORY.to_json())

    out = run(
        [str(BIN / "meta-flows"), "deployments", ".", "--inventory", str(inventory)],
        project,
        prefect_env,
    )
    assert "block: create Secret block `github-token`" in out
    pools_file = project / "work-pools.yaml"
    assert {p["name"] for p in yaml.safe_load(pools_file.read_text())["work_pools"]} == {
        "k8s-prod",
        "dev",
    }

    first = run(
        [str(BIN / "meta-flows"), "pools", "apply", "work-pools.yaml"], project, prefect_env
    )
    assert "created: k8s-prod" in first and "created: dev" in first
    again = run(
        [str(BIN / "meta-flows"), "pools", "apply", "work-pools.yaml"], project, prefect_env
    )
    assert "unchanged: k8s-prod" in again and "unchanged: dev" in again

    Secret(value="not-a-real-token").save("github-token", overwrite=True)  # per the report
    run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], project, prefect_env)

    async def read():
        async with get_client() as client:
            deployments = await client.read_deployments()
            flows = {f.id: f.name for f in await client.read_flows()}
            pools = {p.name: p for p in await client.read_work_pools()}
            return deployments, flows, pools

    deployments, flows, pools = asyncio.run(read())
    by_name = {(flows[d.flow_id], d.name): d for d in deployments}
    assert set(by_name) >= {
        ("daily-sales", "daily-sales-eu"),
        ("daily-sales", "daily-sales-us"),
        ("local etl", "local etl"),
    }

    eu = by_name["daily-sales", "daily-sales-eu"]
    us = by_name["daily-sales", "daily-sales-us"]
    for deployment, region, cron, tz in (
        (eu, "eu", "0 6 * * *", "Europe/Berlin"),
        (us, "us", "0 7 * * *", "UTC"),
    ):
        assert deployment.entrypoint == "flows/sales.py:daily_sales"
        assert deployment.parameters == {"region": region}
        assert deployment.tags == ["project:sales", "label:k8s-prod", "migrated-from-prefect1"]
        (schedule,) = deployment.schedules
        assert schedule.active is False
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (cron, tz)
        assert deployment.work_pool_name == "k8s-prod"
        assert deployment.job_variables == {
            "image": "acme/etl:1.4",
            "env": {"STAGE": "prod"},
            "cpu_request": "500m",
            "memory_request": "1Gi",
        }
        assert deployment.pull_steps == [
            {
                "prefect.deployments.steps.git_clone": {
                    "repository": "https://github.com/acme/etl.git",
                    "branch": "main",
                    "access_token": "{{ prefect.blocks.secret.github-token }}",
                }
            }
        ]
        assert "region" in deployment.parameter_openapi_schema["properties"]

    local = by_name["local etl", "local etl"]
    assert local.entrypoint == "flows/local_etl.py:local_etl"
    assert local.parameters == {"batch": 50}
    assert local.tags == ["project:ops", "label:dev", "migrated-from-prefect1"]
    (schedule,) = local.schedules
    assert schedule.active is False
    assert schedule.schedule.interval.total_seconds() == 7200
    assert schedule.schedule.timezone == "America/New_York"
    assert schedule.schedule.anchor_date.isoformat().startswith("2023-03-01T09:30:00")
    assert local.work_pool_name == "dev"
    assert local.job_variables == {"env": {"MODE": "batch"}, "working_dir": "/opt/etl"}
    assert local.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "/opt/etl"}}
    ]

    assert pools["k8s-prod"].type == "kubernetes"
    assert "cpu_request" in pools["k8s-prod"].base_job_template["variables"]["properties"]
    assert pools["dev"].type == "process"
    assert "working_dir" in pools["dev"].base_job_template["variables"]["properties"]
